"""The dashboard's sign-in links and sessions: only SHA-256 hashes of their tokens are kept,
so a copy of the database signs nobody in."""

from __future__ import annotations

import datetime as dt

from storage._codec import fetch_one, ts
from storage.db import Tx


async def add_link(tx: Tx, token_hash: str, person_id: int, expires_at: dt.datetime) -> None:
    await tx.execute(
        "INSERT INTO web_links (token_hash, person_id, expires_at) VALUES (?, ?, ?)",
        (token_hash, person_id, ts(expires_at)),
    )


async def use_link(tx: Tx, token_hash: str, now: dt.datetime) -> int | None:
    """The person of a valid, unused, unexpired link, the link spent (exactly once: the
    UPDATE's condition decides between two racing uses)."""
    row = await fetch_one(
        tx,
        "SELECT person_id FROM web_links "
        "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (token_hash, ts(now)),
    )
    if row is None:
        return None
    spent = await tx.execute(
        "UPDATE web_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        (ts(now), token_hash),
    )
    return int(row["person_id"]) if spent == 1 else None


async def add_session(
    tx: Tx, token_hash: str, person_id: int, via: str, now: dt.datetime, expires_at: dt.datetime
) -> None:
    await tx.execute(
        "INSERT INTO web_sessions (token_hash, person_id, via, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (token_hash, person_id, via, ts(now), ts(expires_at)),
    )


async def session(tx: Tx, token_hash: str, now: dt.datetime) -> tuple[int, str] | None:
    """(person, how they signed in) of a live session: not revoked, not expired."""
    row = await fetch_one(
        tx,
        "SELECT person_id, via FROM web_sessions "
        "WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
        (token_hash, ts(now)),
    )
    return (int(row["person_id"]), str(row["via"])) if row else None


async def revoke(tx: Tx, token_hash: str, now: dt.datetime) -> None:
    await tx.execute(
        "UPDATE web_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
        (ts(now), token_hash),
    )


async def purge(tx: Tx, before: dt.datetime) -> int:
    """Forget links and sessions that ended (expired, or signed out) before `before`: they
    can never sign anyone in again, and the tables would otherwise only grow."""
    removed = await tx.execute("DELETE FROM web_links WHERE expires_at < ?", (ts(before),))
    removed += await tx.execute(
        "DELETE FROM web_sessions WHERE expires_at < ? OR revoked_at < ?",
        (ts(before), ts(before)),
    )
    return removed
