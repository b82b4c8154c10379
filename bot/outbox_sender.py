"""Delivers outbox rows for one channel: in order per chat, concurrently across chats.

A row is marked sent only after the platform accepted it; a retryable failure
(429, 5xx, network) sets the row's next attempt with backoff and holds back the
rest of that chat, so messages never overtake each other; a permanent failure
(blocked, chat not found) is recorded with its reason and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from bot.channels.base import Channel
from domain.errors import DeliveryError
from domain.messages import OutboxItem
from handlers.context import Clock
from storage import outbox
from storage.db import Database

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        db: Database,
        channel: Channel,
        clock: Clock,
        *,
        max_chats: int = 64,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        idle_poll: float = 5.0,
    ) -> None:
        self.db = db
        self.channel = channel
        self.clock = clock
        self.max_chats = max_chats
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.channel.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._busy.values()):
            task.cancel()
        await asyncio.gather(*self._busy.values(), return_exceptions=True)
        self._busy.clear()

    async def wait_idle(self, limit: float = 10.0) -> None:
        """Until nothing is due and nothing is in flight (used by the console and tests)."""
        self.wake()
        async with asyncio.timeout(limit):
            while True:
                self._idle.clear()
                await self._idle.wait()
                if not self._busy:
                    async with self.db.transaction() as tx:
                        pending = await outbox.due(tx, self.channel.name, self.clock.now(), limit=1)
                    if not pending:
                        return

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                started = await self._dispatch_due()
            except Exception:
                log.exception("outbox %s: could not read due rows", self.channel.name)
                started = 0
            if not started and not self._busy:
                self._idle.set()
            timeout = await self._next_wait() if not started else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _next_wait(self) -> float:
        async with self.db.transaction() as tx:
            due_at = await outbox.next_due_at(tx, self.channel.name)
        if due_at is None:
            return self.idle_poll
        return min(self.idle_poll, max(0.01, (due_at - self.clock.now()).total_seconds()))

    async def _dispatch_due(self) -> int:
        room = self.max_chats - len(self._busy)
        if room <= 0:
            return 0
        async with self.db.transaction() as tx:
            heads = await outbox.due(
                tx, self.channel.name, self.clock.now(), busy_chats=set(self._busy), limit=room
            )
        for head in heads:
            self._busy[head.chat_id] = asyncio.create_task(self._drain_chat(head.chat_id))
        return len(heads)

    async def _drain_chat(self, chat_id: str) -> None:
        try:
            while True:
                async with self.db.transaction() as tx:
                    backlog = await outbox.chat_backlog(tx, self.channel.name, chat_id, limit=20)
                now = self.clock.now()
                backlog = [b for b in backlog if b.next_attempt_at <= now] if backlog else []
                if not backlog or backlog[0].next_attempt_at > now:
                    return
                for item in backlog:
                    if not await self._send(item):
                        return
        except Exception:
            log.exception("outbox %s: chat %s failed", self.channel.name, chat_id)
        finally:
            self._busy.pop(chat_id, None)
            self.wake()

    async def _send(self, item: OutboxItem) -> bool:
        """Deliver one row; False when the chat must wait (a retry is scheduled)."""
        try:
            message_id = await self.channel.deliver(item.chat_id, item.reply)
        except DeliveryError as exc:
            now = self.clock.now()
            async with self.db.transaction() as tx:
                if exc.permanent:
                    log.warning(
                        "outbox %s #%d: gave up: %s", self.channel.name, item.id, exc.reason
                    )
                    await outbox.mark_failed(tx, item.id, now, exc.reason)
                    return True
                delay = (
                    exc.retry_after if exc.retry_after is not None else self._backoff(item.attempts)
                )
                await outbox.mark_retry(
                    tx, item.id, now, now + dt.timedelta(seconds=delay), exc.reason
                )
            return False
        async with self.db.transaction() as tx:
            await outbox.mark_sent(tx, item.id, self.clock.now(), message_id)
        return True

    def _backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2 ** min(attempts, 16))))
