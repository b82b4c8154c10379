"""Linking: a cluster's group chat to its cluster (/linkgroup), and one person's second
messenger to their account (/link codes), and which messenger reminders go to (/channel).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from domain.access import Action, ActorRole
from domain.errors import AccessDenied, UserInputError
from domain.invites import RANDOM_BYTES, code_from_bytes, code_hash, typed_hash
from domain.models import Cluster, Person
from domain.settings import HandlerSettings
from domain.text import fold
from storage import invites, org, people
from storage import targets as targets_repo
from storage.db import Tx
from usecases.access import Caller, require, require_role

LINK_CODE_LIFETIME = dt.timedelta(minutes=15)
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "console"}


async def link_group(
    tx: Tx, caller: Caller, channel: str, chat_id: str, typed: str, now: dt.datetime
) -> Cluster:
    """/linkgroup in a cluster's group: scheduled standings go there.

    The cluster heads of this year link their own cluster's group; an admin may name one
    (`/linkgroup cum2`). A group already linked to another cluster is relinked only by
    someone the policy lets link that cluster too, so nobody takes over another's group.
    """
    require_role(caller, Action.LINKGROUP)
    if not caller.in_group:
        raise UserInputError("standings.linkgroup_in_group")
    who = caller.actor
    wanted = fold(typed.strip())
    if wanted and who.role is ActorRole.ADMIN:
        code: str | None = wanted
    elif who.heads:
        code = sorted(who.heads)[0]
    else:
        code = who.cluster
    cluster = await org.cluster(tx, code, caller.year) if code else None
    if cluster is None:
        raise UserInputError("standings.no_cluster", year=caller.year)
    existing = caller.group_cluster
    if existing is not None and existing != cluster.code:
        require(caller, Action.LINKGROUP, caller.target(cluster=existing))
    require(caller, Action.LINKGROUP, caller.target(cluster=cluster.code))
    assert who.person_id is not None  # LINKGROUP: registered heads and admins only
    await targets_repo.link_group(tx, channel, chat_id, cluster.code, who.person_id, now)
    return cluster


async def new_link_code(tx: Tx, caller: Caller, now: dt.datetime) -> str:
    """A one-time code (only its hash is stored) the person types on their other messenger."""
    if caller.actor.person_id is None:
        raise AccessDenied("err.not_registered")
    code = code_from_bytes(secrets.token_bytes(RANDOM_BYTES))
    await people.create_link_code(
        tx, caller.actor.person_id, code_hash(code), now + LINK_CODE_LIFETIME
    )
    return code


async def check_not_locked(
    tx: Tx, settings: HandlerSettings, channel: str, sender_id: str, now: dt.datetime
) -> int:
    """Refuse while this account has used up its tries of codes (/start, /link); else the
    number of failed tries in the window."""
    fails = await invites.failed_attempts_since(
        tx, channel, sender_id, now - settings.start_lockout
    )
    limit = settings.start_attempts
    if len(fails) >= limit:
        free_at = fails[-limit] + settings.start_lockout
        minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
        raise UserInputError("start.locked", minutes=minutes)
    return len(fails)


async def redeem_link_code(
    tx: Tx,
    settings: HandlerSettings,
    channel: str,
    sender_id: str,
    typed: str,
    now: dt.datetime,
) -> Person | None:
    """/link CODE on the other messenger: this account becomes the person's too. None for
    a wrong code: the try is recorded (it counts towards the lockout), so it is an answer,
    not an error that would undo it."""
    await check_not_locked(tx, settings, channel, sender_id, now)
    hashed = typed_hash(typed)
    person_id = await people.use_link_code(tx, hashed, now) if hashed else None
    if person_id is None:
        await invites.record_failed_attempt(tx, channel, sender_id, now)
        return None
    person = await people.get(tx, person_id)
    if person is None or not person.active:
        raise UserInputError("people.you_are_deactivated")
    await people.add_identity(tx, person_id, channel, sender_id, now)
    return person


async def set_channel(tx: Tx, caller: Caller, wanted: str) -> str:
    """/channel zalo|telegram: where reminders go when a person uses both; the name shown."""
    require_role(caller, Action.CHANNEL)
    assert caller.actor.person_id is not None  # CHANNEL: registered people only
    if wanted not in CHANNEL_NAMES or wanted == "console":
        raise UserInputError("link.channel_usage")
    accounts = {c for c, _ in await people.channels_of(tx, caller.actor.person_id)}
    if wanted not in accounts:
        raise UserInputError("link.channel_not_linked", channel=CHANNEL_NAMES[wanted])
    await people.set_preferred_channel(tx, caller.actor.person_id, wanted)
    return CHANNEL_NAMES[wanted]
