"""Invite codes (stored only as hashes) and the throttle on wrong guesses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.invites import code_hash as code_hash  # re-exported: the stored form of a code
from domain.models import Invite, Role
from storage._codec import fetch_all, fetch_one, opt_ts, parse_ts, ts
from storage.db import Tx


def _invite(row: Any) -> Invite:
    return Invite(
        id=row["id"],
        unit_code=row["unit_code"],
        role=Role(row["role"]),
        max_uses=row["max_uses"],
        uses=row["uses"],
        expires_at=opt_ts(row["expires_at"]),
        created_at=parse_ts(row["created_at"]),
    )


async def create(
    tx: Tx,
    *,
    normalized_code: str,
    unit_code: str,
    role: Role,
    max_uses: int,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> Invite:
    new_id = await tx.insert(
        "INSERT INTO invites (code_hash, unit_code, role, max_uses, uses, expires_at, created_at) "
        "VALUES (?, ?, ?, ?, 0, ?, ?)",
        (
            code_hash(normalized_code),
            unit_code,
            role.value,
            max_uses,
            ts(expires_at) if expires_at else None,
            ts(now),
        ),
    )
    assert new_id is not None
    return Invite(new_id, unit_code, role, max_uses, 0, expires_at, now)


async def find(tx: Tx, hashed: str) -> Invite | None:
    """The invite whose code hashes to `hashed` (see domain.invites.code_hash)."""
    row = await fetch_one(tx, "SELECT * FROM invites WHERE code_hash = ?", (hashed,))
    return _invite(row) if row else None


async def use(tx: Tx, invite_id: int, person_id: int, now: dt.datetime) -> bool:
    """Spend one use; False when none is left (two people racing for the last use)."""
    changed = await tx.execute(
        "UPDATE invites SET uses = uses + 1 WHERE id = ? AND uses < max_uses", (invite_id,)
    )
    if changed != 1:
        return False
    await tx.execute(
        "INSERT INTO invite_uses (invite_id, person_id, at) VALUES (?, ?, ?)",
        (invite_id, person_id, ts(now)),
    )
    return True


async def record_failed_attempt(tx: Tx, channel: str, platform_id: str, now: dt.datetime) -> None:
    await tx.execute(
        "INSERT INTO start_attempts (channel, platform_id, at) VALUES (?, ?, ?)",
        (channel, platform_id, ts(now)),
    )


async def failed_attempts_since(
    tx: Tx, channel: str, platform_id: str, since: dt.datetime
) -> list[dt.datetime]:
    rows = await fetch_all(
        tx,
        "SELECT at FROM start_attempts WHERE channel = ? AND platform_id = ? AND at >= ? "
        "ORDER BY at",
        (channel, platform_id, ts(since)),
    )
    return [parse_ts(r["at"]) for r in rows]


async def clear_failed_attempts(tx: Tx, channel: str, platform_id: str) -> None:
    await tx.execute(
        "DELETE FROM start_attempts WHERE channel = ? AND platform_id = ?", (channel, platform_id)
    )
