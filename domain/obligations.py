"""Reporting obligations: what each unit owes for each period, and by when.

An obligation says which indicators a unit must report for every period of a
kind (month, quarter, đợt, year) and how the due day follows from the period
("trước ngày 20 hằng tháng", 30/6 for đợt 1, 20/11 every year). From it we
derive the due moment, whether a unit met it (on time or not), and the
completeness and on-time rates the cluster head sees.

Pure: no clock reads, no I/O. The federation's time zone is always passed in,
because a due day only becomes a moment on some clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import ConfigRule
from domain.models import LocalText, Report, ReportStatus
from domain.periods import Period, PeriodKind, period_of

__all__ = [
    "Completeness",
    "DueKind",
    "DueRule",
    "FirstReport",
    "Met",
    "NothingToReport",
    "Obligation",
    "Scope",
    "Tally",
    "Timeliness",
    "UnitRef",
    "clamp_notes",
    "completeness",
    "due_date",
    "due_moment",
    "grace_end",
    "is_met",
    "owed_periods",
    "periods_due_between",
    "rates_by_unit",
    "reporting_rates",
    "steady_span",
]

_PERIODS_PER_YEAR = {
    PeriodKind.YEAR: 1,
    PeriodKind.HALF: 2,
    PeriodKind.QUARTER: 4,
    PeriodKind.MONTH: 12,
}
# The longest each month can be (February in a leap year): a fixed 31/4 is a
# typo to report, while 29/2 is a real date that only some years have.
_MAX_DAY = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DueKind(StrEnum):
    DAY_OF_NEXT_MONTH = "day_of_next_month"  # day N of the month after the period ends
    FIXED = "fixed"  # day/month in the period's year (30/6, 20/11)
    DAYS_AFTER_END = "days_after_end"  # N days after the period's last day


class DueRule(_Frozen):
    """How the due day follows from a period; `at` is the local time on that day.

    - day_of_next_month: `day` (1–31) of the month after the period ends. A day
      the month lacks falls back to its last day (31 → 30/4, 30 → 28/2 or 29/2).
    - fixed: `day`/`month` in the period's year; if that is before the period
      starts (30/6 for đợt 2), the same day of the next year. 29/2 falls back to
      28/2 in common years; a day no year has (31/4, 30/2) is refused.
    - days_after_end: `days` (≥ 0) after the period's last day (0 = the last day).
    """

    kind: DueKind
    day: int | None = Field(default=None, ge=1, le=31)
    month: int | None = Field(default=None, ge=1, le=12)
    days: int | None = Field(default=None, ge=0, le=366)
    at: dt.time = dt.time(23, 59)

    @field_validator("at")
    @classmethod
    def _local_time(cls, value: dt.time) -> dt.time:
        # The time zone is the federation's, given once; a per-rule offset would drift.
        if value.tzinfo is not None:
            raise ConfigRule(
                "local_time",
                "a local time of day without a time zone, e.g. {example}",
                example="'23:59'",
            )
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> DueRule:
        needed = {
            DueKind.DAY_OF_NEXT_MONTH: {"day"},
            DueKind.FIXED: {"day", "month"},
            DueKind.DAYS_AFTER_END: {"days"},
        }[self.kind]
        for name in ("day", "month", "days"):
            given = getattr(self, name) is not None
            if name in needed and not given:
                raise ConfigRule(
                    "due_required",
                    "required when kind = {kind}",
                    path=name,
                    kind=repr(self.kind.value),
                )
            if name not in needed and given:
                raise ConfigRule(
                    "due_unused",
                    "not used when kind = {kind}",
                    path=name,
                    kind=repr(self.kind.value),
                )
        if self.kind is DueKind.FIXED:
            assert self.day is not None and self.month is not None  # checked just above
            if self.day > _MAX_DAY[self.month - 1]:
                raise ConfigRule(
                    "not_a_date",
                    "{day}/{month} is not a date in any year",
                    path="day",
                    day=self.day,
                    month=self.month,
                )
        return self


def clamp_notes(rule: DueRule) -> list[ConfigRule]:
    """Sentences for check-config about days that some months or years lack.

    The fallback is silent at run time, so the person writing the config is
    told once what "day 31" will mean in April. Each is a catalog line (a
    ConfigRule that is stated, not raised), so it is said in the CLI language.
    """
    if rule.kind is DueKind.DAY_OF_NEXT_MONTH:
        if rule.day == 31:
            return [
                ConfigRule(
                    "day31_fallback",
                    "day 31 falls back to the last day of shorter months "
                    "(30 in April, June, September, November; 28 or 29 in February)",
                )
            ]
        if rule.day == 30:
            return [
                ConfigRule(
                    "day30_fallback",
                    "day 30 falls back to the last day of February (28, or 29 in leap years)",
                )
            ]
        if rule.day == 29:
            return [
                ConfigRule("day29_fallback", "day 29 falls back to 28 February in common years")
            ]
    if rule.kind is DueKind.FIXED and (rule.day, rule.month) == (29, 2):
        return [ConfigRule("feb29_fallback", "29/2 falls back to 28/2 in common years")]
    return []


class Scope(_Frozen):
    """Which units an obligation covers when not all: listed clusters and/or units."""

    clusters: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not self.clusters and not self.units:
            raise ConfigRule("empty_scope", "list clusters or units, or write applies_to = 'all'")
        return self


class Obligation(_Frozen):
    """One reporting duty from configuration.

    `indicators` empty means a report of any indicator counts. `indexes`
    limits the obligation to some periods of its kind, e.g. (1,) for đợt 1
    only, so that đợt 1 (due 30/6) and đợt 2 (due 15/12) can have different
    rules; empty means every period. `applies_to` is "all" or a Scope.
    """

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    indicators: tuple[str, ...] = ()
    period: PeriodKind
    due: DueRule
    grace_days: int = Field(default=0, ge=0, le=366)
    applies_to: Literal["all"] | Scope = "all"
    indexes: tuple[int, ...] = ()
    label: LocalText | None = None

    @model_validator(mode="after")
    def _indexes_in_range(self) -> Obligation:
        count = _PERIODS_PER_YEAR[self.period]
        for index in self.indexes:
            if not 1 <= index <= count:
                raise ConfigRule(
                    "index_range",
                    "a {period} index is 1–{count}, not {index}",
                    path="indexes",
                    period=self.period.value,
                    count=count,
                    index=index,
                )
        return self

    def applies(self, unit: str, cluster: str | None) -> bool:
        """Whether `unit` (in `cluster` for the year judged) owes this obligation."""
        if self.applies_to == "all":
            return True
        scope = self.applies_to
        return unit in scope.units or (cluster is not None and cluster in scope.clusters)

    def covers(self, period: Period) -> bool:
        """Whether `period` is one this obligation is due for (kind and index)."""
        return period.kind is self.period and (not self.indexes or period.index in self.indexes)

    def counts(self, indicator: str) -> bool:
        """Whether a report of `indicator` can meet this obligation."""
        return not self.indicators or indicator in self.indicators


def _clamped(year: int, month: int, day: int) -> dt.date:
    """`day` of the month, or the month's last day when it is shorter."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _check_covers(obligation: Obligation, period: Period) -> None:
    # Asking about a period the obligation never has is a caller bug, not "not met".
    if not obligation.covers(period):
        raise ValueError(f"obligation {obligation.code!r} has no period {period.key}")


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def due_date(obligation: Obligation, period: Period) -> dt.date:
    """The calendar day `period` is due (no time zone needed for a day)."""
    _check_covers(obligation, period)
    rule = obligation.due
    if rule.kind is DueKind.DAY_OF_NEXT_MONTH:
        assert rule.day is not None
        end = period.end
        year, month = (end.year + 1, 1) if end.month == 12 else (end.year, end.month + 1)
        return _clamped(year, month, rule.day)
    if rule.kind is DueKind.FIXED:
        assert rule.day is not None and rule.month is not None
        due = _clamped(period.year, rule.month, rule.day)
        if due < period.start:
            due = _clamped(period.year + 1, rule.month, rule.day)
        return due
    assert rule.days is not None
    return period.end + dt.timedelta(days=rule.days)


def due_moment(obligation: Obligation, period: Period, tz: dt.tzinfo) -> dt.datetime:
    """The aware moment `period` is due: the due day at `due.at` on the clock `tz`."""
    return dt.datetime.combine(due_date(obligation, period), obligation.due.at, tzinfo=tz)


def grace_end(obligation: Obligation, period: Period, tz: dt.tzinfo) -> dt.datetime:
    """The due moment plus `grace_days` calendar days: late until then is "in grace"."""
    day = due_date(obligation, period) + dt.timedelta(days=obligation.grace_days)
    return dt.datetime.combine(day, obligation.due.at, tzinfo=tz)


def periods_due_between(obligation: Obligation, start: dt.date, end: dt.date) -> list[Period]:
    """The periods whose due day is in [start, end] (inclusive), by due day.

    Days rather than moments: "what falls due this month" is a calendar
    question, and the caller's clock decides which day "today" is.
    """
    if end < start:
        return []
    # A due day is never before its period starts and at most ~2 years after
    # (366 days after 31/12), so earlier or later years cannot contribute.
    first_year = max(1, start.year - 2)
    last_year = min(9999, end.year)
    found: list[tuple[dt.date, Period]] = []
    for year in range(first_year, last_year + 1):
        for index in range(1, _PERIODS_PER_YEAR[obligation.period] + 1):
            period = Period(obligation.period, year, index)
            if not obligation.covers(period):
                continue
            try:
                due = due_date(obligation, period)
            except (OverflowError, ValueError):  # past year 9999
                continue
            if start <= due <= end:
                found.append((due, period))
    found.sort(key=lambda item: (item[0], item[1].start))
    return [period for _, period in found]


@dataclass(frozen=True, slots=True)
class NothingToReport:
    """A unit's declaration "Không có hoạt động" for one obligation and period.

    It meets the obligation like a report does: nothing happened, and saying so
    is the report.
    """

    unit: str
    obligation_code: str
    period_key: str
    declared_at: dt.datetime


class Timeliness(StrEnum):
    ON_TIME = "on_time"  # first submission at or before the due moment
    IN_GRACE = "in_grace"  # after the due moment, at or before the grace end
    LATE = "late"  # after the grace end
    MISSING = "missing"  # nothing submitted (yet)


@dataclass(frozen=True, slots=True)
class Met:
    """Whether a unit met an obligation for a period, judged by its first submission.

    `report_id` is the first qualifying report, or None when the first
    submission was a "nothing to report" declaration (`declared` is True) or
    was judged from a month's `FirstReport`.
    """

    status: Timeliness
    when: dt.datetime | None = None
    report_id: int | None = None
    declared: bool = False

    @property
    def met(self) -> bool:
        return self.status is not Timeliness.MISSING

    @property
    def on_time(self) -> bool:
        return self.status is Timeliness.ON_TIME


@dataclass(frozen=True, slots=True)
class FirstReport:
    """The earliest active report of a unit, in a month or a longer span that starts it,
    that counts for `obligation` (None: of `indicator` alone).

    Every period an obligation has is made of whole months, and only a unit's
    first submission in a period decides whether and when it met the
    obligation, so one such row per unit and period judges exactly like all
    the period's reports (storage keeps the per-month figures per report
    write). Which report it was is not kept: `Met.report_id` is None for it.
    """

    unit_code: str
    indicator: str
    month: dt.date  # the first day of the span's first month
    created_at: dt.datetime
    obligation: str | None = None

    @property
    def occurred_on(self) -> dt.date:
        return self.month


Submitted = Report | FirstReport
"""What judging reads of a report: a whole one, or the month's first (`FirstReport`)."""

# First submission per (unit, period key): when, report id (None: unknown or a
# declaration), whether it was a declaration.
_First = tuple[dt.datetime, int | None, bool]
_Firsts = dict[tuple[str, str], _First]


def _first_submissions(
    obligation: Obligation,
    reports: Iterable[Submitted],
    declarations: Iterable[NothingToReport],
    units: frozenset[str] | None = None,
) -> _Firsts:
    """One pass over the reports: each counts for the period its activity happened in."""
    firsts: _Firsts = {}

    def offer(key: tuple[str, str], when: dt.datetime, report_id: int | None, said: bool) -> None:
        _require_aware(when, "submission time")
        current = firsts.get(key)
        if current is None or when < current[0]:
            firsts[key] = (when, report_id, said)

    for report in reports:
        if isinstance(report, Report):
            if report.status is not ReportStatus.ACTIVE:
                continue
        elif report.obligation not in (None, obligation.code):
            continue  # the first of what another obligation counts
        if not obligation.counts(report.indicator):
            continue
        if units is not None and report.unit_code not in units:
            continue
        period = period_of(report.occurred_on, obligation.period)
        report_id = report.id if isinstance(report, Report) else None
        offer((report.unit_code, period.key), report.created_at, report_id, False)
    for declaration in declarations:
        if declaration.obligation_code != obligation.code:
            continue
        if units is not None and declaration.unit not in units:
            continue
        offer((declaration.unit, declaration.period_key), declaration.declared_at, None, True)
    return firsts


def _judge(first: _First | None, due: dt.datetime, grace: dt.datetime) -> Met:
    if first is None:
        return Met(Timeliness.MISSING)
    when, report_id, declared = first
    if when <= due:
        status = Timeliness.ON_TIME
    elif when <= grace:
        status = Timeliness.IN_GRACE
    else:
        status = Timeliness.LATE
    return Met(status, when, report_id, declared=declared)


def is_met(
    unit: str,
    obligation: Obligation,
    period: Period,
    reports: Iterable[Report],
    declarations: Iterable[NothingToReport],
    *,
    tz: dt.tzinfo,
) -> Met:
    """Did `unit` meet `obligation` for `period`, and was it on time?

    Met by an active report of a counted indicator whose activity happened in
    the period, or by a "nothing to report" declaration for it. Retracted
    reports never count. On time means the first such submission is at or
    before the due moment. Whether the obligation applies to the unit at all is
    the caller's question (Obligation.applies).
    """
    _check_covers(obligation, period)
    firsts = _first_submissions(obligation, reports, declarations, frozenset({unit}))
    return _judge(
        firsts.get((unit, period.key)),
        due_moment(obligation, period, tz),
        grace_end(obligation, period, tz),
    )


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit and the cluster it is in for the year being judged (None: no cluster)."""

    unit: str
    cluster: str | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of unit-periods: owed, met (at any time), met on time, met late (after the
    due moment and its grace days: what a "late" penalty counts).

    Rates are fractions of what was owed (like DHIS2's "reporting rate" and
    "reporting rate on time"), and None when nothing was owed yet, so that a
    unit with nothing due reads "not due yet" instead of a made-up 0 % or 100 %.
    `completeness` is THE reporting rate: the one definition /standings,
    /completeness and the workbook show (see `reporting_rates`).
    """

    expected: int = 0
    met: int = 0
    on_time: int = 0
    late: int = 0  # met after the due moment and its grace days

    @property
    def missing(self) -> int:
        """Owed and already due, and nothing submitted."""
        return self.expected - self.met

    @property
    def completeness(self) -> float | None:
        return self.met / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.expected + other.expected,
            self.met + other.met,
            self.on_time + other.on_time,
            self.late + other.late,
        )


@dataclass(frozen=True, slots=True)
class Completeness:
    """Per-unit, per-cluster and overall tallies for one obligation.

    Only units the obligation applies to appear; a unit without a cluster
    counts in `units` and `total` but in no cluster.
    """

    units: Mapping[str, Tally]
    clusters: Mapping[str, Tally]
    total: Tally


def completeness(
    units: Sequence[UnitRef],
    obligation: Obligation,
    periods: Iterable[Period],
    reports: Iterable[Submitted],
    declarations: Iterable[NothingToReport],
    *,
    tz: dt.tzinfo,
) -> Completeness:
    """How completely and how punctually the units met `obligation` over `periods`.

    Pass only periods already due (`owed_periods`) unless a not-yet-due period
    should count as missing. A unit that owes the obligation is listed even when
    no period is due yet (a Tally of 0 owed: "not due yet", never 0 %). Periods
    the obligation does not have, or a unit listed in two clusters, raise
    ValueError; repeats count once.
    """
    wanted = list(dict.fromkeys(periods))
    for period in wanted:
        _check_covers(obligation, period)
    places: dict[str, UnitRef] = {}
    for ref in units:
        if places.setdefault(ref.unit, ref) != ref:
            raise ValueError(f"unit {ref.unit!r} is listed in two clusters")
    owing = [ref for ref in places.values() if obligation.applies(ref.unit, ref.cluster)]
    if not owing:
        return Completeness({}, {}, Tally())
    firsts = _first_submissions(
        obligation, reports, declarations, frozenset(ref.unit for ref in owing)
    )
    deadlines = [(period.key, *_due_and_grace(obligation, period, tz)) for period in wanted]
    per_unit: dict[str, Tally] = {}
    per_cluster: dict[str, Tally] = {}
    total = Tally()
    for ref in owing:
        met = on_time = late = 0
        for key, due, grace in deadlines:
            result = _judge(firsts.get((ref.unit, key)), due, grace)
            met += result.met
            on_time += result.on_time
            late += result.status is Timeliness.LATE
        tally = Tally(len(deadlines), met, on_time, late)
        per_unit[ref.unit] = tally
        if ref.cluster is not None:
            per_cluster[ref.cluster] = per_cluster.get(ref.cluster, Tally()) + tally
        total = total + tally
    return Completeness(per_unit, per_cluster, total)


@functools.lru_cache(maxsize=4096)
def _deadlines(
    obligation: Obligation, within: Period, tz: dt.tzinfo
) -> tuple[tuple[Period, dt.datetime], ...]:
    """The obligation's periods inside `within` and their due moments, in UTC (the same
    moments, compared faster; pure: kept, as every /standings asks them again)."""
    count = _PERIODS_PER_YEAR[obligation.period]
    inside = [
        p
        for p in (Period(obligation.period, within.year, i) for i in range(1, count + 1))
        if within.start <= p.start and p.end <= within.end and obligation.covers(p)
    ]
    return tuple((p, due_moment(obligation, p, tz).astimezone(dt.UTC)) for p in inside)


@functools.lru_cache(maxsize=4096)
def _due_and_grace(
    obligation: Obligation, period: Period, tz: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime]:
    return due_moment(obligation, period, tz), grace_end(obligation, period, tz)


def owed_periods(
    obligation: Obligation, within: Period, now: dt.datetime, tz: dt.tzinfo
) -> list[Period]:
    """The obligation's periods inside `within` that are already due at `now`.

    The one rule for "owed so far": a period counts for the span that contains
    it (December's monthly report counts for that year even though it is due
    in January), and only once its due moment has passed, so a report not yet
    due is neither missing nor done.
    """
    _require_aware(now, "now")
    return [p for p, due in _deadlines(obligation, within, tz) if due <= now]


def steady_span(
    obligations: Iterable[Obligation], within: Period, now: dt.datetime, tz: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): the moments around `now` between which no period of `within` falls
    due (`owed_periods` says the same for every obligation) and the day on the clock `tz`
    stays `now`'s: what is judged at `now` holds, to the letter, all through it."""
    _require_aware(now, "now")
    day = now.astimezone(tz).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    for obligation in obligations:
        for _, due in _deadlines(obligation, within, tz):
            if due <= now:
                start = max(start, due)
            else:
                end = min(end, due)
    return start, end


def reporting_rates(
    units: Sequence[UnitRef],
    obligations: Iterable[Obligation],
    within: Period,
    reports: Iterable[Submitted],
    declarations: Iterable[NothingToReport],
    *,
    now: dt.datetime,
    tz: dt.tzinfo,
) -> dict[str, Completeness]:
    """The reporting rate of each unit over `within`, per obligation code.

    rate = reports submitted (on time, in grace or late; a "nothing to report"
    declaration counts) / reports already due (`owed_periods`); not-yet-due
    periods count for nothing. The same figures for the same units and span,
    wherever they are shown: /standings, /completeness, the workbook. Reports
    are those whose activity happened in `within` (retracted ones never count),
    whole or as each month's `FirstReport` (what storage answers from its
    per-month totals): the rates are the same.
    """
    found = list(reports)
    declared = list(declarations)
    return {
        obligation.code: completeness(
            units, obligation, owed_periods(obligation, within, now, tz), found, declared, tz=tz
        )
        for obligation in obligations
    }


def rates_by_unit(rates: Mapping[str, Completeness]) -> dict[str, Tally]:
    """Each unit's tally over every obligation it owes (what one "📥 81,8%" shows)."""
    out: dict[str, Tally] = {}
    for result in rates.values():
        for unit, tally in result.units.items():
            out[unit] = out.get(unit, Tally()) + tally
    return out
