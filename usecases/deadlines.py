"""Deadlines: who owes which report of which period, and what people do about it —
/deadlines, /missing, /completeness, the answers on a reminder (report now, nothing
to report, later), and the data the scheduled reminder fan-out gathers.

Who owes what is computed from the reports and "Không có hoạt động"
declarations at the moment it is asked, so a unit that reported an hour ago is
not reminded, and a stale reminder button answers "đã báo cáo rồi".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from domain.access import Action, ActorRole, actor_for
from domain.errors import UserInputError
from domain.models import Person
from domain.obligations import (
    Completeness,
    Met,
    Obligation,
    UnitRef,
    due_moment,
    is_met,
    periods_due_between,
)
from domain.periods import Period
from domain.reminders import Recipient
from domain.settings import HandlerSettings
from domain.signing import verify
from storage import declarations, keys, org, people
from storage import reports as reports_repo
from storage.db import Tx
from usecases.access import Caller, cluster_target, require, require_role
from usecases.rates import reporting_rates


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one unit stands on one obligation and period."""

    unit: UnitRef
    met: Met


async def unit_refs(
    tx: Tx, settings: HandlerSettings, obligation: Obligation, year: int
) -> list[UnitRef]:
    """The units that owe this obligation in `year` (membership is per year)."""
    members = await org.memberships(tx, year)
    refs = []
    for code in settings.units:
        cluster = members[code][0] if code in members else None
        if obligation.applies(code, cluster):
            refs.append(UnitRef(code, cluster))
    return refs


async def standings_for(
    tx: Tx, settings: HandlerSettings, obligation: Obligation, period: Period
) -> list[Standing]:
    """Every owing unit's standing on one obligation and period (no access check: the
    scheduled fan-out and the use cases below, which checked)."""
    refs = await unit_refs(tx, settings, obligation, period.start.year)
    found = await reports_repo.in_period(tx, [r.unit for r in refs], period.start, period.end)
    declared = await declarations.for_period(tx, obligation.code, period.key)
    return [
        Standing(ref, is_met(ref.unit, obligation, period, found, declared, tz=settings.tz))
        for ref in refs
    ]


def relevant_periods(obligation: Obligation, today: dt.date) -> list[Period]:
    """The periods a person is asked about today: due within a month back, two ahead."""
    return periods_due_between(
        obligation, today - dt.timedelta(days=31), today + dt.timedelta(days=62)
    )


# ---- a unit's own deadlines -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deadline:
    obligation: Obligation
    period: Period
    due: dt.datetime
    met: Met


async def my_deadlines(
    tx: Tx, caller: Caller, settings: HandlerSettings, today: dt.date
) -> list[Deadline]:
    """/deadlines: what the caller's unit owes, by when, and whether it is done."""
    require_role(caller, Action.DEADLINES)
    return await _deadlines_of(tx, settings, caller.actor.unit, today)


async def unit_deadlines(
    tx: Tx, caller: Caller, settings: HandlerSettings, unit: str, today: dt.date
) -> list[Deadline]:
    """The same for one unit, for whoever may see that unit's progress (the dashboard's
    unit page: a cluster head's units, any unit for an admin)."""
    require_role(caller, Action.VIEW_UNIT)
    cluster = await org.cluster_of(tx, unit, today.year)
    require(
        caller,
        Action.VIEW_UNIT,
        caller.target(unit=unit, cluster=cluster.code if cluster else None),
    )
    return await _deadlines_of(tx, settings, unit, today)


async def _deadlines_of(
    tx: Tx, settings: HandlerSettings, unit: str | None, today: dt.date
) -> list[Deadline]:
    out: list[Deadline] = []
    for obligation in settings.obligations:
        for period in relevant_periods(obligation, today):
            mine = [
                s
                for s in await standings_for(tx, settings, obligation, period)
                if s.unit.unit == unit
            ]
            if mine:
                due = due_moment(obligation, period, settings.tz)
                out.append(Deadline(obligation, period, due, mine[0].met))
    return out


# ---- a cluster's or the federation's: /missing, /completeness -------------------------------


def cluster_scope(caller: Caller, action: Action) -> str | None:
    """The cluster /missing or /completeness answers for, if the policy allows: in a linked
    group the group's cluster (whoever asks), in a private chat the one the person leads
    this year; None means the whole federation (an admin in a private chat)."""
    require_role(caller, action)
    if not caller.in_group and caller.actor.role is ActorRole.ADMIN:
        target = caller.target(federation=True)
    else:
        target = cluster_target(caller)
    require(caller, action, target)
    return None if target.federation else target.cluster


@dataclass(frozen=True, slots=True)
class Missing:
    """The units that have not reported one obligation of one period."""

    obligation: Obligation
    period: Period
    units: tuple[UnitRef, ...]


async def missing(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    asked: Period | None,
    now: dt.datetime,
) -> list[Missing]:
    """/missing [period]: who has not reported (cluster heads: their cluster; admins in
    private: everyone); without a period, each obligation's latest due one."""
    cluster = cluster_scope(caller, Action.MISSING)
    today = now.astimezone(settings.tz).date()
    out: list[Missing] = []
    for obligation in settings.obligations:
        if asked is not None:
            periods = [asked] if obligation.covers(asked) else []
        else:
            due = [
                p
                for p in relevant_periods(obligation, today)
                if due_moment(obligation, p, settings.tz) <= now
            ]
            periods = due[-1:]
        for period in periods:
            rows = tuple(
                s.unit
                for s in await standings_for(tx, settings, obligation, period)
                if not s.met.met and (cluster is None or s.unit.cluster == cluster)
            )
            out.append(Missing(obligation, period, rows))
    return out


async def completeness(
    tx: Tx, caller: Caller, settings: HandlerSettings, period: Period, now: dt.datetime
) -> tuple[list[UnitRef], dict[str, Completeness]]:
    """/completeness [period]: the units asked about, and per obligation their reports sent
    of those due, and on time (the one rate: usecases.rates)."""
    cluster = cluster_scope(caller, Action.COMPLETENESS)
    members = await org.memberships(tx, period.year)
    refs = [
        UnitRef(code, members[code][0] if code in members else None)
        for code in settings.units
        if cluster is None or (code in members and members[code][0] == cluster)
    ]
    return refs, await reporting_rates(tx, settings, refs, period, now)


# ---- the buttons on a reminder --------------------------------------------------------------


async def verified_button(tx: Tx, channel: str, chat_id: str, data: str) -> str | None:
    """The button's data when the bot signed it for this very chat; None otherwise."""
    return verify(await keys.key(tx, keys.BUTTONS), channel, chat_id, data)


async def my_standing(
    tx: Tx, caller: Caller, settings: HandlerSettings, obligation: Obligation, period: Period
) -> Standing:
    """The caller's unit's standing on a reminder's obligation and period."""
    unit = caller.actor.unit
    require(caller, Action.ANSWER_REMINDER, caller.target(unit=unit))
    found = next(
        (s for s in await standings_for(tx, settings, obligation, period) if s.unit.unit == unit),
        None,
    )
    if found is None:
        raise UserInputError("reminder.not_your_obligation")
    return found


async def declare_nothing(
    tx: Tx, caller: Caller, obligation: Obligation, period: Period, now: dt.datetime
) -> None:
    """ "Không có hoạt động": the unit had nothing to report this period."""
    unit = caller.actor.unit
    require(caller, Action.ANSWER_REMINDER, caller.target(unit=unit))
    assert unit is not None and caller.actor.person_id is not None
    await declarations.declare(tx, unit, obligation.code, period.key, caller.actor.person_id, now)


async def snooze(
    tx: Tx, caller: Caller, obligation: Obligation, period: Period, until: dt.datetime
) -> None:
    """ "⏰ Nhắc lại sau": no reminder of this until `until`, then one."""
    require(caller, Action.ANSWER_REMINDER, caller.target(unit=caller.actor.unit))
    assert caller.actor.person_id is not None
    await declarations.snooze(tx, caller.actor.person_id, obligation.code, period.key, until)


# ---- what the scheduled fan-out gathers (no caller: the bot itself) -------------------------


async def button_key(tx: Tx) -> bytes:
    """The key reminder buttons are signed with (made on first use)."""
    return await keys.key(tx, keys.BUTTONS)


async def recipients(
    tx: Tx, refs: Sequence[UnitRef], year: int
) -> tuple[list[Recipient], dict[int, Person]]:
    """The people of these units; a cluster head's digest goes to whoever heads the
    cluster in `year` (from that year's membership, not the role stored on the person)."""
    memberships = await org.memberships(tx, year)
    found = await people.in_units(tx, [r.unit for r in refs])
    out = []
    for p in found:
        heads = actor_for(p.role, p.unit_code, memberships).heads
        out.append(
            Recipient(
                person_id=p.id,
                unit=p.unit_code,
                role=p.role,
                muted=p.muted,
                reachable=not p.unreachable,
                cluster=min(heads) if heads else None,
            )
        )
    return out, {p.id: p for p in found}


async def snoozed_until(
    tx: Tx, person_id: int, obligation: str, period_key: str
) -> dt.datetime | None:
    return await declarations.snoozed_until(tx, person_id, obligation, period_key)


async def snoozes_ending(
    tx: Tx, start: dt.datetime, end: dt.datetime
) -> list[tuple[Person, str, str, dt.datetime]]:
    """(person, obligation, period, until) for snoozes ending in (start, end], of people
    still active and reachable."""
    out = []
    for person_id, code, period_key, until in await declarations.snoozes_ending(tx, start, end):
        person = await people.get(tx, person_id)
        if person is not None and person.active and not person.unreachable:
            out.append((person, code, period_key, until))
    return out
