"""People and the messenger identities that point at them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.models import Language, Person, Role
from storage._codec import fetch_all, fetch_one, ts
from storage.db import Tx

_COLUMNS = "p.id, p.name, p.unit_code, p.role, p.language, p.active, p.muted, p.unreachable_at"


def _person(row: Any) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        unit_code=row["unit_code"],
        role=Role(row["role"]),
        language=Language(row["language"]),
        active=bool(row["active"]),
        muted=bool(row["muted"]),
        unreachable=row["unreachable_at"] is not None,
    )


async def by_identity(tx: Tx, channel: str, platform_id: str) -> Person | None:
    """The person behind a messenger account, if registered, active or not: a deactivated
    person is told so (and cannot register again with a new invite)."""
    row = await fetch_one(
        tx,
        f"SELECT {_COLUMNS} FROM identities i JOIN people p ON p.id = i.person_id "
        "WHERE i.channel = ? AND i.platform_id = ?",
        (channel, platform_id),
    )
    return _person(row) if row else None


async def get(tx: Tx, person_id: int) -> Person | None:
    row = await fetch_one(tx, f"SELECT {_COLUMNS} FROM people p WHERE p.id = ?", (person_id,))
    return _person(row) if row else None


async def create(
    tx: Tx,
    *,
    name: str,
    unit_code: str,
    role: Role,
    language: Language,
    channel: str,
    platform_id: str,
    now: dt.datetime,
) -> Person:
    """A new person with their first identity; an old identity of the account is moved over."""
    person_id = await tx.insert(
        "INSERT INTO people (name, unit_code, role, language, active, created_at) "
        "VALUES (?, ?, ?, ?, 1, ?)",
        (name, unit_code, role.value, language.value, ts(now)),
    )
    assert person_id is not None
    await tx.execute(
        "INSERT INTO identities (channel, platform_id, person_id, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (channel, platform_id) DO UPDATE SET person_id = excluded.person_id",
        (channel, platform_id, person_id, ts(now)),
    )
    return Person(person_id, name, unit_code, role, language, True)


async def deactivate(tx: Tx, person_id: int) -> bool:
    """Stop reminders and reporting for someone who left; their reports stay. False when
    there is no such person."""
    changed = await tx.execute("UPDATE people SET active = 0 WHERE id = ?", (person_id,))
    return changed == 1


async def reactivate(tx: Tx, person_id: int) -> bool:
    changed = await tx.execute("UPDATE people SET active = 1 WHERE id = ?", (person_id,))
    return changed == 1


async def listing(
    tx: Tx, *, include_inactive: bool = True, unit_codes: list[str] | None = None
) -> list[Person]:
    """Everybody (or the people of these units), by unit then id: for `thidua people list`,
    `/people` and the dashboard's people page."""
    conditions = [] if include_inactive else ["p.active = 1"]
    params: list[str] = []
    if unit_codes is not None:
        if not unit_codes:
            return []
        conditions.append(f"p.unit_code IN ({','.join('?' * len(unit_codes))})")
        params = list(unit_codes)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = await fetch_all(
        tx, f"SELECT {_COLUMNS} FROM people p{where} ORDER BY p.unit_code, p.id", params
    )
    return [_person(r) for r in rows]


async def account_language(tx: Tx, channel: str, platform_id: str) -> Language | None:
    """The language an unregistered account chose with /lang (registration keeps it)."""
    row = await fetch_one(
        tx,
        "SELECT language FROM account_languages WHERE channel = ? AND platform_id = ?",
        (channel, platform_id),
    )
    return Language(row["language"]) if row else None


async def set_account_language(tx: Tx, channel: str, platform_id: str, language: Language) -> None:
    await tx.execute(
        "INSERT INTO account_languages (channel, platform_id, language) VALUES (?, ?, ?) "
        "ON CONFLICT (channel, platform_id) DO UPDATE SET language = excluded.language",
        (channel, platform_id, language.value),
    )


async def set_language(tx: Tx, person_id: int, language: Language) -> None:
    await tx.execute("UPDATE people SET language = ? WHERE id = ?", (language.value, person_id))


async def set_muted(tx: Tx, person_id: int, muted: bool) -> None:
    await tx.execute("UPDATE people SET muted = ? WHERE id = ?", (int(muted), person_id))


async def mark_unreachable(
    tx: Tx, channel: str, platform_id: str, reason: str, now: dt.datetime
) -> int | None:
    """The person behind a private chat that refused delivery (blocked the bot, deleted)."""
    row = await fetch_one(
        tx,
        "SELECT person_id FROM identities WHERE channel = ? AND platform_id = ?",
        (channel, platform_id),
    )
    if row is None:
        return None
    await tx.execute(
        "UPDATE people SET unreachable_at = ?, unreachable_reason = ? WHERE id = ?",
        (ts(now), reason[:300], row["person_id"]),
    )
    return int(row["person_id"])


async def mark_reachable(tx: Tx, person_id: int) -> None:
    """They wrote to the bot again, so messages reach them."""
    await tx.execute(
        "UPDATE people SET unreachable_at = NULL, unreachable_reason = NULL WHERE id = ? "
        "AND unreachable_at IS NOT NULL",
        (person_id,),
    )


async def in_units(tx: Tx, unit_codes: list[str]) -> list[Person]:
    """Active people of these units, for reminders and digests."""
    if not unit_codes:
        return []
    marks = ",".join("?" * len(unit_codes))
    rows = await fetch_all(
        tx,
        f"SELECT {_COLUMNS} FROM people p WHERE p.active = 1 AND p.unit_code IN ({marks}) "
        "ORDER BY p.id",
        unit_codes,
    )
    return [_person(r) for r in rows]


async def channels_of(tx: Tx, person_id: int) -> list[tuple[str, str]]:
    """(channel, platform id) of a person's accounts: the preferred channel first."""
    rows = await fetch_all(
        tx,
        "SELECT i.channel, i.platform_id, p.preferred_channel FROM identities i "
        "JOIN people p ON p.id = i.person_id WHERE i.person_id = ? ORDER BY i.created_at",
        (person_id,),
    )
    ordered = sorted(rows, key=lambda r: r["channel"] != r["preferred_channel"])
    return [(r["channel"], r["platform_id"]) for r in ordered]


async def add_identity(
    tx: Tx, person_id: int, channel: str, platform_id: str, now: dt.datetime
) -> None:
    """Link another messenger account to the same person."""
    await tx.execute(
        "INSERT INTO identities (channel, platform_id, person_id, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (channel, platform_id) DO UPDATE SET person_id = excluded.person_id",
        (channel, platform_id, person_id, ts(now)),
    )


async def set_preferred_channel(tx: Tx, person_id: int, channel: str) -> None:
    await tx.execute("UPDATE people SET preferred_channel = ? WHERE id = ?", (channel, person_id))


async def create_link_code(tx: Tx, person_id: int, code_hash: str, expires_at: dt.datetime) -> None:
    await tx.execute(
        "INSERT INTO link_codes (code_hash, person_id, expires_at) VALUES (?, ?, ?)",
        (code_hash, person_id, ts(expires_at)),
    )


async def use_link_code(tx: Tx, code_hash: str, now: dt.datetime) -> int | None:
    """The person a valid, unused, unexpired link code belongs to (the code is spent)."""
    row = await fetch_one(
        tx,
        "SELECT person_id FROM link_codes "
        "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
        (code_hash, ts(now)),
    )
    if row is None:
        return None
    await tx.execute("UPDATE link_codes SET used_at = ? WHERE code_hash = ?", (ts(now), code_hash))
    return int(row["person_id"])


async def subscribe_posts(tx: Tx, person_id: int, now: dt.datetime) -> bool:
    """The person gets their cluster's scheduled standings posts in private; False if already."""
    changed = await tx.execute(
        "INSERT INTO post_subscriptions (person_id, subscribed_at) VALUES (?, ?) "
        "ON CONFLICT (person_id) DO NOTHING",
        (person_id, ts(now)),
    )
    return changed == 1


async def unsubscribe_posts(tx: Tx, person_id: int) -> bool:
    """No more private posts; False when the person was not subscribed."""
    changed = await tx.execute("DELETE FROM post_subscriptions WHERE person_id = ?", (person_id,))
    return changed == 1


async def post_subscribers(tx: Tx, unit_codes: list[str]) -> list[Person]:
    """Active subscribers among these units' people, oldest subscription first."""
    if not unit_codes:
        return []
    marks = ",".join("?" * len(unit_codes))
    rows = await fetch_all(
        tx,
        f"SELECT {_COLUMNS} FROM post_subscriptions s JOIN people p ON p.id = s.person_id "
        f"WHERE p.active = 1 AND p.unit_code IN ({marks}) ORDER BY s.subscribed_at, p.id",
        unit_codes,
    )
    return [_person(r) for r in rows]
