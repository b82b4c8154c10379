"""Scheduled messages the bot sends on its own (reminders, standings posts): where a
person wants them, and queueing each exactly once ever.
"""

from __future__ import annotations

import datetime as dt

from domain.messages import DeliveryStatus, OutboxItem, Reply
from storage import outbox, people
from storage.db import Tx


async def preferred_chat(tx: Tx, person_id: int) -> tuple[str, str] | None:
    """(channel, chat) of the messenger the person wants messages on; None if none."""
    accounts = await people.channels_of(tx, person_id)
    return accounts[0] if accounts else None


async def enqueue(
    tx: Tx, channel: str, chat_id: str, reply: Reply, at: dt.datetime, dedupe_key: str
) -> OutboxItem | None:
    """Queue a scheduled message once ever (None: that key was queued before)."""
    row = await outbox.enqueue(tx, channel, chat_id, reply, at, dedupe_key=dedupe_key)
    if row is None:
        return None
    return OutboxItem(row, channel, chat_id, reply, DeliveryStatus.PENDING, 0, at, at)
