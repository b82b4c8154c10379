"""Reports, their evidence photos and their audit trail (nothing is ever erased)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from domain.models import Photo, Report, ReportStatus, ReviewState
from storage import totals
from storage._codec import fetch_all, fetch_one, opt_ts, parse_ts, ts
from storage.db import Tx


def _report(row: Any, photos: tuple[Photo, ...]) -> Report:
    return Report(
        id=row["id"],
        unit_code=row["unit_code"],
        person_id=row["person_id"],
        indicator=row["indicator"],
        values=json.loads(row["values_json"]),
        occurred_on=dt.date.fromisoformat(row["occurred_on"]),
        created_at=parse_ts(row["created_at"]),
        status=ReportStatus(row["status"]),
        source_key=row["source_key"],
        version=row["version"],
        updated_at=opt_ts(row["updated_at"]),
        photos=photos,
        review=ReviewState(row["review"]),
        review_at=opt_ts(row["review_at"]),
    )


def _value_rows(report_id: int, values: Mapping[str, Any]) -> list[tuple[int, str, Any, Any]]:
    """Typed copies of the values, so aggregates can SUM without parsing JSON."""
    rows: list[tuple[int, str, Any, Any]] = []
    for code, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            rows.append((report_id, code, value, None))
        else:
            rows.append((report_id, code, None, str(value)))
    return rows


async def _photos(tx: Tx, report_ids: list[int]) -> dict[int, tuple[Photo, ...]]:
    if not report_ids:
        return {}
    marks = ",".join("?" * len(report_ids))
    rows = await fetch_all(
        tx,
        "SELECT report_id, channel, file_ref, file_unique_id, size FROM report_photos "
        f"WHERE report_id IN ({marks}) ORDER BY id",
        report_ids,
    )
    out: dict[int, list[Photo]] = {}
    for r in rows:
        out.setdefault(r["report_id"], []).append(
            Photo(r["channel"], r["file_ref"], r["file_unique_id"], r["size"])
        )
    return {k: tuple(v) for k, v in out.items()}


async def _one(tx: Tx, where: str, param: Any) -> Report | None:
    row = await fetch_one(tx, f"SELECT * FROM reports WHERE {where}", (param,))
    if row is None:
        return None
    photos = await _photos(tx, [row["id"]])
    return _report(row, photos.get(row["id"], ()))


async def get(tx: Tx, report_id: int) -> Report | None:
    return await _one(tx, "id = ?", report_id)


async def by_source_key(tx: Tx, source_key: str) -> Report | None:
    return await _one(tx, "source_key = ?", source_key)


async def create(
    tx: Tx,
    *,
    unit_code: str,
    person_id: int,
    indicator: str,
    values: Mapping[str, Any],
    occurred_on: dt.date,
    photos: tuple[Photo, ...],
    source_key: str,
    now: dt.datetime,
    review: ReviewState = ReviewState.ACCEPTED,
) -> tuple[Report, bool]:
    """Save a report once per source key, in the review state `review` (accepted when
    nobody reviews); returns (report, created).

    The source key is the inbox key of the update that confirmed the report,
    so a redelivered confirmation finds the first report instead of a twin.
    """
    existing = await by_source_key(tx, source_key)
    if existing is not None:
        return existing, False
    values_json = json.dumps(dict(values), ensure_ascii=False, sort_keys=True)
    report_id = await tx.insert(
        "INSERT INTO reports (unit_code, person_id, indicator, values_json, occurred_on, "
        "created_at, status, version, source_key, review, review_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (
            unit_code,
            person_id,
            indicator,
            values_json,
            occurred_on.isoformat(),
            ts(now),
            ReportStatus.ACTIVE.value,
            source_key,
            review.value,
            ts(now),
        ),
    )
    assert report_id is not None
    await tx.executemany(
        "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)",
        _value_rows(report_id, values),
    )
    await tx.executemany(
        "INSERT INTO report_photos (report_id, channel, file_ref, file_unique_id, size, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(report_id, p.channel, p.file_ref, p.file_unique_id, p.size, ts(now)) for p in photos],
    )
    await totals.refresh(tx, unit_code, indicator, [occurred_on])
    after = {"values": dict(values), "occurred_on": occurred_on.isoformat()}
    await _audit(tx, report_id, person_id, "created", now, None, after)
    report = Report(
        report_id,
        unit_code,
        person_id,
        indicator,
        dict(values),
        occurred_on,
        now,
        ReportStatus.ACTIVE,
        source_key,
        1,
        None,
        photos,
        review,
        now,
    )
    return report, True


async def in_period(tx: Tx, unit_codes: list[str], start: dt.date, end: dt.date) -> list[Report]:
    """Reports of these units that happened in [start, end], retracted ones included."""
    if not unit_codes:
        return []
    marks = ",".join("?" * len(unit_codes))
    rows = await fetch_all(
        tx,
        f"SELECT * FROM reports WHERE unit_code IN ({marks}) AND occurred_on BETWEEN ? AND ? "
        "ORDER BY id",
        (*unit_codes, start.isoformat(), end.isoformat()),
    )
    return [_report(r, ()) for r in rows]


async def recent_for_unit(tx: Tx, unit_code: str, limit: int = 10) -> list[Report]:
    rows = await fetch_all(
        tx, "SELECT * FROM reports WHERE unit_code = ? ORDER BY id DESC LIMIT ?", (unit_code, limit)
    )
    photos = await _photos(tx, [r["id"] for r in rows])
    return [_report(r, photos.get(r["id"], ())) for r in rows]


async def update_values(
    tx: Tx,
    report: Report,
    *,
    person_id: int,
    values: Mapping[str, Any],
    occurred_on: dt.date,
    now: dt.datetime,
    added_photos: tuple[Photo, ...] = (),
    review: ReviewState | None = None,
) -> tuple[Report, bool]:
    """Edit in place, bump the version, and keep the old values in the audit trail.

    Values equal to the current version (and no photo added) change nothing:
    no new version, no audit entry; the second item says whether anything changed.
    `review`: the review state the edited report takes (None: unchanged); a change of
    state is in the audit trail too ("resubmitted", from and to).
    """
    same = dict(values) == dict(report.values) and occurred_on == report.occurred_on
    moves = review is not None and review != report.review
    if same and not added_photos:
        if not moves or review is None:
            return report, False
        # sent again unchanged (a returned report the officer stands by): only its state moves
        await tx.execute(
            "UPDATE reports SET review = ?, review_at = ? WHERE id = ?",
            (review.value, ts(now), report.id),
        )
        await totals.refresh(tx, report.unit_code, report.indicator, [report.occurred_on])
        await review_audit(
            tx, report.id, person_id, "resubmitted", now, report.review, review, None
        )
        resent = await get(tx, report.id)
        assert resent is not None
        return resent, True
    await tx.execute(
        "UPDATE reports SET values_json = ?, occurred_on = ?, updated_at = ?, "
        "version = version + 1, review = ?, review_at = ? WHERE id = ?",
        (
            json.dumps(dict(values), ensure_ascii=False, sort_keys=True),
            occurred_on.isoformat(),
            ts(now),
            (review if moves and review else report.review).value,
            ts(now) if moves else (ts(report.review_at) if report.review_at else None),
            report.id,
        ),
    )
    await tx.execute("DELETE FROM report_values WHERE report_id = ?", (report.id,))
    await tx.executemany(
        "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)",
        _value_rows(report.id, values),
    )
    await tx.executemany(
        "INSERT INTO report_photos (report_id, channel, file_ref, file_unique_id, size, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (report.id, p.channel, p.file_ref, p.file_unique_id, p.size, ts(now))
            for p in added_photos
        ],
    )
    await totals.refresh(tx, report.unit_code, report.indicator, [report.occurred_on, occurred_on])
    before = {"values": report.values, "occurred_on": report.occurred_on.isoformat()}
    after: dict[str, Any] = {"values": dict(values), "occurred_on": occurred_on.isoformat()}
    if added_photos:
        after["photos_added"] = len(added_photos)
    await _audit(tx, report.id, person_id, "edited", now, before, after)
    if moves and review is not None:
        await review_audit(
            tx, report.id, person_id, "resubmitted", now, report.review, review, None
        )
    updated = await get(tx, report.id)
    assert updated is not None
    return updated, True


async def retract(tx: Tx, report: Report, *, person_id: int, now: dt.datetime) -> None:
    """Mark as retracted (never deleted): standings skip it, the trail shows who and when."""
    await tx.execute(
        "UPDATE reports SET status = ?, updated_at = ? WHERE id = ?",
        (ReportStatus.RETRACTED.value, ts(now), report.id),
    )
    await totals.refresh(tx, report.unit_code, report.indicator, [report.occurred_on])
    await _audit(
        tx,
        report.id,
        person_id,
        "retracted",
        now,
        {"status": report.status.value},
        {"status": ReportStatus.RETRACTED.value},
    )


async def _audit(
    tx: Tx,
    report_id: int,
    person_id: int,
    action: str,
    now: dt.datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    await tx.execute(
        "INSERT INTO report_audit (report_id, person_id, action, at, before_json, after_json) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            report_id,
            person_id,
            action,
            ts(now),
            json.dumps(before, ensure_ascii=False) if before is not None else None,
            json.dumps(after, ensure_ascii=False) if after is not None else None,
        ),
    )


async def review_audit(
    tx: Tx,
    report_id: int,
    person_id: int,
    action: str,
    now: dt.datetime,
    before: ReviewState,
    after: ReviewState,
    reason: str | None,
) -> None:
    """One review action in the trail: who, when, from which state to which, and why."""
    to: dict[str, Any] = {"review": after.value}
    if reason is not None:
        to["reason"] = reason
    await _audit(tx, report_id, person_id, action, now, {"review": before.value}, to)
