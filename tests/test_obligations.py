"""Obligations: due days and moments, met/on time, completeness rates."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.models import Report, ReportStatus
from domain.obligations import (
    DueKind,
    DueRule,
    NothingToReport,
    Obligation,
    Scope,
    Tally,
    Timeliness,
    UnitRef,
    clamp_notes,
    completeness,
    due_date,
    due_moment,
    grace_end,
    is_met,
    periods_due_between,
)
from domain.periods import Period, PeriodKind

VN = ZoneInfo("Asia/Ho_Chi_Minh")
Y, H, Q, M = PeriodKind.YEAR, PeriodKind.HALF, PeriodKind.QUARTER, PeriodKind.MONTH
D = dt.date


def next_month(day: int, **kw) -> DueRule:
    return DueRule(kind=DueKind.DAY_OF_NEXT_MONTH, day=day, **kw)


def fixed(day: int, month: int, **kw) -> DueRule:
    return DueRule(kind=DueKind.FIXED, day=day, month=month, **kw)


def after_end(days: int, **kw) -> DueRule:
    return DueRule(kind=DueKind.DAYS_AFTER_END, days=days, **kw)


def obligation(kind: PeriodKind, rule: DueRule, **kw) -> Obligation:
    return Obligation(code=kw.pop("code", "ob"), period=kind, due=rule, **kw)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN)


_ids = iter(range(1, 10_000))
IN_MAY = D(2025, 5, 10)


def report(
    unit: str,
    created_at: dt.datetime,
    occurred_on: dt.date = IN_MAY,
    indicator: str = "gifts",
    status: ReportStatus = ReportStatus.ACTIVE,
) -> Report:
    rid = next(_ids)
    return Report(
        id=rid,
        unit_code=unit,
        person_id=1,
        indicator=indicator,
        values={},
        occurred_on=occurred_on,
        created_at=created_at,
        status=status,
        source_key=f"k{rid}",
    )


# -- rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "day_of_next_month"},  # day missing
        {"kind": "day_of_next_month", "day": 20, "month": 6},  # month not used
        {"kind": "fixed", "day": 30},  # month missing
        {"kind": "fixed", "day": 31, "month": 4},  # no 31/4 in any year
        {"kind": "fixed", "day": 30, "month": 2},
        {"kind": "days_after_end"},
        {"kind": "days_after_end", "days": -1},
        {"kind": "days_after_end", "days": 5, "day": 3},
        {"kind": "day_of_next_month", "day": 32},
        {"kind": "day_of_next_month", "day": 0},
        {"kind": "weekly", "day": 1},
        {"kind": "day_of_next_month", "day": 20, "hour": 17},  # extra=forbid
        {"kind": "day_of_next_month", "day": 20, "at": "23:59+07:00"},
    ],
)
def test_bad_rules_are_refused(data):
    with pytest.raises(ValidationError):
        DueRule.model_validate(data)


def test_rule_from_config_data():
    rule = DueRule.model_validate({"kind": "fixed", "day": 29, "month": 2, "at": "17:00"})
    assert rule.at == dt.time(17, 0)
    assert next_month(20).at == dt.time(23, 59)  # default: end of the due day


@pytest.mark.parametrize(
    ("rule", "notes"),
    [
        (next_month(31), ["day 31 falls back to the last day of shorter months"]),
        (next_month(30), ["day 30 falls back to the last day of February"]),
        (next_month(29), ["day 29 falls back to 28 February in common years"]),
        (next_month(28), []),
        (next_month(20), []),
        (fixed(29, 2), ["29/2 falls back to 28/2 in common years"]),
        (fixed(31, 12), []),
        (fixed(30, 6), []),
        (after_end(31), []),
    ],
)
def test_clamp_notes(rule, notes):
    got = clamp_notes(rule)
    assert len(got) == len(notes)
    for sentence, start in zip(got, notes, strict=True):
        assert str(sentence).startswith(start)


GOOD = {"code": "x", "period": "month", "due": {"kind": "days_after_end", "days": 0}}


@pytest.mark.parametrize(
    "change",
    [
        {"period": "half", "indexes": [3]},
        {"indexes": [0]},
        {"indexes": [13]},
        {"grace_days": -1},
        {"applies_to": {}},
        {"applies_to": "some"},
        {"applies_to": {"regions": ["x"]}},
        {"code": "X Y"},
        {"period": "week"},
        {"due": {"kind": "fixed", "day": 31, "month": 4}},
        {"surprise": 1},
    ],
)
def test_bad_obligations_are_refused(change):
    Obligation.model_validate(GOOD)
    with pytest.raises(ValidationError):
        Obligation.model_validate(GOOD | change)


def test_obligation_from_config_data():
    ob = Obligation.model_validate(
        {
            "code": "monthly",
            "indicators": ["gifts", "events"],
            "period": "month",
            "due": {"kind": "day_of_next_month", "day": 20},
            "grace_days": 3,
            "applies_to": {"clusters": ["cum_1"], "units": ["tay_ho"]},
            "label": {"vi": "Báo cáo tháng", "en": "Monthly report"},
        }
    )
    assert ob.applies("hoan_kiem", "cum_1")
    assert ob.applies("tay_ho", "cum_2")
    assert ob.applies("tay_ho", None)
    assert not ob.applies("ba_vi", "cum_4")
    assert not ob.applies("ba_vi", None)
    assert ob.counts("gifts") and not ob.counts("cba")
    assert obligation(M, next_month(20)).counts("anything")
    everyone = obligation(M, next_month(20))
    assert everyone.applies_to == "all" and everyone.applies("ba_vi", None)


def test_scope_needs_something():
    with pytest.raises(ValidationError):
        Scope()


# -- calendar arithmetic ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rule", "period", "expected"),
    [
        # "trước ngày 20 hằng tháng": day 20 of the month after the period ends
        (M, next_month(20), Period(M, 2025, 1), D(2025, 2, 20)),
        (M, next_month(20), Period(M, 2025, 6), D(2025, 7, 20)),
        (M, next_month(20), Period(M, 2025, 12), D(2026, 1, 20)),  # 31/12 → next year
        (Q, next_month(20), Period(Q, 2025, 4), D(2026, 1, 20)),
        (Q, next_month(20), Period(Q, 2025, 1), D(2025, 4, 20)),
        (H, next_month(20), Period(H, 2025, 1), D(2025, 7, 20)),
        (Y, next_month(20), Period(Y, 2025, 1), D(2026, 1, 20)),
        # day 31 in shorter months falls back to the month's last day
        (M, next_month(31), Period(M, 2025, 3), D(2025, 4, 30)),
        (M, next_month(31), Period(M, 2025, 5), D(2025, 6, 30)),
        (M, next_month(31), Period(M, 2025, 8), D(2025, 9, 30)),
        (M, next_month(31), Period(M, 2025, 10), D(2025, 11, 30)),
        (M, next_month(31), Period(M, 2025, 11), D(2025, 12, 31)),
        (M, next_month(31), Period(M, 2025, 2), D(2025, 3, 31)),
        (M, next_month(31), Period(M, 2025, 1), D(2025, 2, 28)),
        (M, next_month(31), Period(M, 2024, 1), D(2024, 2, 29)),  # leap year
        (M, next_month(30), Period(M, 2025, 1), D(2025, 2, 28)),
        (M, next_month(30), Period(M, 2024, 1), D(2024, 2, 29)),
        (M, next_month(29), Period(M, 2025, 1), D(2025, 2, 28)),
        (M, next_month(29), Period(M, 2024, 1), D(2024, 2, 29)),
        (M, next_month(29), Period(M, 2100, 1), D(2100, 2, 28)),  # 2100 is not leap
        (M, next_month(29), Period(M, 2000, 1), D(2000, 2, 29)),  # 2000 is
        # fixed days in the period's year
        (H, fixed(30, 6), Period(H, 2025, 1), D(2025, 6, 30)),  # đợt 1
        (Y, fixed(20, 11), Period(Y, 2025, 1), D(2025, 11, 20)),  # award files
        (Y, fixed(25, 1), Period(Y, 2026, 1), D(2026, 1, 25)),  # target registration
        (Y, fixed(29, 2), Period(Y, 2024, 1), D(2024, 2, 29)),
        (Y, fixed(29, 2), Period(Y, 2025, 1), D(2025, 2, 28)),
        (H, fixed(15, 12), Period(H, 2025, 2), D(2025, 12, 15)),
        # before the period starts: the same day next year
        (H, fixed(15, 1), Period(H, 2025, 2), D(2026, 1, 15)),
        (H, fixed(30, 6), Period(H, 2025, 2), D(2026, 6, 30)),
        (H, fixed(29, 2), Period(H, 2023, 2), D(2024, 2, 29)),
        # days after the period's last day
        (M, after_end(0), Period(M, 2025, 12), D(2025, 12, 31)),
        (M, after_end(1), Period(M, 2025, 12), D(2026, 1, 1)),
        (M, after_end(10), Period(M, 2024, 2), D(2024, 3, 10)),
        (M, after_end(10), Period(M, 2025, 2), D(2025, 3, 10)),
        (M, after_end(1), Period(M, 2024, 2), D(2024, 3, 1)),
        (M, after_end(1), Period(M, 2025, 2), D(2025, 3, 1)),
        (Q, after_end(15), Period(Q, 2025, 3), D(2025, 10, 15)),
    ],
)
def test_due_date(kind, rule, period, expected):
    assert due_date(obligation(kind, rule), period) == expected


def test_due_moment_is_aware_local():
    ob = obligation(M, next_month(20))
    moment = due_moment(ob, Period(M, 2025, 5), VN)
    assert moment == vn(2025, 6, 20, 23, 59)
    assert moment.utcoffset() == dt.timedelta(hours=7)
    assert moment == dt.datetime(2025, 6, 20, 16, 59, tzinfo=dt.UTC)


def test_due_moment_examples():
    dot1 = obligation(H, fixed(30, 6, at=dt.time(17, 0)), indexes=(1,))
    assert due_moment(dot1, Period(H, 2025, 1), VN) == vn(2025, 6, 30, 17, 0)
    awards = obligation(Y, fixed(20, 11))
    assert due_moment(awards, Period(Y, 2025, 1), VN) == vn(2025, 11, 20, 23, 59)


def test_grace_end():
    ob = obligation(M, next_month(20), grace_days=3)
    assert grace_end(ob, Period(M, 2025, 12), VN) == vn(2026, 1, 23, 23, 59)
    none = obligation(M, next_month(20))
    period = Period(M, 2025, 12)
    assert grace_end(none, period, VN) == due_moment(none, period, VN)


def test_periods_the_obligation_lacks_are_refused():
    dot1 = obligation(H, fixed(30, 6), indexes=(1,))
    with pytest.raises(ValueError, match="2025-H2"):
        due_date(dot1, Period(H, 2025, 2))
    with pytest.raises(ValueError, match="2025-05"):
        due_moment(dot1, Period(M, 2025, 5), VN)


def test_periods_due_between_monthly():
    ob = obligation(M, next_month(20))
    periods = periods_due_between(ob, D(2025, 1, 1), D(2025, 12, 31))
    assert [p.key for p in periods] == ["2024-12"] + [f"2025-{m:02d}" for m in range(1, 12)]
    assert periods_due_between(ob, D(2025, 2, 20), D(2025, 2, 20)) == [Period(M, 2025, 1)]
    assert periods_due_between(ob, D(2025, 2, 21), D(2025, 3, 19)) == []
    assert periods_due_between(ob, D(2025, 3, 1), D(2025, 2, 1)) == []


def test_periods_due_between_with_indexes_and_fixed_days():
    dot1 = obligation(H, fixed(30, 6), indexes=(1,))
    dot2 = obligation(H, fixed(15, 12), indexes=(2,))
    start, end = D(2024, 1, 1), D(2025, 12, 31)
    assert [p.key for p in periods_due_between(dot1, start, end)] == ["2024-H1", "2025-H1"]
    assert [p.key for p in periods_due_between(dot2, start, end)] == ["2024-H2", "2025-H2"]
    awards = obligation(Y, fixed(20, 11))
    assert periods_due_between(awards, D(2025, 11, 1), D(2025, 11, 30)) == [Period(Y, 2025, 1)]
    slow = obligation(Q, after_end(366))
    # 31/12/2024 + 366 days is 1/1/2026: a period two years before its due day
    assert periods_due_between(slow, D(2026, 1, 1), D(2026, 1, 1)) == [Period(Q, 2024, 4)]


def test_periods_due_between_at_the_ends_of_the_calendar():
    ob = obligation(Y, after_end(366))
    # 9998 + 366 days would be 1/1/10000: skipped, not an OverflowError
    assert periods_due_between(ob, D(9999, 1, 1), D(9999, 12, 31)) == [Period(Y, 9997, 1)]
    assert periods_due_between(ob, D(1, 1, 1), D(1, 12, 31)) == []


# -- met / on time ----------------------------------------------------------------

MAY = Period(M, 2025, 5)
MONTHLY = obligation(M, next_month(20), grace_days=2, indicators=("gifts", "events"))
DUE = vn(2025, 6, 20, 23, 59)


def met(reports=(), declarations=(), unit="hk", ob=MONTHLY, period=MAY):
    return is_met(unit, ob, period, reports, declarations, tz=VN)


def test_nothing_submitted_is_missing():
    result = met()
    assert result.status is Timeliness.MISSING
    assert not result.met and not result.on_time and result.when is None


@pytest.mark.parametrize(
    ("created_at", "status"),
    [
        (vn(2025, 5, 10, 9, 0), Timeliness.ON_TIME),  # during the month
        (vn(2025, 6, 20, 23, 58), Timeliness.ON_TIME),
        (DUE, Timeliness.ON_TIME),  # at the due moment exactly
        (DUE + dt.timedelta(seconds=1), Timeliness.IN_GRACE),
        (vn(2025, 6, 22, 23, 59), Timeliness.IN_GRACE),  # grace end exactly
        (vn(2025, 6, 23, 0, 0), Timeliness.LATE),
        (dt.datetime(2025, 6, 20, 16, 59, tzinfo=dt.UTC), Timeliness.ON_TIME),  # = DUE
        (dt.datetime(2025, 6, 20, 17, 0, tzinfo=dt.UTC), Timeliness.IN_GRACE),
    ],
)
def test_on_time_against_the_due_moment(created_at, status):
    result = met([report("hk", created_at)])
    assert result.status is status
    assert result.met
    assert result.on_time is (status is Timeliness.ON_TIME)
    assert result.when == created_at


def test_first_qualifying_submission_decides():
    late = report("hk", vn(2025, 6, 25, 8, 0))
    early = report("hk", vn(2025, 6, 1, 8, 0))
    result = met([late, early])
    assert result.on_time and result.report_id == early.id and not result.declared


def test_retracted_reports_are_ignored():
    retracted = report("hk", vn(2025, 6, 1), status=ReportStatus.RETRACTED)
    assert not met([retracted]).met
    active_late = report("hk", vn(2025, 6, 25))
    result = met([retracted, active_late])
    assert result.met and not result.on_time and result.report_id == active_late.id


@pytest.mark.parametrize(
    "other",
    [
        report("bd", vn(2025, 6, 1)),  # another unit
        report("hk", vn(2025, 6, 1), indicator="cba"),  # an indicator not named
        report("hk", vn(2025, 6, 1), occurred_on=D(2025, 4, 30)),  # activity in April
        report("hk", vn(2025, 6, 1), occurred_on=D(2025, 6, 1)),  # activity in June
    ],
)
def test_reports_that_do_not_qualify(other):
    assert not met([other]).met


def test_any_indicator_counts_when_none_named():
    ob = obligation(M, next_month(20))
    assert met([report("hk", vn(2025, 6, 1), indicator="cba")], ob=ob).on_time


def test_occurred_on_period_boundaries():
    first = report("hk", vn(2025, 6, 1), occurred_on=D(2025, 5, 1))
    last = report("hk", vn(2025, 6, 1), occurred_on=D(2025, 5, 31))
    assert met([first]).met and met([last]).met


def test_nothing_to_report_declaration_meets_the_obligation():
    declared = NothingToReport("hk", "ob", "2025-05", vn(2025, 6, 19, 10, 0))
    result = met(declarations=[declared])
    assert result.status is Timeliness.ON_TIME and result.declared and result.report_id is None
    late = NothingToReport("hk", "ob", "2025-05", vn(2025, 7, 1, 10, 0))
    assert met(declarations=[late]).status is Timeliness.LATE


@pytest.mark.parametrize(
    "declaration",
    [
        NothingToReport("bd", "ob", "2025-05", vn(2025, 6, 1)),
        NothingToReport("hk", "other", "2025-05", vn(2025, 6, 1)),
        NothingToReport("hk", "ob", "2025-04", vn(2025, 6, 1)),
    ],
)
def test_declarations_for_something_else_do_not_count(declaration):
    assert not met(declarations=[declaration]).met


def test_earliest_of_report_and_declaration():
    declared = NothingToReport("hk", "ob", "2025-05", vn(2025, 6, 25))
    reported = report("hk", vn(2025, 6, 10))
    result = met([reported], [declared])
    assert result.on_time and not result.declared
    declared = NothingToReport("hk", "ob", "2025-05", vn(2025, 6, 21))
    result = met([report("hk", vn(2025, 6, 22))], [declared])
    assert result.declared and result.status is Timeliness.IN_GRACE


def test_naive_submission_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        met([report("hk", dt.datetime(2025, 6, 1, 8, 0))])


def test_is_met_for_quarter_and_half():
    quarterly = obligation(Q, after_end(15))
    q2 = Period(Q, 2025, 2)
    assert is_met("hk", quarterly, q2, [report("hk", vn(2025, 7, 15, 23, 0))], [], tz=VN).on_time
    assert not is_met("hk", quarterly, q2, [report("hk", vn(2025, 7, 16))], [], tz=VN).on_time
    dot1 = obligation(H, fixed(30, 6), indexes=(1,))
    with pytest.raises(ValueError):
        is_met("hk", dot1, Period(H, 2025, 2), [], [], tz=VN)


# -- completeness -----------------------------------------------------------------

JUN = Period(M, 2025, 6)


def test_completeness_with_zero_units():
    result = completeness([], MONTHLY, [MAY], [], [], tz=VN)
    assert result.units == {} and result.clusters == {}
    assert result.total == Tally()
    assert result.total.completeness is None and result.total.on_time_rate is None


def test_completeness_with_no_periods():
    result = completeness([UnitRef("hk", "c1")], MONTHLY, [], [], [], tz=VN)
    assert result.units == {"hk": Tally()} and result.total.completeness is None


def test_completeness_rates():
    units = [UnitRef("hk", "c1"), UnitRef("bd", "c1"), UnitRef("dd", "c1"), UnitRef("bv", "c4")]
    reports = [
        report("hk", vn(2025, 6, 10)),  # May on time
        report("hk", vn(2025, 7, 10), occurred_on=D(2025, 6, 5)),  # June on time
        report("bd", vn(2025, 6, 21)),  # May late
        report("bd", vn(2025, 7, 1), occurred_on=D(2025, 6, 5), status=ReportStatus.RETRACTED),
        report("dd", vn(2025, 6, 1), indicator="cba"),  # not counted
    ]
    declarations = [NothingToReport("bv", "ob", "2025-06", vn(2025, 7, 20, 8))]
    result = completeness(units, MONTHLY, [MAY, JUN, MAY], reports, declarations, tz=VN)
    assert result.units == {
        "hk": Tally(2, 2, 2),
        "bd": Tally(2, 1, 0),
        "dd": Tally(2, 0, 0),
        "bv": Tally(2, 1, 1),
    }
    assert result.units["bd"].completeness == 0.5
    assert result.units["bd"].on_time_rate == 0.0
    assert result.clusters == {"c1": Tally(6, 3, 2), "c4": Tally(2, 1, 1)}
    assert result.clusters["c1"].completeness == pytest.approx(0.5)
    assert result.clusters["c1"].on_time_rate == pytest.approx(2 / 6)
    assert result.total == Tally(8, 4, 3)


def test_completeness_excludes_units_the_obligation_does_not_cover():
    ob = obligation(M, next_month(20), applies_to=Scope(clusters=("c1",), units=("lone",)))
    units = [UnitRef("hk", "c1"), UnitRef("bv", "c4"), UnitRef("lone")]
    result = completeness(units, ob, [MAY], [report("bv", vn(2025, 6, 1))], [], tz=VN)
    assert set(result.units) == {"hk", "lone"}
    assert result.clusters == {"c1": Tally(1, 0, 0)}  # c4 owes nothing: no entry
    assert result.total == Tally(2, 0, 0)
    assert result.total.completeness == 0.0


def test_completeness_refuses_contradictions():
    with pytest.raises(ValueError, match="two clusters"):
        completeness([UnitRef("hk", "c1"), UnitRef("hk", "c2")], MONTHLY, [MAY], [], [], tz=VN)
    with pytest.raises(ValueError):
        completeness([UnitRef("hk", "c1")], MONTHLY, [Period(Q, 2025, 2)], [], [], tz=VN)
    same_twice = completeness([UnitRef("hk", "c1")] * 2, MONTHLY, [MAY], [], [], tz=VN)
    assert same_twice.total == Tally(1, 0, 0)


# -- properties -------------------------------------------------------------------

kinds = st.sampled_from(list(PeriodKind))
_COUNT = {Y: 1, H: 2, Q: 4, M: 12}


@st.composite
def periods(draw, kind=None):
    kind = kind or draw(kinds)
    return Period(kind, draw(st.integers(1990, 2100)), draw(st.integers(1, _COUNT[kind])))


@settings(max_examples=200, deadline=None)
@given(periods(), st.integers(1, 31))
def test_day_of_next_month_property(period, day):
    due = due_date(obligation(period.kind, next_month(day)), period)
    after = period.end + dt.timedelta(days=1)
    assert (due.year, due.month) == (after.year, after.month)
    assert due.day == min(day, calendar.monthrange(due.year, due.month)[1])


@settings(max_examples=200, deadline=None)
@given(periods(), st.integers(1, 28), st.integers(1, 12))
def test_fixed_due_day_is_never_before_the_period(period, day, month):
    due = due_date(obligation(period.kind, fixed(day, month)), period)
    assert period.start <= due < period.start.replace(year=period.year + 1)


@settings(max_examples=100, deadline=None)
@given(
    kinds,
    st.sampled_from([next_month(20), next_month(31), fixed(30, 6), fixed(15, 1), after_end(45)]),
    st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
    st.integers(0, 400),
)
def test_periods_due_between_matches_brute_force(kind, rule, start, length):
    ob = obligation(kind, rule)
    end = start + dt.timedelta(days=length)
    everything = [
        Period(kind, year, i) for year in range(2015, 2034) for i in range(1, _COUNT[kind] + 1)
    ]
    expected = {p for p in everything if start <= due_date(ob, p) <= end}
    got = periods_due_between(ob, start, end)
    assert set(got) == expected and len(got) == len(expected)
    assert [due_date(ob, p) for p in got] == sorted(due_date(ob, p) for p in got)
