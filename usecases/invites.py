"""Invites: an admin (the command line, or the dashboard in bulk: one per unit) makes a
code for a unit and role; a person types it at /start (or opens its link) and is
registered. Only a code's hash is stored: it is shown once, when it is made.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from domain.access import Action
from domain.errors import UserInputError
from domain.invites import RANDOM_BYTES, code_from_bytes, display, typed_hash
from domain.models import Invite, Language, Person, Role
from domain.settings import HandlerSettings
from storage import invites, org, people
from storage.db import Tx
from usecases.access import Caller, require
from usecases.linking import check_not_locked


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    invite: Invite
    code: str

    @property
    def shown(self) -> str:
        return display(self.code)


async def create_invite(
    tx: Tx,
    caller: Caller,
    *,
    unit_code: str,
    role: Role,
    uses: int,
    expires_in: dt.timedelta | None,
    now: dt.datetime,
    random: bytes | None = None,
) -> IssuedInvite:
    """A fresh code; only its hash is stored, so it is shown exactly once."""
    require(caller, Action.MANAGE_PEOPLE, caller.target(unit=unit_code))
    if await org.unit(tx, unit_code) is None:
        raise UserInputError("err.unknown_unit", text=unit_code, suggestions="—")
    if uses < 1:
        raise UserInputError("err.below_min", value=uses, min=1)
    code = code_from_bytes(random if random is not None else secrets.token_bytes(RANDOM_BYTES))
    invite = await invites.create(
        tx,
        normalized_code=code,
        unit_code=unit_code,
        role=role,
        max_uses=uses,
        expires_at=now + expires_in if expires_in else None,
        now=now,
    )
    return IssuedInvite(invite, code)


MAX_BULK = 500
"""Invites made at once: a few clusters' units, or a province's, on one printable page."""


async def create_invites(
    tx: Tx,
    caller: Caller,
    *,
    unit_codes: Sequence[str],
    role: Role,
    uses: int,
    expires_in: dt.timedelta | None,
    now: dt.datetime,
) -> list[IssuedInvite]:
    """One fresh invite per unit (each unit once, in the order given), all or none."""
    units = list(dict.fromkeys(unit_codes))
    if not units:
        raise UserInputError("web.invites.no_units")
    if len(units) > MAX_BULK:
        raise UserInputError("web.invites.too_many", count=len(units), most=MAX_BULK)
    return [
        await create_invite(
            tx, caller, unit_code=code, role=role, uses=uses, expires_in=expires_in, now=now
        )
        for code in units
    ]


def parse_duration(text: str) -> dt.timedelta:
    """ "7d", "12h", "30m", "2w" — how long an invite stays valid."""
    text = text.strip().lower()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"duration like 7d, 12h or 30m expected, got {text!r}")
    return dt.timedelta(**{units[text[-1]]: int(text[:-1])})


@dataclass(frozen=True, slots=True)
class BadCode:
    """A code that is no invite: the try is recorded (it counts towards the lockout), so
    this is an answer, not an error that would undo it. `left`: tries before the lockout."""

    left: int


async def register(
    tx: Tx,
    settings: HandlerSettings,
    *,
    channel: str,
    sender_id: str,
    name: str,
    language: Language,
    typed: str,
    now: dt.datetime,
) -> Person | BadCode:
    """/start CODE: the person of this account, of the invite's unit and role."""
    fails = await check_not_locked(tx, settings, channel, sender_id, now)
    hashed = typed_hash(typed)
    invite = await invites.find(tx, hashed) if hashed else None
    if invite is None:
        await invites.record_failed_attempt(tx, channel, sender_id, now)
        return BadCode(settings.start_attempts - fails - 1)
    if invite.expires_at is not None and now >= invite.expires_at:
        raise UserInputError("start.expired")
    if invite.uses >= invite.max_uses:
        raise UserInputError("start.used_up")
    person = await people.create(
        tx,
        name=name,
        unit_code=invite.unit_code,
        role=invite.role,
        language=language,
        channel=channel,
        platform_id=sender_id,
        now=now,
    )
    used = await invites.use(tx, invite.id, person.id, now)
    assert used, "the write lock makes the usable-check and the use atomic"
    await invites.clear_failed_attempts(tx, channel, sender_id)
    return person
