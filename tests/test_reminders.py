"""Reminder plans: quiet hours, holidays, snooze, and who is reminded."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.models import Role
from domain.obligations import DueKind, DueRule, Obligation, UnitRef
from domain.periods import Period, PeriodKind
from domain.reminders import (
    CRITICAL_KINDS,
    DateRange,
    MoveReason,
    Notice,
    NoticeReason,
    PlannedReminder,
    QuietHours,
    Recipient,
    ReminderKind,
    ReminderRules,
    defer,
    plan_reminders,
    snooze_until,
    who_to_remind,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET = QuietHours()  # 21:00–07:00
TET = DateRange(start=dt.date(2026, 2, 14), end=dt.date(2026, 2, 22), name="Tết Bính Ngọ")
K = ReminderKind
MONTHLY = Obligation(
    code="monthly",
    period=PeriodKind.MONTH,
    due=DueRule(kind=DueKind.DAY_OF_NEXT_MONTH, day=20),
)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN)


# -- rules ------------------------------------------------------------------------


def test_default_rules():
    rules = ReminderRules()
    assert rules.before_days == (3, 1)
    assert rules.at == dt.time(8, 30)
    assert rules.on_due_day and rules.cluster_head_digest
    assert rules.after_days_daily == 3 and rules.escalate_to_chair_after_days == 2
    assert rules.quiet_hours == QuietHours(start=dt.time(21), end=dt.time(7))
    assert rules.holidays == ()


def test_rules_from_config_data():
    rules = ReminderRules.model_validate(
        {
            "before_days": [1, 5, 3],
            "at": "09:00",
            "quiet_hours": {"start": "22:00", "end": "06:30"},
            "holidays": [{"start": "2026-02-14", "end": "2026-02-22", "name": "Tết"}],
            "escalate_to_chair_after_days": None,
        }
    )
    assert rules.before_days == (5, 3, 1)
    assert rules.quiet_hours == QuietHours(start=dt.time(22), end=dt.time(6, 30))
    assert rules.holidays[0].contains(dt.date(2026, 2, 22))
    assert not rules.holidays[0].contains(dt.date(2026, 2, 23))
    assert ReminderRules(quiet_hours=None).quiet_hours is None


@pytest.mark.parametrize(
    "data",
    [
        {"before_days": [0]},
        {"before_days": [3, 3]},
        {"after_days_daily": -1},
        {"escalate_to_chair_after_days": 0},
        {"at": "08:30+07:00"},
        {"quiet_hours": {"start": "07:00", "end": "07:00"}},
        {"holidays": [{"start": "2026-02-22", "end": "2026-02-14"}]},
        {"snooze": True},
    ],
)
def test_bad_rules_are_refused(data):
    with pytest.raises(ValidationError):
        ReminderRules.model_validate(data)


@pytest.mark.parametrize(
    ("quiet", "t", "expected"),
    [
        (QUIET, dt.time(21, 0), True),
        (QUIET, dt.time(20, 59), False),
        (QUIET, dt.time(0, 0), True),
        (QUIET, dt.time(6, 59, 59), True),
        (QUIET, dt.time(7, 0), False),
        (QUIET, dt.time(12, 0), False),
        (QuietHours(start=dt.time(12), end=dt.time(13, 30)), dt.time(12), True),
        (QuietHours(start=dt.time(12), end=dt.time(13, 30)), dt.time(13, 30), False),
        (QuietHours(start=dt.time(12), end=dt.time(13, 30)), dt.time(23), False),
    ],
)
def test_quiet_hours_contains(quiet, t, expected):
    assert quiet.contains(t) is expected


# -- defer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (vn(2025, 3, 10, 22, 15), vn(2025, 3, 11, 7, 0)),
        (vn(2025, 3, 10, 6, 59), vn(2025, 3, 10, 7, 0)),
        (vn(2025, 3, 10, 7, 0), vn(2025, 3, 10, 7, 0)),
        (vn(2025, 3, 10, 20, 59), vn(2025, 3, 10, 20, 59)),
        (vn(2025, 3, 10, 21, 0), vn(2025, 3, 11, 7, 0)),
        (vn(2025, 3, 10, 0, 0), vn(2025, 3, 10, 7, 0)),
        (vn(2025, 12, 31, 23, 0), vn(2026, 1, 1, 7, 0)),
        (vn(2024, 2, 28, 22, 0), vn(2024, 2, 29, 7, 0)),
        # 15:15 UTC is 22:15 in Hanoi
        (dt.datetime(2025, 3, 10, 15, 15, tzinfo=dt.UTC), vn(2025, 3, 11, 7, 0)),
        (dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.UTC), vn(2025, 3, 10, 7, 0)),
    ],
)
def test_defer_out_of_quiet_hours(moment, expected):
    result = defer(moment, QUIET, [], VN)
    assert result == expected
    assert result.tzinfo is VN


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (vn(2026, 2, 14, 0, 0), vn(2026, 2, 23, 7, 0)),
        (vn(2026, 2, 17, 8, 30), vn(2026, 2, 23, 7, 0)),
        (vn(2026, 2, 22, 23, 59), vn(2026, 2, 23, 7, 0)),
        (vn(2026, 2, 13, 22, 0), vn(2026, 2, 23, 7, 0)),  # quiet night runs into Tết
        (vn(2026, 2, 13, 20, 0), vn(2026, 2, 13, 20, 0)),
        (vn(2026, 2, 23, 7, 0), vn(2026, 2, 23, 7, 0)),
    ],
)
def test_defer_out_of_holidays(moment, expected):
    assert defer(moment, QUIET, [TET], VN) == expected


def test_defer_across_back_to_back_holidays_and_no_quiet_hours():
    next_one = DateRange(start=dt.date(2026, 2, 23), end=dt.date(2026, 2, 24))
    assert defer(vn(2026, 2, 15, 10), QUIET, [next_one, TET], VN) == vn(2026, 2, 25, 7)
    assert defer(vn(2026, 2, 15, 10), None, [TET], VN) == vn(2026, 2, 23, 0)
    assert defer(vn(2026, 2, 15, 10), None, [], VN) == vn(2026, 2, 15, 10)


def test_defer_with_daytime_quiet_hours():
    lunch = QuietHours(start=dt.time(11, 30), end=dt.time(13, 30))
    assert defer(vn(2025, 3, 10, 12), lunch, [], VN) == vn(2025, 3, 10, 13, 30)
    assert defer(vn(2025, 3, 10, 22), lunch, [], VN) == vn(2025, 3, 10, 22)


def test_defer_refuses_naive_moments():
    with pytest.raises(ValueError, match="aware"):
        defer(dt.datetime(2025, 3, 10, 22), QUIET, [], VN)


# -- plans ------------------------------------------------------------------------


def kinds_and_times(plan: list[PlannedReminder]) -> list[tuple[ReminderKind, dt.datetime]]:
    return [(item.kind, item.at) for item in plan]


def test_default_plan_for_a_monthly_report():
    plan = plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2025, 5), ReminderRules(), VN)
    assert kinds_and_times(plan) == [
        (K.BEFORE, vn(2025, 6, 17, 8, 30)),
        (K.BEFORE, vn(2025, 6, 19, 8, 30)),
        (K.DUE_DAY, vn(2025, 6, 20, 8, 30)),
        (K.OVERDUE, vn(2025, 6, 21, 8, 30)),
        (K.DIGEST_CLUSTER_HEAD, vn(2025, 6, 21, 8, 30)),
        (K.OVERDUE, vn(2025, 6, 22, 8, 30)),
        (K.ESCALATE_CHAIR, vn(2025, 6, 22, 8, 30)),
        (K.DIGEST_CLUSTER_HEAD, vn(2025, 6, 22, 8, 30)),
        (K.OVERDUE, vn(2025, 6, 23, 8, 30)),
        (K.DIGEST_CLUSTER_HEAD, vn(2025, 6, 23, 8, 30)),
    ]
    assert [item.day_offset for item in plan[:4]] == [-3, -1, 0, 1]
    for item in plan:
        assert item.at == item.planned_at and item.moved_because is None
        assert item.obligation_code == "monthly" and item.period_key == "2025-05"
        assert item.due == vn(2025, 6, 20, 23, 59)


def test_plan_across_the_year_end():
    plan = plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2025, 12), ReminderRules(), VN)
    assert plan[0].at == vn(2026, 1, 17, 8, 30)
    assert plan[-1].at == vn(2026, 1, 23, 8, 30)


def test_plan_through_tet_moves_and_keeps_every_reminder():
    rules = ReminderRules(holidays=(TET,))
    plan = plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2026, 1), rules, VN)
    assert len(plan) == len(
        plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2026, 1), ReminderRules(), VN)
    )
    moved = [item for item in plan if item.moved_because is not None]
    assert {item.kind for item in moved} == set(ReminderKind)
    for item in moved:
        # to the first working day, at the usual reminder time
        assert item.at == vn(2026, 2, 23, 8, 30)
        assert item.moved_because is MoveReason.HOLIDAY
        assert TET.contains(item.planned_at.date())
    unmoved = [item for item in plan if item.moved_because is None]
    assert {(i.kind, i.at) for i in unmoved} == {
        (K.OVERDUE, vn(2026, 2, 23, 8, 30)),
        (K.DIGEST_CLUSTER_HEAD, vn(2026, 2, 23, 8, 30)),
    }


def test_plan_with_a_late_reminder_time_moves_out_of_quiet_hours():
    rules = ReminderRules(at=dt.time(22, 15), before_days=(1,), after_days_daily=0)
    plan = plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2025, 5), rules, VN)
    assert kinds_and_times(plan) == [
        (K.BEFORE, vn(2025, 6, 20, 7, 0)),
        (K.DUE_DAY, vn(2025, 6, 21, 7, 0)),
        (K.DIGEST_CLUSTER_HEAD, vn(2025, 6, 22, 7, 0)),
        (K.ESCALATE_CHAIR, vn(2025, 6, 23, 7, 0)),
    ]
    assert plan[0].planned_at == vn(2025, 6, 19, 22, 15)
    assert all(item.moved_because is MoveReason.QUIET_HOURS for item in plan)


def test_plan_options_switch_parts_off():
    rules = ReminderRules(
        before_days=(),
        on_due_day=False,
        after_days_daily=0,
        escalate_to_chair_after_days=None,
        cluster_head_digest=False,
    )
    assert plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2025, 5), rules, VN) == []
    only_digest = rules.model_copy(update={"cluster_head_digest": True})
    plan = plan_reminders(MONTHLY, Period(PeriodKind.MONTH, 2025, 5), only_digest, VN)
    assert kinds_and_times(plan) == [(K.DIGEST_CLUSTER_HEAD, vn(2025, 6, 21, 8, 30))]


def test_plan_for_a_yearly_fixed_deadline():
    awards = Obligation(
        code="awards",
        period=PeriodKind.YEAR,
        due=DueRule(kind=DueKind.FIXED, day=20, month=11, at=dt.time(17)),
    )
    plan = plan_reminders(awards, Period(PeriodKind.YEAR, 2025, 1), ReminderRules(), VN)
    assert plan[0].at == vn(2025, 11, 17, 8, 30)
    assert plan[0].due == vn(2025, 11, 20, 17, 0)


# -- snooze -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (vn(2025, 3, 10, 10, 0), vn(2025, 3, 11, 10, 0)),
        (vn(2025, 3, 10, 20, 30), vn(2025, 3, 11, 20, 30)),
        (vn(2025, 3, 10, 22, 0), vn(2025, 3, 12, 7, 0)),  # 22:00 tomorrow is quiet
        (vn(2025, 12, 31, 9, 0), vn(2026, 1, 1, 9, 0)),
        (vn(2024, 2, 28, 9, 0), vn(2024, 2, 29, 9, 0)),
        (vn(2026, 2, 13, 9, 0), vn(2026, 2, 23, 7, 0)),  # tomorrow is Tết
        (dt.datetime(2025, 3, 10, 3, 0, tzinfo=dt.UTC), vn(2025, 3, 11, 10, 0)),
    ],
)
def test_snooze_until(now, expected):
    assert snooze_until(now, VN, ReminderRules(holidays=(TET,))) == expected


def test_snoozing_twice_counts_from_now_each_time():
    rules = ReminderRules()
    now = vn(2025, 3, 10, 10, 0)
    first = snooze_until(now, VN, rules)
    assert snooze_until(now, VN, rules) == first == now + dt.timedelta(days=1)
    later = now + dt.timedelta(minutes=5)
    assert snooze_until(later, VN, rules) == later + dt.timedelta(days=1)


def test_snooze_refuses_naive_now():
    with pytest.raises(ValueError, match="aware"):
        snooze_until(dt.datetime(2025, 3, 10, 10), VN, ReminderRules())


# -- who is reminded --------------------------------------------------------------


def item(kind: ReminderKind) -> PlannedReminder:
    at = vn(2025, 6, 20, 8, 30)
    return PlannedReminder(kind, "monthly", "2025-05", vn(2025, 6, 20, 23, 59), 0, at, at)


# (role, kind) → why that person is told when the unit owes; absent: never told.
RECEIVES = {
    (Role.OFFICER, K.BEFORE): NoticeReason.OWING,
    (Role.OFFICER, K.DUE_DAY): NoticeReason.OWING,
    (Role.OFFICER, K.OVERDUE): NoticeReason.OWING,
    (Role.CHAIR, K.ESCALATE_CHAIR): NoticeReason.ESCALATED,
    (Role.CLUSTER_HEAD, K.DIGEST_CLUSTER_HEAD): NoticeReason.DIGEST_OWING,
}


def test_only_before_reminders_can_be_muted():
    assert set(ReminderKind) - CRITICAL_KINDS == {K.BEFORE}


@pytest.mark.parametrize(
    ("role", "kind", "muted", "owing"),
    list(itertools.product(list(Role), list(ReminderKind), [False, True], [False, True])),
)
def test_who_is_reminded_matrix(role, kind, muted, owing):
    # The person under test is in unit hk (cluster c1, which a cluster head heads);
    # hk also has another officer so the digest has someone to name.
    person = Recipient(7, "hk", role, muted=muted, cluster="c1")
    colleague = Recipient(99, "hk", Role.OFFICER)
    units = [UnitRef("hk", "c1")] if owing else []
    notices = [n for n in who_to_remind(item(kind), units, [colleague, person]) if n.person_id == 7]
    reason = RECEIVES.get((role, kind))
    if owing and reason is not None and not (muted and kind is K.BEFORE):
        assert notices == [Notice(7, "hk", reason)]
    else:
        assert notices == []


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        # hk has an officer; bd has none: "chưa có người báo cáo"
        (
            [Recipient(1, "hk", Role.OFFICER)],
            [(9, "hk", "digest_owing"), (9, "bd", "digest_no_officer")],
        ),
        # a chair alone is not an officer
        (
            [Recipient(2, "bd", Role.CHAIR)],
            [(9, "hk", "digest_no_officer"), (9, "bd", "digest_no_officer")],
        ),
        # officers exist but blocked the bot
        (
            [Recipient(1, "hk", Role.OFFICER, reachable=False), Recipient(3, "bd", Role.OFFICER)],
            [(9, "hk", "digest_unreachable"), (9, "bd", "digest_owing")],
        ),
    ],
)
def test_digest_lines(people, expected):
    head = Recipient(9, "dd", Role.CLUSTER_HEAD, cluster="c1")
    owing = [UnitRef("hk", "c1"), UnitRef("bd", "c1")]
    notices = who_to_remind(item(K.DIGEST_CLUSTER_HEAD), owing, [*people, head])
    assert [(n.person_id, n.unit, n.reason.value) for n in notices] == expected


def test_digest_goes_to_the_head_of_the_units_cluster_only():
    people = [
        Recipient(9, "dd", Role.CLUSTER_HEAD, cluster="c1"),
        Recipient(8, "nt", Role.CLUSTER_HEAD, cluster="c2"),
        Recipient(6, "bv", Role.CLUSTER_HEAD, cluster="c4", reachable=False),
        Recipient(5, "xx", Role.CLUSTER_HEAD),  # heads nothing
        Recipient(4, "hk", Role.OFFICER),
    ]
    owing = [UnitRef("hk", "c1"), UnitRef("tx", "c2"), UnitRef("bv2", "c4"), UnitRef("solo")]
    notices = who_to_remind(item(K.DIGEST_CLUSTER_HEAD), owing, people)
    assert notices == [
        Notice(9, "hk", NoticeReason.DIGEST_OWING),
        Notice(8, "tx", NoticeReason.DIGEST_NO_OFFICER),
    ]


def test_officer_reminders_reach_every_reachable_officer_once():
    people = [
        Recipient(1, "hk", Role.OFFICER),
        Recipient(2, "hk", Role.OFFICER, reachable=False),
        Recipient(3, "hk", Role.OFFICER, muted=True),
        Recipient(4, "bd", Role.OFFICER),
        Recipient(5, "dd", Role.OFFICER),  # dd has reported
        Recipient(6, "hk", Role.CHAIR),
    ]
    owing = [UnitRef("bd", "c1"), UnitRef("hk", "c1"), UnitRef("hk", "c1")]
    assert who_to_remind(item(K.OVERDUE), owing, people) == [
        Notice(4, "bd", NoticeReason.OWING),
        Notice(1, "hk", NoticeReason.OWING),
        Notice(3, "hk", NoticeReason.OWING),
    ]
    assert [n.person_id for n in who_to_remind(item(K.BEFORE), owing, people)] == [4, 1]
    assert who_to_remind(item(K.ESCALATE_CHAIR), owing, people) == [
        Notice(6, "hk", NoticeReason.ESCALATED)
    ]
    assert who_to_remind(item(K.DUE_DAY), [], people) == []


def test_notices_are_plain_tuples():
    person_id, unit, reason = who_to_remind(
        item(K.DUE_DAY), [UnitRef("hk")], [Recipient(1, "hk", Role.OFFICER)]
    )[0]
    assert (person_id, unit, reason) == (1, "hk", NoticeReason.OWING)


# -- properties -------------------------------------------------------------------

minute_times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def quiet_hours(draw):
    start, end = draw(minute_times), draw(minute_times)
    if start == end:
        return None
    return QuietHours(start=start, end=end)


@st.composite
def holidays(draw):
    ranges = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
        ranges.append(
            DateRange(start=start, end=start + dt.timedelta(days=draw(st.integers(0, 15))))
        )
    return ranges


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.sampled_from([VN, dt.UTC]),
)


def allowed(moment, quiet, days):
    local = moment.astimezone(VN)
    in_quiet = quiet is not None and quiet.contains(local.time())
    return not in_quiet and not any(h.contains(local.date()) for h in days)


@settings(max_examples=300, deadline=None)
@given(moments, quiet_hours(), holidays())
def test_defer_properties(moment, quiet, days):
    result = defer(moment, quiet, days, VN)
    assert result >= moment
    assert allowed(result, quiet, days)
    assert defer(result, quiet, days, VN) == result
    if result != moment:
        # the next allowed moment: the instant before it is still not allowed
        assert not allowed(result - dt.timedelta(microseconds=1), quiet, days)
    else:
        assert allowed(moment, quiet, days)


@settings(max_examples=150, deadline=None)
@given(moments, quiet_hours(), holidays())
def test_snooze_properties(now, quiet, days):
    rules = ReminderRules(quiet_hours=quiet, holidays=tuple(days))
    result = snooze_until(now, VN, rules)
    assert result >= now + dt.timedelta(days=1)
    assert allowed(result, quiet, days)
    assert snooze_until(now, VN, rules) == result


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2025, 2026),
    st.integers(1, 12),
    minute_times,
    quiet_hours(),
    holidays(),
)
def test_plan_properties(year, month, at, quiet, days):
    rules = ReminderRules(at=at, quiet_hours=quiet, holidays=tuple(days))
    period = Period(PeriodKind.MONTH, year, month)
    plan = plan_reminders(MONTHLY, period, rules, VN)
    assert len(plan) == 10  # never dropped
    assert [i.at for i in plan] == sorted(i.at for i in plan)
    for i in plan:
        assert i.at >= i.planned_at
        assert allowed(i.at, quiet, days)
        assert (i.moved_because is None) == (i.at == i.planned_at)
