"""Delivers outbox rows for one channel: in order per chat, concurrently across chats.

Hot path: the dispatcher hands over the rows it just committed (`submit`), so a
reply goes out at once without re-reading the table. The table is what makes
delivery survive a crash or an outage: at start, on a timer and after every
retry, a scan loads rows still pending (`due`) into the same per-chat queues.

When several processes serve one PostgreSQL database, a process sends a row only
while it holds a lease on it: leases are taken a whole chat at a time (all its
pending rows, or none while another process holds one), renewed while the rows
wait here, given back at a clean stop, and taken over by the others once they
expire when a process dies. A lease is trusted only for three quarters of its
length, so two processes never both send a row; what the dead process had handed
to the platform but not yet recorded as sent (the in-flight window) goes again.

A row is marked sent only after the platform accepted it. Acknowledgements are
written as soon as they come, in whatever batch has gathered meanwhile, ahead
of every transaction that waits: a crash re-sends only what was delivered in
the last moment before it, and never loses. A retryable failure (429, 5xx,
network) schedules the row's next attempt with backoff and hands the chat back
to the table, so a later message never overtakes an earlier one; a permanent
failure (blocked, chat not found) is recorded with its reason and the chat
moves on.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import logging
from collections.abc import Iterable

from bot.channels.base import Channel
from bot.health import Health
from bot.supervisor import supervise
from domain.errors import DeliveryError
from domain.messages import OutboxItem, Reply
from runtime.context import Clock
from storage import outbox, people
from storage.db import Database

log = logging.getLogger(__name__)

Ack = tuple[int, dt.datetime, str]


class OutboxSender:
    def __init__(
        self,
        db: Database,
        channel: Channel,
        clock: Clock,
        *,
        max_chats: int = 256,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        idle_poll: float = 5.0,
        per_chat_interval: float = 1.0,
        per_chat_burst: int = 3,
        max_in_flight: int = 32,
        owner: str | None = None,
        lease: dt.timedelta = dt.timedelta(seconds=60),
    ) -> None:
        """`owner` names this process when several share the database (PostgreSQL): a row
        is then sent only under this process's `lease` on its chat (module docstring)."""
        self.db = db
        self.owner = owner
        self.lease = lease
        self._leased_at: dict[int, dt.datetime] = {}  # row → when its lease was taken
        self._renewed_at: dt.datetime | None = None  # start of the last renewal that held
        self._to_lease: dict[str, list[OutboxItem]] = {}  # chats submitted, not yet leased
        self._lease_ready = asyncio.Event()
        self.channel = channel
        self.clock = clock
        self.max_chats = max_chats
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.idle_poll = idle_poll
        self._queues: dict[str, list[OutboxItem]] = {}  # per chat, sorted by id
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._known: set[int] = set()  # queued, in flight, or sent but not yet acknowledged
        self._held: set[str] = set()  # chats whose next row waits in the table
        self._acks: list[Ack] = []
        self._ack_ready = asyncio.Event()
        self._scan_now = asyncio.Event()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pacing = _Pacing(per_chat_interval, per_chat_burst)
        # Deliveries handed to the channel at once. Keeps the HTTP client's queue short
        # (httpcore scans every waiting request per connection hand-over) and lets
        # stop() wait for the few that are under way instead of cancelling them.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._stopping = False
        self.health: Health | None = None
        self._indicators: dict[str, asyncio.Task[None]] = {}  # per chat, until shown

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Chats with rows left pending by the last run are held until the table is read."""
        self._held = await self._pending_chats()
        name = self.channel.name
        self._tasks = [
            asyncio.create_task(
                supervise(f"{name}.send", self._scanner, self.health), name=f"outbox-scan-{name}"
            ),
            asyncio.create_task(
                supervise(f"{name}.record", self._acknowledger, self.health),
                name=f"outbox-ack-{name}",
            ),
        ]
        if self.owner is not None:
            self._tasks += [
                asyncio.create_task(
                    supervise(f"{name}.lease", self._leaser, self.health),
                    name=f"outbox-lease-{name}",
                ),
                asyncio.create_task(
                    supervise(f"{name}.renew", self._renewer, self.health),
                    name=f"outbox-renew-{name}",
                ),
            ]

    async def stop(self, grace: float = 5.0) -> None:
        """No new deliveries; those under way finish (up to `grace` s) and are recorded.

        Cancelling a delivery under way would lose the platform's answer to a
        message it may already have accepted, and the next start would send it again.
        """
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._indicators:
            await asyncio.wait(list(self._indicators.values()), timeout=grace)
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=grace)
        for task in workers:
            task.cancel()
        await asyncio.gather(*self._tasks, *workers, return_exceptions=True)
        self._workers.clear()
        await self._flush_acks()
        if self.owner is not None:  # what is left goes to the other processes at once
            with contextlib.suppress(Exception):
                async with self.db.transaction(urgent=True, inline=True) as tx:
                    await outbox.release_leases(tx, self.channel.name, self.owner)

    def wake(self) -> None:
        """Look at the table now (used after a restart, and by tests)."""
        self._scan_now.set()

    def submit(self, items: Iterable[OutboxItem]) -> None:
        """Rows just committed by the dispatcher: queue them for their chats at once.

        A chat with an earlier row still waiting in the table is left to the
        table, so the new row cannot overtake it.
        """
        for item in items:
            if item.chat_id in self._held:
                self._scan_now.set()
            elif item.id in self._known:
                continue
            elif self.owner is not None:  # leased first (`_leaser`), then queued
                self._to_lease.setdefault(item.chat_id, []).append(item)
                self._lease_ready.set()
            else:
                self._enqueue(item)

    def indicate(self, chat_id: str, reply: Reply) -> None:
        """Show a "working…" indicator (``reply.action``) now, outside the outbox.

        It is no message: nothing to keep or retry, and it must go out before the slow
        answer is even written. A failure is only logged.
        """
        if self._stopping:
            return
        task = asyncio.create_task(self._indicate(chat_id, reply), name=f"indicate-{chat_id}")
        self._indicators[chat_id] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._indicators.get(chat_id) is task:
                del self._indicators[chat_id]

        task.add_done_callback(done)

    async def _indicate(self, chat_id: str, reply: Reply) -> None:
        try:
            await self.channel.deliver(chat_id, reply)
        except Exception as exc:  # an indicator that does not show costs nothing
            log.info("%s: chat action not shown: %s", self.channel.name, exc)

    async def wait_idle(self, limit: float = 10.0) -> None:
        """Until nothing is queued, in flight, unacknowledged or due in the table."""
        async with asyncio.timeout(limit):
            while True:
                self._changed.clear()
                if not self._known and not self._workers:
                    if not await self._any_due():
                        return
                    self.wake()
                await self._changed.wait()

    # ---- queues and workers ---------------------------------------------------------------

    def _enqueue(self, item: OutboxItem) -> None:
        self._known.add(item.id)
        queue = self._queues.setdefault(item.chat_id, [])
        bisect.insort(queue, item, key=lambda i: i.id)
        if item.chat_id not in self._workers:
            self._workers[item.chat_id] = asyncio.create_task(self._work(item.chat_id))

    async def _work(self, chat_id: str) -> None:
        try:
            queue = self._queues[chat_id]
            while queue and not self._stopping:
                item = queue.pop(0)
                if not await self._send(item):
                    for held in queue:  # back to the table, behind the row that must wait
                        self._known.discard(held.id)
                        self._leased_at.pop(held.id, None)
                    queue.clear()
        except _Stopping:
            pass
        except Exception:
            log.exception("outbox %s: chat %s failed", self.channel.name, chat_id)
            for held in self._queues.get(chat_id, []):
                self._known.discard(held.id)
        finally:
            self._queues.pop(chat_id, None)
            self._workers.pop(chat_id, None)
            self._changed.set()

    async def _send(self, item: OutboxItem) -> bool:
        """Deliver one row; False when the chat must wait (a retry is scheduled)."""
        indicator = self._indicators.get(item.chat_id)
        if indicator is not None:  # "typing…" first, then the answer it announced
            await asyncio.wait([indicator])
        if item.unsolicited:  # answers keep the person's pace; bulk sends keep Telegram's
            await self._pacing.wait(item.chat_id)
        try:
            async with self._in_flight:
                if self._stopping:  # the row stays pending for the next start
                    raise _Stopping
                if not self._lease_holds(item.id):  # another process may take it now
                    self._held.add(item.chat_id)
                    self._known.discard(item.id)
                    self._leased_at.pop(item.id, None)
                    self._scan_now.set()
                    return False
                message_id = await self.channel.deliver(item.chat_id, item.reply)
        except DeliveryError as exc:
            if not exc.permanent:
                self._held.add(item.chat_id)
            await self._record_failure(item, exc)
            self._known.discard(item.id)
            self._leased_at.pop(item.id, None)
            self._scan_now.set()
            return exc.permanent
        self._acks.append((item.id, self.clock.now(), message_id))
        self._ack_ready.set()
        return True

    async def _record_failure(self, item: OutboxItem, exc: DeliveryError) -> None:
        now = self.clock.now()
        async with self.db.transaction(inline=True) as tx:
            if exc.permanent:
                log.warning("outbox %s #%d: gave up: %s", self.channel.name, item.id, exc.reason)
                await outbox.mark_failed(tx, item.id, now, exc.reason)
                if exc.unreachable:
                    await people.mark_unreachable(
                        tx, self.channel.name, item.chat_id, exc.reason, now
                    )
            else:
                delay = (
                    exc.retry_after if exc.retry_after is not None else self._backoff(item.attempts)
                )
                next_at = now + dt.timedelta(seconds=delay)
                await outbox.mark_retry(tx, item.id, now, next_at, exc.reason)

    def _backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2 ** min(attempts, 16))))

    # ---- acknowledgements -----------------------------------------------------------------

    async def _acknowledger(self) -> None:
        while True:
            await self._ack_ready.wait()
            self._ack_ready.clear()
            try:
                await self._flush_acks()
            except Exception:
                log.exception("outbox %s: could not record deliveries", self.channel.name)

    async def _flush_acks(self) -> None:
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        try:
            await self._write_acks(batch)
        except BaseException:
            self._acks[:0] = batch
            raise
        for item_id, _, _ in batch:
            self._known.discard(item_id)
            self._leased_at.pop(item_id, None)
        self._changed.set()

    async def _write_acks(self, batch: list[Ack]) -> None:
        async with self.db.transaction(urgent=True, inline=True) as tx:
            await outbox.mark_sent_many(tx, batch)

    # ---- the table: recovery and retries --------------------------------------------------

    async def _scanner(self) -> None:
        while True:
            self._scan_now.clear()
            try:
                timeout = await self._scan()
                if self.health is not None:
                    self.health.ok(f"{self.channel.name}.send")
            except Exception:
                log.exception("outbox %s: could not read due rows", self.channel.name)
                timeout = self.idle_poll
            self._changed.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._scan_now.wait()

    async def _scan(self) -> float:
        """Queue due rows of idle chats; returns how long until the next look."""
        room = self.max_chats - len(self._workers)
        backlogs, due_at = await self._read_due(room, set(self._workers), set(self._known))
        for backlog in backlogs:
            if backlog:
                self._held.discard(backlog[0].chat_id)
            for item in backlog:
                if item.id in self._known:
                    break
                self._enqueue(item)
        poll = self.idle_poll
        if self.owner is not None:  # a dead process's leases are looked at once they expire
            poll = min(poll, self.lease.total_seconds() / 2)
        if due_at is None:
            return poll
        return min(poll, max(0.01, (due_at - self.clock.now()).total_seconds()))

    # ---- leases: several processes on one database ----------------------------------------

    def _lease_holds(self, item_id: int) -> bool:
        """This process's lease on the row is good for a while yet (always, alone).

        A quarter of the lease is kept in hand: the other processes' clocks and a renewal
        that committed a moment after it began do not make two senders of one row.
        """
        if self.owner is None:
            return True
        leased = self._leased_at.get(item_id)
        if leased is None:
            return False
        since = max(leased, self._renewed_at) if self._renewed_at else leased
        return self.clock.now() < since + self.lease * 0.75

    async def _leaser(self) -> None:
        """Rows this process just wrote are sent by it only once it leases their chats:
        the chat's earlier rows another process may hold go first, and no one else sends
        these. Chats come in batches, one short transaction each."""
        while True:
            await self._lease_ready.wait()
            self._lease_ready.clear()
            chats, self._to_lease = self._to_lease, {}
            try:
                backlogs = await self._lease(set(chats))
            except Exception:
                log.exception("outbox %s: could not lease rows", self.channel.name)
                backlogs = {}
            for chat in chats:
                if chat not in backlogs:  # another process has the chat; the table keeps it
                    self._held.add(chat)
                    self._scan_now.set()
            self._queue_backlogs(list(backlogs.values()))

    async def _lease(self, chats: set[str]) -> dict[str, list[OutboxItem]]:
        assert self.owner is not None
        async with self.db.transaction(urgent=True, inline=True) as tx:
            now = self.clock.now()
            backlogs = await outbox.lease_chats(
                tx, self.channel.name, chats, self.owner, now, now + self.lease
            )
        for backlog in backlogs.values():
            for item in backlog:
                self._leased_at[item.id] = now
        return backlogs

    def _queue_backlogs(self, backlogs: list[list[OutboxItem]]) -> None:
        for backlog in backlogs:
            if backlog:
                self._held.discard(backlog[0].chat_id)
            for item in backlog:
                if item.id not in self._known:
                    self._enqueue(item)

    async def _renewer(self) -> None:
        """Keep the leases on rows still queued here alive (every third of the lease)."""
        assert self.owner is not None
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            if not self._leased_at:
                continue
            began = self.clock.now()
            async with self.db.transaction(urgent=True, inline=True) as tx:
                await outbox.renew_leases(tx, self.channel.name, self.owner, began + self.lease)
            self._renewed_at = began

    async def _pending_chats(self) -> set[str]:
        async with self.db.transaction() as tx:
            return await outbox.pending_chats(tx, self.channel.name)

    async def _any_due(self) -> bool:
        async with self.db.transaction() as tx:
            return bool(
                await outbox.due(tx, self.channel.name, self.clock.now(), limit=1, owner=self.owner)
            )

    async def _read_due(
        self, room: int, busy: set[str], known: set[int]
    ) -> tuple[list[list[OutboxItem]], dt.datetime | None]:
        """Backlogs of chats whose oldest pending row is due, and when the next row is due."""
        now = self.clock.now()
        name = self.channel.name
        async with self.db.transaction() as tx:
            heads = (
                await outbox.due(tx, name, now, busy_chats=busy, limit=room, owner=self.owner)
                if room > 0
                else []
            )
            if self.owner is None:
                backlogs = [await outbox.chat_backlog(tx, name, h.chat_id) for h in heads]
            else:
                chats = {h.chat_id for h in heads}
                leased = await outbox.lease_chats(
                    tx, name, chats, self.owner, now, now + self.lease
                )
                for backlog in leased.values():
                    for item in backlog:
                        self._leased_at[item.id] = now
                backlogs = list(leased.values())
            due_at = await outbox.next_due_at(tx, name, exclude=known)
        return backlogs, due_at


class _Stopping(Exception):
    """The sender is stopping: leave the row for the next start."""


class _Pacing:
    """At most `burst` messages at once per chat, then one per `interval` seconds."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = burst
        self._next: dict[
            str, float
        ] = {}  # per chat: when the next message may go at the latest pace

    def reserve(self, chat_id: str, now: float) -> float:
        """Take the chat's next slot at `now`; returns how long to wait for it (0: go)."""
        if self.interval <= 0:
            return 0.0
        slack = self.interval * (self.burst - 1)
        due = max(self._next.get(chat_id, now - slack), now - slack)
        self._next[chat_id] = due + self.interval
        return max(0.0, due - now)

    async def wait(self, chat_id: str) -> None:
        delay = self.reserve(chat_id, asyncio.get_running_loop().time())
        if delay > 0:
            await asyncio.sleep(delay)
