"""The outbox: every message the bot sends is a row first, delivered in order per chat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from domain.messages import DeliveryStatus, OutboxItem, Reply
from storage._codec import fetch_all, parse_ts, ts
from storage.db import Tx


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        reply=Reply.from_json(row["payload_json"]),
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=parse_ts(row["next_attempt_at"]),
        created_at=parse_ts(row["created_at"]),
        last_error=row["last_error"],
        platform_message_id=row["platform_message_id"],
        reply_to_inbox=row["inbox_id"],
    )


# Once delivered (or given up on), a secret shown once is replaced by its masked text.
_FORGET = "payload_json = COALESCE(after_delivery_json, payload_json), after_delivery_json = NULL"


async def enqueue(
    tx: Tx,
    channel: str,
    chat_id: str,
    reply: Reply,
    now: dt.datetime,
    inbox_id: int | None = None,
    *,
    dedupe_key: str | None = None,
    not_before: dt.datetime | None = None,
    after_delivery: Reply | None = None,
) -> int | None:
    """A new row; None when a row with the same dedupe key exists (sent once, ever).

    `after_delivery` replaces the stored message once it is delivered or given up on:
    a secret shown once (a /link code) is not kept for the 30 days rows live.
    """
    new_id = await tx.insert(
        "INSERT INTO outbox (channel, chat_id, payload_json, status, attempts, next_attempt_at, "
        "created_at, inbox_id, dedupe_key, after_delivery_json) "
        "VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (
            channel,
            chat_id,
            reply.to_json(),
            ts(not_before or now),
            ts(now),
            inbox_id,
            dedupe_key,
            after_delivery.to_json() if after_delivery else None,
        ),
    )
    return new_id


async def due(
    tx: Tx,
    channel: str,
    now: dt.datetime,
    *,
    busy_chats: Collection[str] = (),
    limit: int = 500,
    owner: str | None = None,
) -> list[OutboxItem]:
    """Pending rows whose chat has nothing earlier still waiting, oldest first.

    A chat whose oldest pending row is not yet due is held back entirely, so a
    retry never lets a later message overtake an earlier one. With `owner` (several
    processes share the database), a chat another process holds a live lease on is
    left to that process.
    """
    leased = (
        ""
        if owner is None
        else " AND (o.lease_until IS NULL OR o.lease_owner = ? OR o.lease_until <= ?)"
    )
    params: tuple[object, ...] = (channel, channel, ts(now))
    if owner is not None:
        params += (owner, ts(now))
    heads = [
        _item(r)
        for r in await fetch_all(
            tx,
            "SELECT o.* FROM outbox o WHERE o.status = 'pending' AND o.channel = ? AND o.id IN ("
            " SELECT MIN(id) FROM outbox WHERE status = 'pending' AND channel = ? GROUP BY chat_id"
            f") AND o.next_attempt_at <= ?{leased} ORDER BY o.id LIMIT ?",
            (*params, limit),
        )
    ]
    return [h for h in heads if h.chat_id not in busy_chats]


async def lease_chats(
    tx: Tx, channel: str, chats: Collection[str], owner: str, now: dt.datetime, until: dt.datetime
) -> dict[str, list[OutboxItem]]:
    """Lease every pending row of these chats to `owner` until `until`; returns each chat
    leased with its pending rows, oldest first.

    A chat is all or nothing: one with a row another process holds a live lease on is
    left out, and so is one another process is leasing right now (a lock per chat for
    the transaction), so two processes never both hold rows of one chat and its
    messages keep their order.
    """
    if not chats:
        return {}
    wanted = sorted(set(chats))
    taken = await tx.together(*(tx.try_lock(f"outbox:{channel}:{chat}") for chat in wanted))
    free = [chat for chat, ok in zip(wanted, taken, strict=True) if ok]
    if not free:
        return {}
    marks = ",".join("?" * len(free))
    held = await fetch_all(
        tx,
        "SELECT DISTINCT chat_id FROM outbox WHERE status = 'pending' AND channel = ? "
        f"AND chat_id IN ({marks}) AND lease_owner IS NOT NULL AND lease_owner <> ? "
        "AND lease_until > ?",
        (channel, *free, owner, ts(now)),
    )
    others = {r[0] for r in held}
    mine = [chat for chat in free if chat not in others]
    if not mine:
        return {}
    marks = ",".join("?" * len(mine))
    _, rows = await tx.together(
        tx.execute(
            "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE status = 'pending' "
            f"AND channel = ? AND chat_id IN ({marks})",
            (owner, ts(until), channel, *mine),
        ),
        fetch_all(
            tx,
            "SELECT * FROM outbox WHERE status = 'pending' AND channel = ? "
            f"AND chat_id IN ({marks}) ORDER BY id",
            (channel, *mine),
        ),
    )
    backlogs: dict[str, list[OutboxItem]] = {chat: [] for chat in mine}
    for row in rows:
        backlogs[row["chat_id"]].append(_item(row))
    return backlogs


async def renew_leases(tx: Tx, channel: str, owner: str, until: dt.datetime) -> int:
    """Keep `owner`'s leases on its pending rows alive until `until`."""
    return await tx.execute(
        "UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND status = 'pending' "
        "AND channel = ?",
        (ts(until), owner, channel),
    )


async def release_leases(tx: Tx, channel: str, owner: str) -> int:
    """Give `owner`'s pending rows back at once (a clean stop): others need not wait."""
    return await tx.execute(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL "
        "WHERE lease_owner = ? AND status = 'pending' AND channel = ?",
        (owner, channel),
    )


async def pending_chats(tx: Tx, channel: str) -> set[str]:
    rows = await fetch_all(
        tx,
        "SELECT DISTINCT chat_id FROM outbox WHERE status = 'pending' AND channel = ?",
        (channel,),
    )
    return {r[0] for r in rows}


async def chat_backlog(tx: Tx, channel: str, chat_id: str, limit: int = 50) -> list[OutboxItem]:
    return [
        _item(r)
        for r in await fetch_all(
            tx,
            "SELECT * FROM outbox WHERE status = 'pending' AND channel = ? AND chat_id = ? "
            "ORDER BY id LIMIT ?",
            (channel, chat_id, limit),
        )
    ]


async def next_due_at(tx: Tx, channel: str, exclude: Collection[int] = ()) -> dt.datetime | None:
    """When the earliest pending row (other than those already being sent) is due."""
    rows = await fetch_all(
        tx,
        "SELECT id, next_attempt_at FROM outbox WHERE status = 'pending' AND channel = ? "
        "ORDER BY next_attempt_at LIMIT ?",
        (channel, len(exclude) + 1),
    )
    times = [parse_ts(r[1]) for r in rows if r[0] not in exclude]
    return times[0] if times else None


async def mark_sent_many(tx: Tx, sent: list[tuple[int, dt.datetime, str]]) -> None:
    """Acknowledge a batch of deliveries (id, when, platform message id) in one go."""
    await tx.executemany(
        f"UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, {_FORGET}, "
        "platform_message_id = ?, last_error = NULL WHERE id = ?",
        [(ts(at), message_id, item_id) for item_id, at, message_id in sent],
    )
    await tx.executemany(
        "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES (?, ?, 'sent', ?)",
        [(item_id, ts(at), message_id) for item_id, at, message_id in sent],
    )


async def mark_retry(
    tx: Tx, item_id: int, now: dt.datetime, next_attempt_at: dt.datetime, error: str
) -> None:
    await tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
        "WHERE id = ?",
        (ts(next_attempt_at), error, item_id),
    )
    await _attempt(tx, item_id, now, "retry", error)


async def mark_failed(tx: Tx, item_id: int, now: dt.datetime, error: str) -> None:
    await tx.execute(
        f"UPDATE outbox SET status = 'failed', attempts = attempts + 1, {_FORGET}, "
        "last_error = ? WHERE id = ?",
        (error, item_id),
    )
    await _attempt(tx, item_id, now, "failed", error)


async def _attempt(tx: Tx, item_id: int, now: dt.datetime, outcome: str, detail: str) -> None:
    await tx.execute(
        "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
        (item_id, ts(now), outcome, detail),
    )


async def listing(
    tx: Tx, statuses: Collection[DeliveryStatus], limit: int = 100
) -> list[OutboxItem]:
    marks = ",".join("?" * len(statuses))
    return [
        _item(r)
        for r in await fetch_all(
            tx,
            f"SELECT * FROM outbox WHERE status IN ({marks}) ORDER BY id LIMIT ?",
            (*[s.value for s in statuses], limit),
        )
    ]


async def prune(tx: Tx, before: dt.datetime) -> int:
    """Forget messages delivered before `before`, with their attempts; failed ones stay
    (`thidua outbox` shows them) and so do rows whose dedupe key still guards a reminder."""
    await tx.execute(
        "DELETE FROM outbox_attempts WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE status = 'sent' AND sent_at < ? AND dedupe_key IS NULL)",
        (ts(before),),
    )
    changed = await tx.execute(
        "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ? AND dedupe_key IS NULL",
        (ts(before),),
    )
    return changed


async def recent_replies(tx: Tx, channel: str, chat_id: str, limit: int = 20) -> list[Reply]:
    """A chat's newest messages, newest first (what a text channel's numbered choices are
    rebuilt from after a restart). A row that cannot be read is left out."""
    rows = await fetch_all(
        tx,
        "SELECT payload_json FROM outbox WHERE channel = ? AND chat_id = ? "
        "ORDER BY id DESC LIMIT ?",
        (channel, chat_id, limit),
    )
    replies: list[Reply] = []
    for row in rows:
        try:
            replies.append(Reply.from_json(row[0]))
        except (ValueError, KeyError, TypeError):
            continue
    return replies
