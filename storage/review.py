"""Review of reports: the queue (oldest first), the state changes and their trail.

A state change is one conditional UPDATE (the report still in the state and at the
version the reviewer saw): of two reviewers pressing at once one changes the row and
the other changes nothing and is told who was first (`last_action`). The report's
totals buckets (storage.totals) are recomputed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from domain.models import Report, ReportStatus, ReviewState
from storage import reports, totals
from storage._codec import fetch_all, parse_ts, ts
from storage.port import Tx
from storage.totals import Units, unit_filters

_ACTIONS = ("accepted", "returned", "resubmitted")


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """One review action of the audit trail."""

    report_id: int
    person_id: int
    action: str
    at: dt.datetime
    before: str
    after: str
    reason: str | None


async def change(
    tx: Tx,
    report: Report,
    *,
    to: ReviewState,
    action: str,
    person_id: int,
    now: dt.datetime,
    reason: str | None = None,
) -> bool:
    """Move `report` (as the reviewer saw it: state and version) to `to`; False when it
    has changed since (another reviewer was first, or the officer edited or retracted it)."""
    changed = await tx.execute(
        "UPDATE reports SET review = ?, review_at = ? "
        "WHERE id = ? AND review = ? AND version = ? AND status = ?",
        (to.value, ts(now), report.id, report.review.value, report.version, "active"),
    )
    if not changed:
        return False
    await totals.refresh(tx, report.unit_code, report.indicator, [report.occurred_on])
    await reports.review_audit(tx, report.id, person_id, action, now, report.review, to, reason)
    return True


def _where(
    units: Units, exclude_unit: str | None, column: str = "unit_code"
) -> list[tuple[str, list[Any]]]:
    parts = []
    for cond, params in unit_filters(units, column):
        extra = "unit_code <> ? AND " if exclude_unit else ""
        parts.append((cond + extra, [*params, *([exclude_unit] if exclude_unit else [])]))
    return parts


async def waiting(
    tx: Tx,
    units: Units,
    *,
    exclude_unit: str | None = None,
    after: tuple[dt.datetime, int] | None = None,
    limit: int = 1,
) -> list[Report]:
    """Reports waiting for review (oldest first), of `units`, but `exclude_unit`'s; `after`:
    only those behind this (review_at, id) place in the queue (the card after a skip)."""
    found: list[Report] = []
    # `unit_code || ''`: the units are a filter, never the way in; the review index gives
    # the waiting reports oldest first, so the first match ends the scan (an analysed
    # SQLite would otherwise read the cluster's every report by unit, then sort).
    for cond, params in _where(units, exclude_unit, "(unit_code || '')"):
        behind = ""
        extra: list[Any] = []
        if after is not None:
            behind = "AND (review_at > ? OR (review_at = ? AND id > ?)) "
            extra = [ts(after[0]), ts(after[0]), after[1]]
        rows = await fetch_all(
            tx,
            f"SELECT id FROM reports WHERE {cond}review = ? AND status = ? {behind}"
            "ORDER BY review_at, id LIMIT ?",
            [*params, ReviewState.SUBMITTED.value, ReportStatus.ACTIVE.value, *extra, limit],
        )
        for row in rows:
            report = await reports.get(tx, int(row[0]))
            if report is not None:
                found.append(report)
    found.sort(key=lambda r: (r.review_at or r.created_at, r.id))
    return found[:limit]


async def waiting_by_unit(
    tx: Tx,
    units: Units,
    *,
    exclude_unit: str | None = None,
    until: dt.datetime | None = None,
) -> list[tuple[str, int, dt.datetime]]:
    """(unit, reports waiting, the oldest's time) per unit, oldest first; `until`: only
    reports waiting since then or earlier."""
    out: list[tuple[str, int, dt.datetime]] = []
    for cond, params in _where(units, exclude_unit):
        limit = ""
        extra: list[Any] = []
        if until is not None:
            limit = "AND review_at <= ? "
            extra = [ts(until)]
        rows = await fetch_all(
            tx,
            f"SELECT unit_code, COUNT(*), MIN(review_at) FROM reports WHERE {cond}"
            f"review = ? AND status = ? {limit}GROUP BY unit_code",
            [*params, ReviewState.SUBMITTED.value, ReportStatus.ACTIVE.value, *extra],
        )
        out += [(r[0], int(r[1]), parse_ts(r[2])) for r in rows]
    out.sort(key=lambda u: (u[2], u[0]))
    return out


async def history(tx: Tx, report_ids: list[int]) -> list[ReviewEntry]:
    """The review actions on these reports, oldest first."""
    if not report_ids:
        return []
    marks = ",".join("?" * len(report_ids))
    rows = await fetch_all(
        tx,
        "SELECT report_id, person_id, action, at, before_json, after_json FROM report_audit "
        f"WHERE report_id IN ({marks}) AND action IN ({','.join('?' * len(_ACTIONS))}) "
        "ORDER BY id",
        [*report_ids, *_ACTIONS],
    )
    out: list[ReviewEntry] = []
    for r in rows:
        before = json.loads(r[4]) if r[4] else {}
        after = json.loads(r[5]) if r[5] else {}
        out.append(
            ReviewEntry(
                int(r[0]),
                int(r[1]),
                r[2],
                parse_ts(r[3]),
                before.get("review", ""),
                after.get("review", ""),
                after.get("reason"),
            )
        )
    return out
