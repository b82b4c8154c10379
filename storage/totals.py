"""Per-unit totals of the reports by month and by half-year, kept in each report's transaction.

Standings and reporting rates ask the same few questions of a cluster's year
over and over: how many reports of each indicator, the sum of each figure,
the sum of each product of two figures (gifts × VND per gift), and the first
time a unit reported in a month. Reading every report for that costs in
proportion to the federation's history; these two tables answer from a few
rows per unit, whatever the size:

- `month_counts`, per (unit, month, indicator, status): how many reports, and
  the earliest `created_at` among them. The reporting rate judges a period by
  a unit's first submission, and every obligation period is made of months.
- `half_sums`, per (unit, half-year, indicator, status, term): term "" is the
  number of reports; term "people" the SUM of that figure; term
  "count*value_per_gift" the SUM of the product of two (field codes in code
  order; a field with itself is a product too). Every numeric field and pair
  of numeric fields is kept, so the tables do not depend on which measures
  the configuration defines: a new measure needs no rebuild. Non-finite
  figures are left out, as the reference (`MeasureDef.value_of`) reads them as
  missing. Half-years because standings are asked for a year or a đợt (half):
  two rows per term and unit for a year; by month it was 12, more rows than a
  cluster-year has reports below a few million.

Status is a dimension, never a filter: a retracted report moves from the
'active' bucket to the 'retracted' one; a report not (yet) accepted in review is
in the bucket of its review state, 'submitted' or 'returned' ('active' holds the
accepted ones: `_STATUS`). Readers choose the statuses that count: standings of
all reports everything but 'retracted', accepted-only standings 'active'.

Kept exact, not approximate: every write to a report (`refresh`, called by
storage.reports on create, edit and retract, and by any future status change)
recomputes the report's month and half-year buckets from the reports, in the
same transaction; nothing is added or subtracted incrementally, so no drift
of float sums can build up and a minimum survives a retraction. A bucket holds
one unit's reports of one indicator, so that costs a few index probes.
`rebuild` recomputes every bucket (migration 8's backfill; `thidua migrate
--totals` runs it again when `differences` finds the tables wrong).

Months are the text 'YYYY-MM' of `occurred_on` (ISO dates), halves 'YYYY-H1'
and 'YYYY-H2' (`Period.key`); `created_at` is UTC ISO-8601 text
(storage._codec.ts), so its text order is time order. The SQL is portable
(substr, ||, CASE, UNION ALL, GROUP BY): no SQLite-only syntax.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.models import ReportStatus, ReviewState
from domain.obligations import FirstReport, NothingToReport, Obligation
from domain.periods import PeriodKind
from domain.scoring import Target
from storage import memo
from storage._codec import fetch_all, parse_ts, ts
from storage.port import Tx

__all__ = [
    "REBUILD",
    "SCHEMA",
    "Difference",
    "Members",
    "Units",
    "buckets",
    "differences",
    "first_reports",
    "half_start",
    "half_sums",
    "next_half",
    "rebuild",
    "received",
    "refresh",
    "submissions",
    "term_of",
    "unit_filters",
    "waiting",
]

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
CREATE TABLE half_sums (
    unit_code TEXT NOT NULL,
    half TEXT NOT NULL,
    indicator TEXT NOT NULL,
    status TEXT NOT NULL,
    term TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (unit_code, half, status, indicator, term)
);
CREATE INDEX reports_unit_occurred ON reports (unit_code, occurred_on, status, indicator)
"""
"""Migration 8's tables, and the index a bucket is recomputed through."""

_MONTH = "substr(r.occurred_on, 1, 7)"
_HALF = (
    "substr(r.occurred_on, 1, 4) || "
    "CASE WHEN substr(r.occurred_on, 6, 2) <= '06' THEN '-H1' ELSE '-H2' END"
)
_STATUS = "CASE WHEN r.status = 'active' AND r.review <> 'accepted' THEN r.review ELSE r.status END"
"""A report's status bucket (domain.review.bucket): 'retracted', 'active' (accepted), or
its review state while not accepted ('submitted', 'returned'). Migration 8 ran before
reports had a review state: its buckets were `r.status`, the same for accepted reports."""
_BEFORE_REVIEW = "r.status"


def _by_month(status: str) -> str:
    return f"r.unit_code, {_MONTH}, r.indicator, {status}"


def _by_half(status: str) -> str:
    return f"r.unit_code, {_HALF}, r.indicator, {status}"


_FINITE = "BETWEEN -1.7976931348623157e+308 AND 1.7976931348623157e+308"
"""±sys.float_info.max: a figure `BETWEEN` them is finite (the reference skips ±inf)."""


def _counts(where: str, status: str = _STATUS) -> str:
    by = _by_month(status)
    return (
        "INSERT INTO month_counts (unit_code, month, indicator, status, reports, first_at) "
        f"SELECT {by}, COUNT(*), MIN(r.created_at) FROM reports r WHERE {where} GROUP BY {by}"
    )


def _sums(where: str, *, whole: bool, status: str = _STATUS) -> str:
    """The reports, figures and pair products under `where`, per half-year bucket and term.

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
    by_half = _by_half(status)
    return (
        "INSERT INTO half_sums (unit_code, half, indicator, status, term, total) "
        f"SELECT {by_half}, '', COUNT(*) FROM reports r WHERE {where} "
        f"GROUP BY {by_half} "
        "UNION ALL "
        f"SELECT {by_half}, v.field, SUM(v.num) FROM {one} "
        f"WHERE {on_one}{where} AND v.num {_FINITE} "
        f"GROUP BY {by_half}, v.field "
        "UNION ALL "
        f"SELECT {by_half}, a.field || '*' || b.field, SUM(a.num * b.num) FROM {two} "
        f"WHERE {on_two}{where} AND a.num {_FINITE} AND b.num {_FINITE} "
        f"GROUP BY {by_half}, a.field, b.field"
    )


def _rebuild(status: str) -> tuple[str, ...]:
    return (
        "DELETE FROM month_counts",
        "DELETE FROM half_sums",
        _counts("r.id >= 0", status),  # in the order reports are stored, not by an index
        _sums("r.id >= 0", whole=True, status=status),
    )


REBUILD: tuple[str, ...] = _rebuild(_STATUS)
"""Every bucket recomputed from the reports."""
REBUILD_BEFORE_REVIEW: tuple[str, ...] = _rebuild(_BEFORE_REVIEW)
"""Migration 8's backfill, as it ran before reports had a review state (migration 9)."""

_ONE = "r.unit_code = ? AND r.indicator = ? AND r.occurred_on BETWEEN ? AND ?"
_FORGET_MONTH = "DELETE FROM month_counts WHERE unit_code = ? AND month = ? AND indicator = ?"
_FORGET_HALF = "DELETE FROM half_sums WHERE unit_code = ? AND half = ? AND indicator = ?"
_RECOUNT = _counts(_ONE)
_RESUM = _sums(_ONE, whole=False)  # the report filter three times (each part of the UNION)


def term_of(fields: Sequence[str]) -> str:
    """The `half_sums` term of one field, or of the product of two (in code order)."""
    return "*".join(sorted(fields))


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _half(day: dt.date) -> str:
    return f"{day.year:04d}-H{1 if day.month <= 6 else 2}"


def half_start(day: dt.date) -> dt.date:
    """The first day of `day`'s half-year (1/1 or 1/7)."""
    return dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def next_half(day: dt.date) -> dt.date:
    """The first day of the half-year after `day`'s."""
    return dt.date(day.year, 7, 1) if day.month <= 6 else dt.date(day.year + 1, 1, 1)


async def refresh(tx: Tx, unit_code: str, indicator: str, days: Iterable[dt.date]) -> None:
    """Recompute the buckets of these report days, every status, from the reports.

    Call it after any write that changes a report's day, values or status, with the
    day before and the day after the change (its unit and indicator never change).
    """
    wanted = set(days)
    # Forget-then-recount is one step for every process: two processes serving one
    # PostgreSQL database would otherwise both insert the bucket (a unique violation).
    await tx.lock(f"totals:{unit_code}:{indicator}")
    for month in sorted({_month(day) for day in wanted}):
        # '-31' bounds every month as text: ISO days compare as text.
        bucket = (unit_code, indicator, f"{month}-01", f"{month}-31")
        await tx.execute(_FORGET_MONTH, (unit_code, month, indicator))
        await tx.execute(_RECOUNT, bucket)
    for first in sorted({half_start(day) for day in wanted}):
        last = next_half(first) - dt.timedelta(days=1)
        bucket = (unit_code, indicator, first.isoformat(), last.isoformat())
        await tx.execute(_FORGET_HALF, (unit_code, _half(first), indicator))
        await tx.execute(_RESUM, bucket * 3)


async def rebuild(tx: Tx) -> None:
    """Every bucket again from the reports (the maintenance path; slow on big histories)."""
    for sql in REBUILD:
        await tx.execute(sql)
    await memo.bump_all(tx)  # the triggers see reports, not the totals written from them


# --- reading ---------------------------------------------------------------------------

_UNITS_PER_QUERY = 500
"""Unit codes per IN list: far below SQLite's and PostgreSQL's parameter limits."""


def _marks(n: int) -> str:
    return ",".join("?" * n)


@dataclass(frozen=True, slots=True)
class Members:
    """The units of one cluster in one year, as the database lists them: a read can name
    them before the cluster itself has been read, and go in the same round trip."""

    cluster: str
    year: int


Units = Sequence[str] | Members | None
"""Which units a read is about: these codes, a cluster's members, or (None) every unit."""


def unit_filters(units: Units, column: str = "unit_code") -> list[tuple[str, list[Any]]]:
    """One SQL condition (ending in " AND ", or empty for every unit) and its parameters per
    query part: long code lists are cut into IN lists of a safe length."""
    if units is None:
        return [("", [])]
    if isinstance(units, Members):
        return [
            (
                f"{column} IN (SELECT unit_code FROM cluster_members "
                "WHERE cluster_code = ? AND year = ?) AND ",
                [units.cluster, units.year],
            )
        ]
    unique = list(dict.fromkeys(units))
    return [
        (f"{column} IN ({_marks(len(chunk))}) AND ", chunk)
        for chunk in (
            unique[i : i + _UNITS_PER_QUERY] for i in range(0, len(unique), _UNITS_PER_QUERY)
        )
    ]


async def half_sums(
    tx: Tx,
    unit_codes: Units,
    first: dt.date,
    last: dt.date,
    terms: dict[str, set[str]],
    target_keys: Sequence[str] = (),
    *,
    accepted_only: bool = False,
) -> tuple[list[tuple[str, str, str, float]], list[Target]]:
    """(unit, indicator, term, total) over the half-years of `first`..`last`, reports not
    retracted (`accepted_only`: accepted ones only); and these units' targets of the
    periods `target_keys`, in the same query.

    `terms` maps each indicator asked about to the terms wanted; term "" (always
    given) is the number of reports, present exactly when the unit has a counted
    report of the indicator in those halves. `unit_codes` None: every unit.
    """
    indicators = sorted(terms)
    wanted = sorted({"", *(t for ts in terms.values() for t in ts)})
    keys = list(dict.fromkeys(target_keys))
    selects: list[str] = []
    params: list[Any] = []
    for units, chosen in unit_filters(unit_codes):
        if indicators:
            selects.append(
                "SELECT 's', unit_code, indicator, term, SUM(total) FROM half_sums "
                f"WHERE {units}half BETWEEN ? AND ? AND status {'=' if accepted_only else '<>'} ? "
                f"AND indicator IN ({_marks(len(indicators))}) "
                f"AND term IN ({_marks(len(wanted))}) GROUP BY unit_code, indicator, term"
            )
            params += [
                *chosen,
                _half(first),
                _half(last),
                ReportStatus.ACTIVE.value if accepted_only else ReportStatus.RETRACTED.value,
                *indicators,
                *wanted,
            ]
        if keys:
            selects.append(
                "SELECT 't', unit_code, measure, period_key, value FROM targets "
                f"WHERE {units}period_key IN ({_marks(len(keys))})"
            )
            params += [*chosen, *keys]
    if not selects:
        return [], []
    sums: list[tuple[str, str, str, float]] = []
    targets: list[Target] = []
    for r in await fetch_all(tx, " UNION ALL ".join(selects), params):
        if r[0] == "s":
            sums.append((r[1], r[2], r[3], float(r[4])))
        else:
            targets.append(Target(r[1], r[2], r[3], float(r[4])))
    targets.sort(key=lambda t: (t.unit, t.measure, t.period))
    return sums, targets


async def received(tx: Tx, unit_codes: Units, since: dt.datetime) -> dict[str, int]:
    """Per unit: reports received since `since` and not retracted (the overview's "this
    week"). Through the index on (unit_code, created_at): only those rows are read."""
    selects: list[str] = []
    params: list[Any] = []
    for units, chosen in unit_filters(unit_codes):
        selects.append(
            "SELECT unit_code, COUNT(*) FROM reports "
            f"WHERE {units}created_at >= ? AND status <> ? GROUP BY unit_code"
        )
        params += [*chosen, ts(since), ReportStatus.RETRACTED.value]
    if not selects:
        return {}
    rows = await fetch_all(tx, " UNION ALL ".join(selects), params)
    return {r[0]: int(r[1]) for r in rows}


def _period_month(months: int) -> str:
    """SQL: the first month ('YYYY-MM') of the period of `months` months holding `month`."""
    if months == 1:
        return "month"
    starts = range(1, 13, months)
    whens = " ".join(
        f"WHEN substr(month, 6, 2) <= '{start + months - 1:02d}' THEN '-{start:02d}'"
        for start in starts
    )
    return f"substr(month, 1, 4) || CASE {whens} END"


async def first_reports(
    tx: Tx,
    unit_codes: Sequence[str] | Members,
    first: dt.date,
    last: dt.date,
    obligations: Sequence[Obligation],
) -> list[FirstReport]:
    """Per obligation, each unit's earliest active report that counts for it in each of its
    periods over `first`..`last`'s months (see `submissions`)."""
    return (await submissions(tx, unit_codes, first, last, obligations, {}))[0]


async def submissions(
    tx: Tx,
    unit_codes: Sequence[str] | Members,
    first: dt.date,
    last: dt.date,
    obligations: Sequence[Obligation],
    declared: Mapping[str, Sequence[str]],
) -> tuple[list[FirstReport], list[NothingToReport]]:
    """All the reporting rate needs, in one query: per obligation, each unit's earliest
    active report that counts for it in each of its periods over `first`..`last`'s months
    (grouped by the obligation's periods, whole months, over the indicators it counts: a
    row per unit and period), and the units' "nothing to report" declarations for the
    periods of each obligation in `declared` (code → period keys)."""
    selects: list[str] = []
    params: list[Any] = []
    for units, chosen in unit_filters(unit_codes):
        for obligation in obligations:
            start = _period_month(_MONTHS[obligation.period])
            which = ""
            if obligation.indicators:
                which = f" AND indicator IN ({_marks(len(obligation.indicators))})"
            selects.append(
                f"SELECT 'r', ?, unit_code, {start}, MIN(indicator), MIN(first_at) "
                f"FROM month_counts WHERE {units}month BETWEEN ? AND ? AND status <> ?"
                f"{which} GROUP BY unit_code, {start}"
            )
            params += [
                obligation.code,
                *chosen,
                _month(first),
                _month(last),
                ReportStatus.RETRACTED.value,  # a report waiting for review was submitted
                *obligation.indicators,
            ]
        owed = [(code, list(keys)) for code, keys in declared.items() if keys]
        if owed:
            which = " OR ".join(
                f"(obligation = ? AND period_key IN ({_marks(len(keys))}))" for _, keys in owed
            )
            selects.append(
                "SELECT 'd', obligation, unit_code, period_key, NULL, declared_at "
                f"FROM declarations WHERE {units}({which})"
            )
            params += [*chosen, *(x for code, keys in owed for x in (code, *keys))]
    if not selects:
        return [], []
    firsts: list[FirstReport] = []
    declarations: list[NothingToReport] = []
    for r in await fetch_all(tx, " UNION ALL ".join(selects), params):
        if r[0] == "r":
            month = dt.date(int(r[3][:4]), int(r[3][5:7]), 1)
            firsts.append(FirstReport(r[2], r[4], month, parse_ts(r[5]), obligation=r[1]))
        else:
            declarations.append(NothingToReport(r[2], r[1], r[3], parse_ts(r[5])))
    return firsts, declarations


async def waiting(tx: Tx, unit_codes: Units, first: dt.date, last: dt.date) -> int:
    """How many reports of these units over the half-years of `first`..`last` are not
    accepted (waiting for review, or returned): what "tạm tính" standings say."""
    count = 0
    for units, chosen in unit_filters(unit_codes):
        rows = await fetch_all(
            tx,
            "SELECT SUM(total) FROM half_sums "
            f"WHERE {units}half BETWEEN ? AND ? AND status IN (?, ?) AND term = ''",
            [*chosen, _half(first), _half(last), *_NOT_ACCEPTED],
        )
        count += int(rows[0][0] or 0)
    return count


_NOT_ACCEPTED = (ReviewState.SUBMITTED.value, ReviewState.RETURNED.value)

_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}


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
    "half_sums": ("unit_code, half, indicator, status, term", "total"),
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
    await tx.set_savepoint("totals_check")
    try:
        await rebuild(tx)
        fresh = {table: await _rows(tx, table) for table in _KEYS}
    finally:
        await tx.rollback_to_savepoint("totals_check")
        await tx.release_savepoint("totals_check")
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
