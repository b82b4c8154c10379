"""The inbox: every update recorded under its platform key before it is acknowledged."""

from __future__ import annotations

import datetime as dt

from domain.messages import Inbound
from storage._codec import fetch_all, fetch_one, ts
from storage.db import Tx

Key = tuple[str, str, str]


async def record(tx: Tx, inbound: Inbound, now: dt.datetime) -> int | None:
    """Store a new update; None when this key was seen before (a repeated delivery)."""
    new_id = await tx.insert(
        "INSERT INTO inbox (key, channel, chat_id, sender_id, payload_json, received_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (key) DO NOTHING",
        (
            inbound.key,
            inbound.channel,
            inbound.chat_id,
            inbound.sender_id,
            inbound.to_json(),
            ts(now),
        ),
    )
    return new_id


async def next_pending(tx: Tx, key: Key) -> tuple[int, Inbound] | None:
    """The oldest unhandled update of one conversation: updates are handled in arrival order."""
    row = await fetch_one(
        tx,
        "SELECT id, payload_json FROM inbox WHERE status = 'pending' AND channel = ? "
        "AND chat_id = ? AND sender_id = ? ORDER BY id LIMIT 1",
        key,
    )
    return (row["id"], Inbound.from_json(row["payload_json"])) if row else None


async def pending_conversations(tx: Tx) -> list[Key]:
    """Conversations with unhandled updates, e.g. after a crash."""
    rows = await fetch_all(
        tx,
        "SELECT channel, chat_id, sender_id, MIN(id) AS first FROM inbox WHERE status = 'pending' "
        "GROUP BY channel, chat_id, sender_id ORDER BY first",
    )
    return [(r["channel"], r["chat_id"], r["sender_id"]) for r in rows]


async def mark(
    tx: Tx, inbox_id: int, status: str, now: dt.datetime, error: str | None = None
) -> None:
    await tx.execute(
        "UPDATE inbox SET status = ?, handled_at = ?, error = ? WHERE id = ?",
        (status, ts(now), error, inbox_id),
    )


async def prune(tx: Tx, before: dt.datetime) -> int:
    """Forget handled updates older than `before`: their effects live in reports and the
    outbox; only pending or failed ones are kept for recovery and inspection."""
    changed = await tx.execute(
        "DELETE FROM inbox WHERE status = 'done' AND received_at < ? "
        "AND id NOT IN (SELECT inbox_id FROM outbox WHERE inbox_id IS NOT NULL)",
        (ts(before),),
    )
    return changed
