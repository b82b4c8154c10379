"""Signing in to the dashboard without a password: a one-time link sent in the chat, or
Telegram's Mini App initData; then a session the server can revoke.

Tokens are random (256 bits) and only their SHA-256 hashes are stored (storage/web.py):
a link is valid `lifetime`, used once, bound to the person who asked for it; a session
ends at its expiry or when signed out, whatever the browser still holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from domain.access import Action
from domain.models import Person
from storage import keys, people
from storage import web as web_repo
from storage.db import Tx
from usecases.access import Caller, actor_of, can_ever, require_role

LINK_LIFETIME = dt.timedelta(minutes=10)
#: How long an ended link or session is kept before the purge forgets it: a day, so that
#: someone asking "why was I signed out?" this morning still finds the row.
PURGE_GRACE = dt.timedelta(days=1)
KEY_NAME = "web"  # the database-made key sessions are signed with when none is configured
TELEGRAM = "telegram"


def token_hash(token: str) -> str:
    """The stored form of a link or session token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who, how they signed in (``link`` or ``telegram``), and the token
    the cookie carries."""

    person: Person
    via: str
    token: str


async def new_link(tx: Tx, caller: Caller, now: dt.datetime) -> str:
    """/web: a one-time sign-in token for the caller (roles that have pages only)."""
    require_role(caller, Action.WEB)
    assert caller.actor.person_id is not None  # WEB: registered roles only
    token = secrets.token_urlsafe(32)
    await web_repo.add_link(tx, token_hash(token), caller.actor.person_id, now + LINK_LIFETIME)
    return token


async def _start(
    tx: Tx, person: Person | None, via: str, now: dt.datetime, lifetime: dt.timedelta
) -> Session | None:
    if person is None or not person.active:
        return None
    if not can_ever(Caller(await actor_of(tx, person, now.year), now.year), Action.WEB):
        return None
    token = secrets.token_urlsafe(32)
    await web_repo.add_session(tx, token_hash(token), person.id, via, now, now + lifetime)
    return Session(person, via, token)


async def redeem_link(
    tx: Tx, token: str, now: dt.datetime, lifetime: dt.timedelta
) -> Session | None:
    """A session for the link's person; None when the link is unknown, used or expired."""
    person_id = await web_repo.use_link(tx, token_hash(token), now)
    if person_id is None:
        return None
    return await _start(tx, await people.get(tx, person_id), "link", now, lifetime)


async def telegram_session(
    tx: Tx, telegram_user: str, now: dt.datetime, lifetime: dt.timedelta
) -> Session | None:
    """A session for the person behind a Telegram account (its initData already checked)."""
    person = await people.by_identity(tx, TELEGRAM, telegram_user)
    return await _start(tx, person, TELEGRAM, now, lifetime)


async def session(tx: Tx, token: str, now: dt.datetime) -> Session | None:
    """The live session of a cookie's token (a deactivated person has none)."""
    found = await web_repo.session(tx, token_hash(token), now)
    if found is None:
        return None
    person = await people.get(tx, found[0])
    if person is None or not person.active:
        return None
    return Session(person, found[1], token)


async def sign_out(tx: Tx, token: str, now: dt.datetime) -> None:
    await web_repo.revoke(tx, token_hash(token), now)


async def signing_key(tx: Tx) -> bytes:
    """The key cookies and CSRF tokens are signed with when no THIDUA_WEB_SECRET is set:
    made by the bot on first use, kept in its database, never logged."""
    return await keys.key(tx, KEY_NAME)


async def purge(tx: Tx, now: dt.datetime) -> int:
    """Housekeeping (no caller: the scheduler's own work): forget the links and sessions
    that ended, expired or signed out, more than `PURGE_GRACE` before `now`."""
    return await web_repo.purge(tx, now - PURGE_GRACE)
