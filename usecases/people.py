"""People: who they are to the policy this year, their own settings (language, mute),
and an admin's list, deactivate, reactivate (chat /people and `thidua people`).

A deactivated person gets no reminders and cannot report or use the bot; their
reports stay, and only an admin brings them back (a new invite does not).
"""

from __future__ import annotations

from domain.access import Action, Actor, actor_for
from domain.errors import AccessDenied, UserInputError
from domain.models import Cluster, Language, Person
from storage import org, people
from storage.db import Tx
from usecases.access import Caller, require, require_role


async def role_and_place(tx: Tx, person: Person, year: int) -> tuple[Actor, Cluster | None]:
    """The person as the policy sees them this year, and the cluster they lead (if any)."""
    who = actor_for(person.role, person.unit_code, await org.memberships(tx, year))
    cluster = await org.cluster(tx, min(who.led), year) if who.led else None
    return who, cluster


async def listing(tx: Tx, caller: Caller) -> list[Person]:
    """Everyone, active or not (admins)."""
    require(caller, Action.MANAGE_PEOPLE, caller.target(federation=True))
    return await people.listing(tx)


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
