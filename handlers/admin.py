"""Federation staff's actions that are not chat flows: invites, for now."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from domain.errors import UserInputError
from domain.invites import RANDOM_BYTES, code_from_bytes, display
from domain.models import Invite, Role
from storage import invites, org
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    invite: Invite
    code: str

    @property
    def shown(self) -> str:
        return display(self.code)


async def create_invite(
    tx: Tx,
    *,
    unit_code: str,
    role: Role,
    uses: int,
    expires_in: dt.timedelta | None,
    now: dt.datetime,
    random: bytes | None = None,
) -> IssuedInvite:
    """A fresh code; only its hash is stored, so it is shown exactly once."""
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


def parse_duration(text: str) -> dt.timedelta:
    """ "7d", "12h", "30m", "2w" — how long an invite stays valid."""
    text = text.strip().lower()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"duration like 7d, 12h or 30m expected, got {text!r}")
    return dt.timedelta(**{units[text[-1]]: int(text[:-1])})
