"""What the checks beyond one field need from storage: a unit's usual values, and the
warnings a report was saved with (migration 10, `report_warnings`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from domain.models import ReportStatus
from domain.rules import Unusual, UnusualKind, median
from storage._codec import fetch_all, ts
from storage.port import Tx

SAMPLE = 500
"""The latest reports a unit's usual value is taken from: plenty for a median, and a
bound on what ✅ Lưu reads for a unit that reports thousands of times a year."""

SCHEMA = """
CREATE TABLE report_warnings (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports (id),
    version INTEGER NOT NULL,
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    confirmed_by INTEGER NOT NULL REFERENCES people (id),
    created_at TEXT NOT NULL
);
CREATE INDEX report_warnings_report ON report_warnings (report_id, version)
"""


async def medians(
    tx: Tx,
    *,
    unit_code: str,
    indicator: str,
    fields: Sequence[str],
    since: dt.date,
    min_reports: int,
    leave_out: int | None = None,
) -> dict[str, float]:
    """The unit's median of each field over its latest reports of `indicator` since `since`.

    One query: the unit's range of the (unit_code, occurred_on, status, indicator)
    index read backwards for its latest `SAMPLE` reports (so a unit with thousands of
    reports a year costs what one with 500 does), each report's typed values by their
    primary key; retracted reports and `leave_out` (the report being edited) do not
    count. A field with fewer than `min_reports` values has no usual value yet and is
    left out. The middle is found in Python: ranking in SQL (window functions, or
    ORDER BY … LIMIT 1 OFFSET n/2 per field) was 1.5–2.3× slower on SQLite for a unit
    with 5,000 reports (bench/outliers).
    """
    if not fields:
        return {}
    marks = ",".join("?" * len(fields))
    rows = await fetch_all(
        tx,
        "SELECT v.field, v.num FROM (SELECT id FROM reports WHERE unit_code = ? "
        "AND occurred_on >= ? AND status <> ? AND indicator = ? AND id <> ? "
        "ORDER BY occurred_on DESC LIMIT ?) r JOIN report_values v ON v.report_id = r.id "
        f"WHERE v.field IN ({marks}) AND v.num IS NOT NULL",
        (
            unit_code,
            since.isoformat(),
            ReportStatus.RETRACTED.value,
            indicator,
            leave_out if leave_out is not None else -1,
            SAMPLE,
            *fields,
        ),
    )
    numbers: dict[str, list[float]] = {}
    for row in rows:
        numbers.setdefault(row[0], []).append(float(row[1]))
    found: dict[str, float] = {}
    for code, values in numbers.items():
        usual = median(values) if len(values) >= min_reports else None
        if usual is not None:
            found[code] = usual
    return found


async def save(
    tx: Tx,
    report_id: int,
    version: int,
    warnings: Iterable[Unusual],
    *,
    person_id: int,
    now: dt.datetime,
) -> None:
    """Keep the warnings a version of a report was confirmed with (never erased)."""
    await tx.executemany(
        "INSERT INTO report_warnings (report_id, version, field, kind, value, threshold, "
        "confirmed_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (report_id, version, w.field, w.kind.value, w.value, w.limit, person_id, ts(now))
            for w in warnings
        ],
    )


async def of_report(tx: Tx, report_id: int, version: int) -> tuple[Unusual, ...]:
    """The warnings the report's current version was saved with, in order."""
    rows = await fetch_all(
        tx,
        "SELECT field, kind, value, threshold FROM report_warnings "
        "WHERE report_id = ? AND version = ? ORDER BY id",
        (report_id, version),
    )
    return tuple(Unusual(r[0], UnusualKind(r[1]), float(r[2]), float(r[3])) for r in rows)
