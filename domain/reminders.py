"""The reminder plan: who is reminded of which obligation, and when.

For each obligation and period the plan lists reminders before the due day,
on it, daily after it, an escalation to the unit's chair and a daily digest
for the cluster head. No reminder is ever dropped because it would fall in
quiet hours or a holiday (Tết): it is moved to the next allowed moment and
remembers where it was planned and why it moved. Who receives a reminder is
decided when it is sent, from the units that still owe the report then.

Pure: moments and "now" are passed in, as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import ConfigRule
from domain.models import Role
from domain.obligations import Obligation, UnitRef, due_moment
from domain.periods import Period

__all__ = [
    "CRITICAL_KINDS",
    "DateRange",
    "LocalTime",
    "MoveReason",
    "Notice",
    "NoticeReason",
    "PlannedReminder",
    "QuietHours",
    "Recipient",
    "ReminderKind",
    "ReminderRules",
    "defer",
    "plan_reminders",
    "snooze_until",
    "who_to_remind",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _naive_time(value: dt.time) -> dt.time:
    # Times of day are read on the federation's clock, given once as `tz`.
    if value.tzinfo is not None:
        raise ConfigRule(
            "local_time",
            "a local time of day without a time zone, e.g. {example}",
            example="'07:00'",
        )
    return value


# A time of day on the federation's clock ("07:00"), never with its own offset.
LocalTime = Annotated[dt.time, AfterValidator(_naive_time)]


class QuietHours(_Frozen):
    """Hours no reminder is sent, local time; `start` after `end` wraps midnight.

    `start` is quiet and `end` is not: with 21:00–07:00, 06:59 is quiet and
    07:00 is allowed.
    """

    start: LocalTime = dt.time(21, 0)
    end: LocalTime = dt.time(7, 0)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        # start == end could mean "never" or "all day"; make the writer say which.
        if self.start == self.end:
            raise ConfigRule(
                "quiet_hours_empty", "start and end must differ (omit quiet_hours for none)"
            )
        return self

    def contains(self, t: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class DateRange(_Frozen):
    """Holiday days, both ends included (Tết 2026-02-14 to 2026-02-22)."""

    start: dt.date
    end: dt.date
    name: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ConfigRule("end_before_start", "must be on or after start", path="end")
        return self

    def contains(self, d: dt.date) -> bool:
        return self.start <= d <= self.end


class ReminderRules(_Frozen):
    """When reminders go out, relative to the due day, all at local time `at`.

    Overdue reminders and the cluster head's digest run daily on the
    `after_days_daily` days after the due day (the digest at least on the
    first). The chair is told once, `escalate_to_chair_after_days` after the
    due day (None: never).
    """

    before_days: tuple[int, ...] = (3, 1)
    at: LocalTime = dt.time(8, 30)
    on_due_day: bool = True
    after_days_daily: int = Field(default=3, ge=0, le=31)
    escalate_to_chair_after_days: int | None = Field(default=2, ge=1, le=60)
    cluster_head_digest: bool = True
    quiet_hours: QuietHours | None = QuietHours()
    holidays: tuple[DateRange, ...] = ()

    @field_validator("before_days")
    @classmethod
    def _before(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= days <= 60 for days in value):
            raise ConfigRule("day_count_range", "each day count must be 1–60")
        if len(set(value)) != len(value):
            raise ConfigRule("day_count_repeat", "day counts must not repeat")
        return tuple(sorted(value, reverse=True))


class ReminderKind(StrEnum):
    BEFORE = "before"
    DUE_DAY = "due_day"
    OVERDUE = "overdue"
    ESCALATE_CHAIR = "escalate_chair"
    DIGEST_CLUSTER_HEAD = "digest_cluster_head"


# Reminders a person cannot mute: once the report is due or late, staying
# silent would cost the unit its standing. Only the early "before" nudge is
# optional.
CRITICAL_KINDS: frozenset[ReminderKind] = frozenset(
    {
        ReminderKind.DUE_DAY,
        ReminderKind.OVERDUE,
        ReminderKind.ESCALATE_CHAIR,
        ReminderKind.DIGEST_CLUSTER_HEAD,
    }
)


class MoveReason(StrEnum):
    QUIET_HOURS = "quiet_hours"
    HOLIDAY = "holiday"  # wins when both applied: it is the one worth explaining


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """One reminder to send at `at`; `planned_at` is where the rules put it.

    `day_offset` is days from the due day (-3, 0, +2). The wording should come
    from `due` and `at`, not from `kind` alone: a "before" reminder moved past a
    long holiday can arrive after the due moment.
    """

    kind: ReminderKind
    obligation_code: str
    period_key: str
    due: dt.datetime
    day_offset: int
    at: dt.datetime
    planned_at: dt.datetime
    moved_because: MoveReason | None = None


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _defer(
    moment: dt.datetime,
    quiet_hours: QuietHours | None,
    holidays: Sequence[DateRange],
    tz: dt.tzinfo,
) -> tuple[dt.datetime, MoveReason | None]:
    """defer(), and which rule moved the moment (holiday over quiet hours)."""
    _require_aware(moment, "moment")
    local = moment.astimezone(tz)
    reason: MoveReason | None = None
    # Each step moves forward past one holiday or one quiet stretch, so the
    # loop ends after at most one step per holiday plus one per day stepped into.
    for _ in range(2 * len(holidays) + 3):
        day = local.date()
        holiday = next((h for h in holidays if h.contains(day)), None)
        if holiday is not None:
            local = dt.datetime.combine(holiday.end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
            reason = MoveReason.HOLIDAY
            continue
        if quiet_hours is not None and quiet_hours.contains(local.time()):
            if local.time() >= quiet_hours.end:  # quiet until `end` tomorrow
                day += dt.timedelta(days=1)
            local = dt.datetime.combine(day, quiet_hours.end, tzinfo=tz)
            reason = reason or MoveReason.QUIET_HOURS
            continue
        return local, reason
    raise AssertionError("defer did not settle")  # unreachable: see the bound above


def defer(
    moment: dt.datetime,
    quiet_hours: QuietHours | None,
    holidays: Sequence[DateRange],
    tz: dt.tzinfo,
) -> dt.datetime:
    """The first moment at or after `moment` outside quiet hours and holidays, in `tz`.

    A holiday ends at midnight after its last day; quiet hours end at
    `quiet_hours.end`. So 22:15 becomes 07:00 the next day and a moment in Tết
    becomes 07:00 on the first working day.
    """
    return _defer(moment, quiet_hours, holidays, tz)[0]


def _allowed(moment: dt.datetime, rules: ReminderRules, tz: dt.tzinfo) -> bool:
    return defer(moment, rules.quiet_hours, rules.holidays, tz) == moment


def _place(
    planned: dt.datetime, rules: ReminderRules, tz: dt.tzinfo
) -> tuple[dt.datetime, MoveReason | None]:
    """Where a planned reminder goes: deferred, and at the usual time if moved to a later day.

    People expect reminders at the configured time: one pushed past Tết comes
    at 08:30 on the first working day, not when quiet hours end.
    """
    moved, reason = _defer(planned, rules.quiet_hours, rules.holidays, tz)
    if moved.date() != planned.astimezone(tz).date():
        usual = dt.datetime.combine(moved.date(), rules.at, tzinfo=tz)
        if usual >= moved and _allowed(usual, rules, tz):
            moved = usual
    return moved, reason


_KIND_ORDER = {kind: rank for rank, kind in enumerate(ReminderKind)}


def plan_reminders(
    obligation: Obligation, period: Period, rules: ReminderRules, tz: dt.tzinfo
) -> list[PlannedReminder]:
    """Every reminder for one obligation and period, in sending order.

    Reminders are planned for every unit alike; who_to_remind filters at send
    time, so a unit that reported meanwhile is not reminded.
    """
    due = due_moment(obligation, period, tz)
    due_day = due.date()
    wanted: list[tuple[ReminderKind, int]] = [(ReminderKind.BEFORE, -d) for d in rules.before_days]
    if rules.on_due_day:
        wanted.append((ReminderKind.DUE_DAY, 0))
    wanted += [(ReminderKind.OVERDUE, d) for d in range(1, rules.after_days_daily + 1)]
    if rules.escalate_to_chair_after_days is not None:
        wanted.append((ReminderKind.ESCALATE_CHAIR, rules.escalate_to_chair_after_days))
    if rules.cluster_head_digest:
        digest_days = max(rules.after_days_daily, 1)
        wanted += [(ReminderKind.DIGEST_CLUSTER_HEAD, d) for d in range(1, digest_days + 1)]
    plan: list[PlannedReminder] = []
    for kind, offset in wanted:
        planned = dt.datetime.combine(due_day + dt.timedelta(days=offset), rules.at, tzinfo=tz)
        at, reason = _place(planned, rules, tz)
        plan.append(
            PlannedReminder(
                kind=kind,
                obligation_code=obligation.code,
                period_key=period.key,
                due=due,
                day_offset=offset,
                at=at,
                planned_at=planned,
                moved_because=reason,
            )
        )
    plan.sort(key=lambda item: (item.at, item.planned_at, _KIND_ORDER[item.kind]))
    return plan


def snooze_until(now: dt.datetime, tz: dt.tzinfo, rules: ReminderRules) -> dt.datetime:
    """ "Nhắc lại sau": the same local time tomorrow, moved out of quiet hours and holidays.

    Relative to `now`, never to an earlier snooze: snoozing twice in a row
    lands on the same moment.
    """
    _require_aware(now, "now")
    local = now.astimezone(tz)
    tomorrow = dt.datetime.combine(local.date() + dt.timedelta(days=1), local.time(), tzinfo=tz)
    return defer(tomorrow, rules.quiet_hours, rules.holidays, tz)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person who may be reminded, as known when sending.

    `cluster` is the cluster a cluster head heads (others may leave it None).
    `muted` turns off non-critical reminders; `reachable` is False once the
    messenger said the person blocked the bot or left.
    """

    person_id: int
    unit: str
    role: Role
    muted: bool = False
    reachable: bool = True
    cluster: str | None = None


class NoticeReason(StrEnum):
    OWING = "owing"  # officer: your unit has not reported
    ESCALATED = "escalated"  # chair: your unit is still missing after the deadline
    DIGEST_OWING = "digest_owing"  # cluster head: this unit has not reported
    DIGEST_NO_OFFICER = "digest_no_officer"  # "chưa có người báo cáo": nobody to remind
    DIGEST_UNREACHABLE = "digest_unreachable"  # its officers cannot be reached


class Notice(NamedTuple):
    """One line to send: to `person_id`, about `unit`, because `reason`."""

    person_id: int
    unit: str
    reason: NoticeReason


_OFFICER_KINDS = frozenset({ReminderKind.BEFORE, ReminderKind.DUE_DAY, ReminderKind.OVERDUE})


def who_to_remind(
    plan_item: PlannedReminder,
    units_owing: Sequence[UnitRef],
    people: Iterable[Recipient],
) -> list[Notice]:
    """Who gets `plan_item`, given the units that still owe the report now.

    Officers of owing units get before/due_day/overdue reminders (muted ones
    skip "before" only: see CRITICAL_KINDS); the chair gets the escalation; the
    cluster head gets one digest line per owing unit of the cluster, with
    DIGEST_NO_OFFICER for a unit that has no officer and DIGEST_UNREACHABLE for
    one whose officers all blocked the bot. Unreachable people get nothing.
    Order: units as given, people as given.
    """
    everyone = list(people)
    notices: list[Notice] = []
    seen: set[tuple[int, str]] = set()

    def add(person_id: int, unit: str, reason: NoticeReason) -> None:
        if (person_id, unit) not in seen:
            seen.add((person_id, unit))
            notices.append(Notice(person_id, unit, reason))

    kind = plan_item.kind
    if kind is ReminderKind.DIGEST_CLUSTER_HEAD:
        heads = [p for p in everyone if p.role is Role.CLUSTER_HEAD and p.reachable and p.cluster]
        for ref in units_owing:
            officers = [p for p in everyone if p.unit == ref.unit and p.role is Role.OFFICER]
            if not officers:
                why = NoticeReason.DIGEST_NO_OFFICER
            elif not any(p.reachable for p in officers):
                why = NoticeReason.DIGEST_UNREACHABLE
            else:
                why = NoticeReason.DIGEST_OWING
            for head in heads:
                if ref.cluster is not None and head.cluster == ref.cluster:
                    add(head.person_id, ref.unit, why)
        return notices
    if kind is ReminderKind.ESCALATE_CHAIR:
        role, reason = Role.CHAIR, NoticeReason.ESCALATED
    elif kind in _OFFICER_KINDS:
        role, reason = Role.OFFICER, NoticeReason.OWING
    else:  # pragma: no cover - every kind is handled above
        raise AssertionError(kind)
    skip_muted = kind not in CRITICAL_KINDS
    for ref in units_owing:
        for p in everyone:
            if p.unit != ref.unit or p.role is not role or not p.reachable:
                continue
            if not (skip_muted and p.muted):
                add(p.person_id, ref.unit, reason)
    return notices
