"""Unlocking a closed period for one unit ("xin mở khóa").

A period closes for reports and edits `open_days_after_period` days after it
ends. An officer refused for that asks to unlock it with a reason; the heads
of the unit's cluster this year (or, when none is registered, the admins) get
the request with two buttons, and one tap grants it for `[reporting]
unlock_hours` or refuses it. The officer is told either way. While a grant
runs, the unit's dates in that period are accepted again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.access import Action, actor_for
from domain.errors import UserInputError
from domain.fields import DateRules
from domain.models import Person, Role
from domain.periods import Period, is_closed
from domain.settings import HandlerSettings
from domain.text import clean_text
from storage import org, people
from storage import unlocks as unlocks_repo
from storage.db import Tx
from storage.unlocks import UnlockRequest, UnlockStatus
from usecases.access import Caller, allowed, require, require_role

REASON_MAX = 500

__all__ = [
    "Asked",
    "Decided",
    "UnlockRequest",
    "UnlockStatus",
    "Waiting",
    "ask",
    "check_may_ask",
    "decide",
    "open_rules",
    "waiting",
]


async def open_rules(tx: Tx, settings: HandlerSettings, unit: str, now: dt.datetime) -> DateRules:
    """What makes a report's date acceptable for `unit` now: not in the future, not in a
    closed period unless the unit holds a running unlock for it."""
    today = now.astimezone(settings.tz).date()
    unlocked = await unlocks_repo.open_periods(tx, unit, now)
    return DateRules(today, settings.period_kind, settings.open_days_after_period, unlocked)


@dataclass(frozen=True, slots=True)
class Asked:
    """A request made, and who is to decide it (the people to tell)."""

    request: UnlockRequest
    period: Period
    asker: Person
    deciders: tuple[Person, ...]


async def _deciders(tx: Tx, unit: str, year: int) -> tuple[Person, ...]:
    """Who decides a unit's request: the registered heads of its cluster this year, else
    every admin."""
    memberships = await org.memberships(tx, year)
    cluster = memberships.get(unit)
    everyone = [p for p in await people.listing(tx, include_inactive=False)]
    heads = [
        p
        for p in everyone
        if cluster is not None and cluster[0] in actor_for(p.role, p.unit_code, memberships).heads
    ]
    return tuple(heads or [p for p in everyone if p.role is Role.ADMIN])


async def check_may_ask(
    tx: Tx, caller: Caller, settings: HandlerSettings, period: Period, now: dt.datetime
) -> str:
    """The caller's unit, when it may ask to unlock `period` now (before asking the reason):
    the period is closed, and nothing is waiting or running for it already."""
    unit = caller.actor.unit
    require(caller, Action.ASK_UNLOCK, caller.target(unit=unit))
    assert unit is not None
    today = now.astimezone(settings.tz).date()
    if period.kind is not settings.period_kind or not is_closed(
        period, today, settings.open_days_after_period
    ):
        raise UserInputError("unlock.not_closed", period=period)
    if await unlocks_repo.pending(tx, unit, period.key) is not None:
        raise UserInputError("unlock.already_asked", period=period)
    if period.key in await unlocks_repo.open_periods(tx, unit, now):
        raise UserInputError("unlock.already_open", period=period)
    return unit


async def ask(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    period: Period,
    reason: str,
    now: dt.datetime,
) -> Asked:
    """Ask to unlock `period` (a closed one, of the reporting period kind) for the caller's
    unit, saying why; one request waits per unit and period."""
    unit = await check_may_ask(tx, caller, settings, period, now)
    assert caller.actor.person_id is not None
    why = clean_text(reason).strip()
    if not why:
        raise UserInputError("unlock.reason_empty")
    if len(why) > REASON_MAX:
        raise UserInputError("unlock.reason_too_long", max=REASON_MAX, length=len(why))
    request = await unlocks_repo.ask(tx, unit, period.key, caller.actor.person_id, why, now)
    asker = await people.get(tx, caller.actor.person_id)
    assert asker is not None
    return Asked(request, period, asker, await _deciders(tx, unit, caller.year))


@dataclass(frozen=True, slots=True)
class Decided:
    """A request granted or refused, and the person who asked (to tell them)."""

    request: UnlockRequest
    period: Period
    asker: Person | None
    decider_name: str


async def decide(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    request_id: int,
    grant: bool,
    now: dt.datetime,
) -> Decided:
    """Grant (for `unlock_for`) or refuse a waiting request: the heads of the unit's cluster
    this year, or an admin. Decided already (someone was first): refused naming who."""
    request = await unlocks_repo.get(tx, request_id)
    if request is None:
        raise UserInputError("err.stale_button")
    cluster = await org.cluster_of(tx, request.unit, caller.year)
    about = caller.target(unit=request.unit, cluster=cluster.code if cluster else None)
    require(caller, Action.DECIDE_UNLOCK, about)
    period = Period.from_key(request.period_key)
    if request.status is not UnlockStatus.PENDING:
        raise await _decided_already(tx, request, period)
    status = UnlockStatus.GRANTED if grant else UnlockStatus.REFUSED
    until = now + settings.unlock_for if grant else None
    by = caller.actor.person_id
    if not await unlocks_repo.decide(tx, request.id, status, by, now, until):
        current = await unlocks_repo.get(tx, request.id)
        assert current is not None
        raise await _decided_already(tx, current, period)
    decided = await unlocks_repo.get(tx, request.id)
    assert decided is not None
    decider = await people.get(tx, by) if by is not None else None
    return Decided(
        decided, period, await people.get(tx, request.person_id), decider.name if decider else ""
    )


async def _decided_already(tx: Tx, request: UnlockRequest, period: Period) -> UserInputError:
    who = await people.get(tx, request.decided_by) if request.decided_by is not None else None
    key = (
        "unlock.granted_already"
        if request.status is UnlockStatus.GRANTED
        else "unlock.refused_already"
    )
    return UserInputError(key, period=period, who=who.name if who else "—")


@dataclass(frozen=True, slots=True)
class Waiting:
    """A request waiting for the caller's decision, with who asked (the dashboard's list)."""

    request: UnlockRequest
    period: Period
    asker: str


async def waiting(tx: Tx, caller: Caller, settings: HandlerSettings) -> list[Waiting]:
    """The requests waiting that the caller may decide (their clusters' units this year, or
    every unit for an admin), oldest first."""
    require_role(caller, Action.DECIDE_UNLOCK)
    memberships = await org.memberships(tx, caller.year)
    found = []
    for request in await unlocks_repo.pending_in(tx, list(settings.units)):
        cluster = memberships.get(request.unit)
        about = caller.target(unit=request.unit, cluster=cluster[0] if cluster else None)
        if not allowed(caller, Action.DECIDE_UNLOCK, about):
            continue
        asker = await people.get(tx, request.person_id)
        found.append(
            Waiting(request, Period.from_key(request.period_key), asker.name if asker else "—")
        )
    return found
