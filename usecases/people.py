"""People: who they are to the policy this year, their own settings (language, mute),
and an admin's list, deactivate, reactivate (chat /people, `thidua people` and the
dashboard, where a cluster's head and deputy also see who reports for their units).

A deactivated person gets no reminders and cannot report or use the bot; their
reports stay, and only an admin brings them back (a new invite does not).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.access import Action, Actor, actor_for
from domain.errors import AccessDenied, UserInputError
from domain.models import Cluster, ClusterRole, Language, Person, Role, Unit
from domain.settings import HandlerSettings
from storage import org, people
from storage.db import Tx
from usecases.access import Caller, allowed, cluster_or_all, require, require_role


async def role_and_place(tx: Tx, person: Person, year: int) -> tuple[Actor, Cluster | None]:
    """The person as the policy sees them this year, and the cluster they lead (if any)."""
    who = actor_for(person.role, person.unit_code, await org.memberships(tx, year))
    cluster = await org.cluster(tx, min(who.led), year) if who.led else None
    return who, cluster


async def listing(tx: Tx, caller: Caller) -> list[Person]:
    """Everyone, active or not (admins)."""
    require(caller, Action.MANAGE_PEOPLE, caller.target(federation=True))
    return await people.listing(tx)


@dataclass(frozen=True, slots=True)
class UnitPeople:
    """One unit's people, by role (admin, chair, cluster head, officer) then name."""

    unit: Unit
    cluster_role: ClusterRole | None  # the unit's place in the cluster shown (None: all units)
    people: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class PeoplePage:
    cluster: Cluster | None  # None: every unit (admins)
    units: tuple[UnitPeople, ...]
    manage: bool  # the caller may deactivate, reactivate and invite (admins)


_ROLE_ORDER = {Role.ADMIN: 0, Role.CHAIR: 1, Role.CLUSTER_HEAD: 2, Role.OFFICER: 3}


async def by_unit(
    tx: Tx, caller: Caller, settings: HandlerSettings, year: int, cluster: str | None = None
) -> PeoplePage:
    """People by unit and role: a cluster's (its head and deputy this year, admins) or,
    unnamed, everybody (admins) or the led cluster's; inactive people too, marked."""
    found_cluster = await cluster_or_all(tx, caller, Action.VIEW_PEOPLE, year, cluster)
    roles: dict[str, ClusterRole | None] = {}
    if found_cluster is None:
        codes = list(settings.units)
        found = await people.listing(tx)
    else:
        roles = {m.unit: m.role for m in found_cluster.members}
        codes = [m.unit for m in found_cluster.members if m.unit in settings.units]
        found = await people.listing(tx, unit_codes=codes)
    of_unit: dict[str, list[Person]] = {code: [] for code in codes}
    for person in found:
        of_unit.setdefault(person.unit_code, []).append(person)
    units = tuple(
        UnitPeople(
            settings.units[code],
            roles.get(code),
            tuple(sorted(of_unit[code], key=lambda p: (_ROLE_ORDER[p.role], p.name, p.id))),
        )
        for code in of_unit
        if code in settings.units
    )
    manage = allowed(caller, Action.MANAGE_PEOPLE, caller.target(federation=True))
    return PeoplePage(found_cluster, units, manage)


async def set_active(tx: Tx, caller: Caller, person_id: int, active: bool) -> Person:
    """Deactivate or reactivate one person (admins; never oneself); unknown ids are an
    input error."""
    require(caller, Action.MANAGE_PEOPLE, caller.target(federation=True))
    if person_id == caller.actor.person_id and not active:
        raise UserInputError("people.not_yourself")
    person = await people.get(tx, person_id)
    if person is None:
        raise UserInputError("people.unknown", id=person_id)
    if active:
        await people.reactivate(tx, person_id)
    else:
        await people.deactivate(tx, person_id)
    found = await people.get(tx, person_id)
    assert found is not None
    return found


async def set_language(
    tx: Tx, caller: Caller, channel: str, sender_id: str, language: Language
) -> None:
    """/lang: the person's language; before registering, the account's (kept for /start)."""
    if caller.actor.person_id is None:
        await people.set_account_language(tx, channel, sender_id, language)
    else:
        await people.set_language(tx, caller.actor.person_id, language)


async def set_muted(tx: Tx, caller: Caller, muted: bool) -> None:
    """/mute, /unmute: no reminders (or reminders again) for this person."""
    require_role(caller, Action.MUTE)
    if caller.actor.person_id is None:
        raise AccessDenied("err.not_registered")
    await people.set_muted(tx, caller.actor.person_id, muted)
