"""Per-unit, per-month totals of the reports, kept in each report's own transaction.

Standings and reporting rates ask the same few questions of a cluster's year
over and over: how many reports of each indicator, the sum of each figure,
the sum of each product of two figures (gifts × VND per gift), and the first
time a unit reported in a month. Reading every report for that costs in
proportion to the federation's history; these two tables answer from at most
one row per (unit, month, indicator, status[, term]), whatever the size:

- `month_counts`: how many reports, and the earliest `created_at` among them
  (the reporting rate judges a period by a unit's first submission, and every
  obligation period is made of whole months).
- `month_sums`: per term, the SUM over the same reports of one figure (term
  "people") or of the product of two (term "count*value_per_gift", the two
  field codes in code order; a field with itself is a product too). Every
  numeric field and every pair of numeric fields of a report is kept, so the
  tables do not depend on which measures the configuration defines: a new
  measure needs no rebuild. Non-finite figures are left out, as the reference
  (`MeasureDef.value_of`) reads them as missing.

Status is a dimension, never a filter: a retracted report moves its bucket
from 'active' to 'retracted', and a review state later is one more value.
Readers choose the statuses that count.

Kept exact, not approximate: every write to a report (`refresh`, called by
storage.reports on create, edit and retract, and by any future status change)
recomputes the whole (unit, month, indicator) bucket from the reports, in the
same transaction; nothing is added or subtracted incrementally, so no drift
of float sums can build up and a minimum survives a retraction. A bucket
holds a few reports, so that costs a few index probes. `rebuild` recomputes
every bucket (migration 8 backfills with it; `thidua totals --rebuild` runs
it again), and `differences` compares the tables with a recomputation.

Months are the text 'YYYY-MM' of `occurred_on` (ISO dates); `created_at` is
UTC ISO-8601 text (storage._codec.ts), so its text order is time order.
The SQL is portable (substr, ||, UNION ALL, GROUP BY): no SQLite-only syntax.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.models import ReportStatus
from domain.obligations import FirstReport
from storage._codec import fetch_all, parse_ts

if TYPE_CHECKING:  # storage.db imports the migrations, which import this module
    from storage.db import Tx

__all__ = [
    "REBUILD",
    "SCHEMA",
    "Difference",
    "buckets",
    "differences",
    "first_reports",
    "month_sums",
    "rebuild",
    "refresh",
    "term_of",
]

_MAX = "1.7976931348623157e+308"
"""sys.float_info.max as SQL text: `num BETWEEN -max AND max` keeps finite figures only."""

SCHEMA = """
CREATE TABLE month_counts (
    unit_code TEXT NOT NULL,
    month TEXT NOT NULL,
    indicator TEXT NOT NULL,
    status TEXT NOT NULL,
    reports INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    PRIMARY KEY (unit_code, month, status, indicator)
);
CREATE TABLE month_sums (
    unit_code TEXT NOT NULL,
    month TEXT NOT NULL,
    indicator TEXT NOT NULL,
    status TEXT NOT NULL,
    term TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (unit_code, month, status, indicator, term)
);
CREATE INDEX reports_unit_occurred ON reports (unit_code, occurred_on, status, indicator)
"""
"""Migration 8's tables, and the index a bucket is recomputed through."""

_MONTH = "substr(r.occurred_on, 1, 7)"
_BUCKET = f"r.unit_code, {_MONTH}, r.indicator, r.status"

_COUNTS = (
    "INSERT INTO month_counts (unit_code, month, indicator, status, reports, first_at) "
    f"SELECT {_BUCKET}, COUNT(*), MIN(r.created_at) FROM reports r WHERE {{where}} "
    f"GROUP BY {_BUCKET}"
)
_FINITE = f"BETWEEN -{_MAX} AND {_MAX}"


def _sums(where: str, *, whole: bool) -> str:
    """The figures and pair products of the reports under `where`, per bucket and term.

    `whole`: every report, read in the order the values are stored (each value, then its
    report by key), not through the reports' index with a jump per report; one bucket
    goes the other way round, from its few reports to their values.
    """
    if whole:
        one = "report_values v CROSS JOIN reports r"
        two = "report_values a CROSS JOIN report_values b CROSS JOIN reports r"
        on_one = "r.id = v.report_id AND "
        on_two = "b.report_id = a.report_id AND a.field <= b.field AND r.id = a.report_id AND "
    else:
        one = "reports r JOIN report_values v ON v.report_id = r.id"
        two = (
            "reports r JOIN report_values a ON a.report_id = r.id "
            "JOIN report_values b ON b.report_id = r.id AND a.field <= b.field"
        )
        on_one = on_two = ""
    return (
        "INSERT INTO month_sums (unit_code, month, indicator, status, term, total) "
        f"SELECT {_BUCKET}, v.field, SUM(v.num) FROM {one} "
        f"WHERE {on_one}{where} AND v.num {_FINITE} "
        f"GROUP BY {_BUCKET}, v.field "
        "UNION ALL "
        f"SELECT {_BUCKET}, a.field || '*' || b.field, SUM(a.num * b.num) FROM {two} "
        f"WHERE {on_two}{where} AND a.num {_FINITE} AND b.num {_FINITE} "
        f"GROUP BY {_BUCKET}, a.field, b.field"
    )


REBUILD: tuple[str, ...] = (
    "DELETE FROM month_counts",
    "DELETE FROM month_sums",
    _COUNTS.format(where="r.id >= 0"),  # in the order reports are stored, not by an index
    _sums("1 = 1", whole=True),
)
"""Every bucket recomputed from the reports (migration 8 runs these after SCHEMA)."""

_ONE = "r.unit_code = ? AND r.indicator = ? AND r.occurred_on BETWEEN ? AND ?"
_FORGET = tuple(
    f"DELETE FROM {table} WHERE unit_code = ? AND month = ? AND indicator = ?"
    for table in ("month_counts", "month_sums")
)
_RECOUNT = _COUNTS.format(where=_ONE)
_RESUM = _sums(_ONE, whole=False)  # the report filter twice (both halves of the UNION)


def term_of(fields: Sequence[str]) -> str:
    """The `month_sums` term of one field, or of the product of two (in code order)."""
    return "*".join(sorted(fields))


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_bounds(month: str) -> tuple[str, str]:
    """First and last possible ISO day of 'YYYY-MM' (text bounds: '-31' covers every month)."""
    return f"{month}-01", f"{month}-31"


async def refresh(tx: Tx, unit_code: str, indicator: str, days: Iterable[dt.date]) -> None:
    """Recompute the buckets of these report days, every status, from the reports.

    Call it after any write that changes a report's unit, indicator, day, values
    or status, with the day before and the day after the change.
    """
    for month in sorted({_month(day) for day in days}):
        first, last = _month_bounds(month)
        bucket = (unit_code, indicator, first, last)
        for sql in _FORGET:
            await tx.execute(sql, (unit_code, month, indicator))
        await tx.execute(_RECOUNT, bucket)
        await tx.execute(_RESUM, bucket * 2)


async def rebuild(tx: Tx) -> None:
    """Every bucket again from the reports (the maintenance path; slow on big histories)."""
    for sql in REBUILD:
        await tx.execute(sql)


# --- reading ---------------------------------------------------------------------------

_UNITS_PER_QUERY = 500
"""Unit codes per IN list: far below SQLite's and PostgreSQL's parameter limits."""


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(codes: Sequence[str] | None) -> list[list[str] | None]:
    if codes is None:
        return [None]
    unique = list(dict.fromkeys(codes))
    return [unique[i : i + _UNITS_PER_QUERY] for i in range(0, len(unique), _UNITS_PER_QUERY)]


async def month_sums(
    tx: Tx,
    unit_codes: Sequence[str] | None,
    first: dt.date,
    last: dt.date,
    terms: dict[str, set[str]],
) -> list[tuple[str, str, str, float]]:
    """(unit, indicator, term, total) over the months of `first`..`last`, reports not retracted.

    `terms` maps each indicator asked about to the terms wanted; term "" is the
    number of reports, present exactly when the unit has a counted report of the
    indicator in those months. `unit_codes` None: every unit.
    """
    if not terms:
        return []
    indicators = sorted(terms)
    wanted = sorted({t for ts in terms.values() for t in ts if t})
    out: list[tuple[str, str, str, float]] = []
    for chunk in _chunks(unit_codes):
        units = f"unit_code IN ({_marks(len(chunk))}) AND " if chunk else ""
        common = (
            f"{units}month BETWEEN ? AND ? AND status <> ? "
            f"AND indicator IN ({_marks(len(indicators))})"
        )
        head = (*(chunk or ()), _month(first), _month(last), ReportStatus.RETRACTED.value)
        sql = (
            f"SELECT unit_code, indicator, '', SUM(reports) FROM month_counts WHERE {common} "
            "GROUP BY unit_code, indicator"
        )
        params: list[Any] = [*head, *indicators]
        if wanted:
            sql += (
                " UNION ALL SELECT unit_code, indicator, term, SUM(total) FROM month_sums "
                f"WHERE {common} AND term IN ({_marks(len(wanted))}) "
                "GROUP BY unit_code, indicator, term"
            )
            params += [*head, *indicators, *wanted]
        rows = await fetch_all(tx, sql, params)
        out += [(r[0], r[1], r[2], float(r[3])) for r in rows]
    return out


async def first_reports(
    tx: Tx, unit_codes: Sequence[str], first: dt.date, last: dt.date
) -> list[FirstReport]:
    """Each unit's earliest active report per indicator and month, over `first`..`last`'s
    months: what the reporting rate reads instead of every report."""
    out: list[FirstReport] = []
    for chunk in _chunks(unit_codes):
        if not chunk:
            continue
        rows = await fetch_all(
            tx,
            "SELECT unit_code, month, indicator, first_at FROM month_counts "
            f"WHERE unit_code IN ({_marks(len(chunk))}) AND month BETWEEN ? AND ? AND status = ?",
            (*chunk, _month(first), _month(last), ReportStatus.ACTIVE.value),
        )
        out += [
            FirstReport(
                r[0],
                r[2],
                dt.date(int(r[1][:4]), int(r[1][5:7]), 1),
                parse_ts(r[3]),
            )
            for r in rows
        ]
    return out


# --- checking --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    """One bucket row the tables hold differently from a recomputation (None: absent)."""

    table: str
    key: tuple[str, ...]
    stored: tuple[Any, ...] | None
    recomputed: tuple[Any, ...] | None


_KEYS = {
    "month_counts": ("unit_code, month, indicator, status", "reports, first_at"),
    "month_sums": ("unit_code, month, indicator, status, term", "total"),
}


async def _rows(tx: Tx, table: str) -> dict[tuple[str, ...], tuple[Any, ...]]:
    key, value = _KEYS[table]
    width = key.count(",") + 1
    rows = await fetch_all(tx, f"SELECT {key}, {value} FROM {table}")
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}


async def differences(tx: Tx) -> list[Difference]:
    """What the tables hold that a recomputation from the reports would not, and the
    reverse: empty when the totals are right. Recomputes inside the transaction and
    rolls that back through a savepoint, so the tables are left as they were."""
    stored = {table: await _rows(tx, table) for table in _KEYS}
    await tx.execute("SAVEPOINT totals_check")
    try:
        await rebuild(tx)
        fresh = {table: await _rows(tx, table) for table in _KEYS}
    finally:
        await tx.execute("ROLLBACK TO SAVEPOINT totals_check")
        await tx.execute("RELEASE SAVEPOINT totals_check")
    out: list[Difference] = []
    for table in _KEYS:
        mine, theirs = stored[table], fresh[table]
        for key in sorted(mine.keys() | theirs.keys()):
            if not _same(mine.get(key), theirs.get(key)):
                out.append(Difference(table, key, mine.get(key), theirs.get(key)))
    return out


async def buckets(tx: Tx) -> int:
    """How many (unit, month, indicator, status) buckets hold reports."""
    rows = await fetch_all(tx, "SELECT COUNT(*) FROM month_counts")
    return int(rows[0][0])


def _same(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> bool:
    """Equal rows; sums of fractional figures may differ in the last bits with the order
    SQL adds a bucket's reports in, which is not a wrong total."""
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9) if isinstance(x, float) else x == y
        for x, y in zip(a, b, strict=True)
    )
