"""Conversation state, keyed by (channel, chat, sender) so any process can continue it."""

from __future__ import annotations

import datetime as dt
import json

from domain.messages import Conversation
from storage._codec import fetch_all, fetch_one, parse_ts, ts
from storage.db import Tx

Key = tuple[str, str, str]


async def get(tx: Tx, key: Key) -> Conversation | None:
    row = await fetch_one(
        tx,
        "SELECT flow, step, flow_id, data_json, updated_at FROM conversations "
        "WHERE channel = ? AND chat_id = ? AND sender_id = ?",
        key,
    )
    if row is None:
        return None
    return Conversation(
        flow=row["flow"],
        step=row["step"],
        flow_id=row["flow_id"],
        data=json.loads(row["data_json"]),
        updated_at=parse_ts(row["updated_at"]),
    )


async def put(tx: Tx, key: Key, conv: Conversation) -> None:
    await tx.execute(
        "INSERT INTO conversations (channel, chat_id, sender_id, flow, step, flow_id, data_json, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel, chat_id, sender_id) DO UPDATE SET flow = excluded.flow, "
        "step = excluded.step, flow_id = excluded.flow_id, data_json = excluded.data_json, "
        "updated_at = excluded.updated_at",
        (
            *key,
            conv.flow,
            conv.step,
            conv.flow_id,
            json.dumps(conv.data, ensure_ascii=False),
            ts(conv.updated_at),
        ),
    )


async def clear(tx: Tx, key: Key) -> None:
    await tx.execute(
        "DELETE FROM conversations WHERE channel = ? AND chat_id = ? AND sender_id = ?", key
    )


async def idle_since(tx: Tx, before: dt.datetime) -> list[tuple[Key, Conversation]]:
    """Conversations untouched since `before`: candidates for the idle-timeout note."""
    rows = await fetch_all(
        tx,
        "SELECT channel, chat_id, sender_id, flow, step, flow_id, data_json, updated_at "
        "FROM conversations WHERE updated_at < ?",
        (ts(before),),
    )
    return [
        (
            (r["channel"], r["chat_id"], r["sender_id"]),
            Conversation(
                r["flow"],
                r["step"],
                r["flow_id"],
                json.loads(r["data_json"]),
                parse_ts(r["updated_at"]),
            ),
        )
        for r in rows
    ]
