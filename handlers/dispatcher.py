"""From inbox to handler to outbox, once per update, in one transaction.

`receive` records an update under its platform key (a repeat is ignored);
`process` handles a conversation's pending updates in arrival order under a
per-conversation lock; the handler's writes, its replies (outbox rows), the
new conversation state and the inbox done-mark commit together. A crash
before that commit leaves the update pending, and `recover` handles it after
restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace

from domain.errors import UserInputError
from domain.messages import DeliveryStatus, Inbound, InboundKind, OutboxItem, Outgoing, Reply
from handlers.context import Clock, Ctx, HandlerSettings, Translator
from handlers.router import route
from handlers.states import Flow
from storage import conversations, inbox, outbox, people
from storage.db import Database, Tx

log = logging.getLogger(__name__)

Key = tuple[str, str, str]


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: HandlerSettings,
        translate: Translator,
        clock: Clock,
        *,
        on_outbox: Callable[[list[OutboxItem]], None] = lambda items: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.translate = translate
        self.clock = clock
        self.on_outbox = on_outbox
        self._locks: dict[Key, _KeyLock] = {}

    # Public entry points hand their work to the database's loop (see storage.db).

    async def receive(self, inbound: Inbound) -> bool:
        """Record one update; False when it was delivered before."""
        return bool(await self.receive_many([inbound]))

    async def receive_many(self, inbounds: Iterable[Inbound]) -> list[Inbound]:
        """Record a batch in one transaction; returns the ones not seen before."""
        return await self.db.run(self._receive_many(list(inbounds)))

    async def _receive_many(self, inbounds: list[Inbound]) -> list[Inbound]:
        fresh = []
        async with self.db.transaction() as tx:
            now = self.clock.now()
            for item in inbounds:
                if await inbox.record(tx, item, now) is not None:
                    fresh.append(item)
        return fresh

    async def submit(self, inbound: Inbound) -> None:
        """Receive and handle: what a channel calls for each update."""
        if await self.receive(inbound):
            await self.process(inbound.conversation_key)

    async def process(self, key: Key) -> None:
        """Handle every pending update of one conversation, oldest first."""
        await self.db.run(self._process(key))

    async def _process(self, key: Key) -> None:
        async with self._lock(key):
            while await self._handle_next(key):
                pass

    @contextlib.asynccontextmanager
    async def _lock(self, key: Key) -> AsyncIterator[None]:
        """One handler at a time per conversation; dropped when nobody holds or waits."""
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    async def recover(self) -> int:
        """Handle updates recorded before a crash; returns how many conversations had some."""
        return await self.db.run(self._recover())

    async def _recover(self) -> int:
        async with self.db.transaction() as tx:
            keys = await inbox.pending_conversations(tx)
        for key in keys:
            await self._process(key)
        return len(keys)

    async def _handle_next(self, key: Key) -> bool:
        """Handle the oldest pending update of `key`; True while more may be waiting."""
        sent: list[OutboxItem] = []
        more = False
        try:
            async with self.db.transaction() as tx:
                item = await inbox.next_pending(tx, key)
                if item is None:
                    return False
                inbox_id, inbound = item
                try:
                    sent = await self._handle(tx, inbox_id, inbound)
                except Exception:
                    log.exception(
                        "handler failed: update %s (%s) from %s in %s",
                        inbound.key,
                        inbound.kind,
                        inbound.sender_id,
                        inbound.chat_id,
                    )
                    raise
                more = await inbox.next_pending(tx, key) is not None
        except Exception as exc:  # the top-level error handler: log, apologise, go on
            sent = await self._fail(key, exc)
            more = True
        if sent:
            self.on_outbox(sent)
        return more

    async def _handle(self, tx: Tx, inbox_id: int, inbound: Inbound) -> list[OutboxItem]:
        now = self.clock.now()
        person = await people.by_identity(tx, inbound.channel, inbound.sender_id)
        conv = await conversations.get(tx, inbound.conversation_key)
        ctx = Ctx(tx, inbound, person, conv, now, self.settings, self.translate)
        timeout = self.settings.conversation_timeout
        if conv is not None and conv.flow != Flow.DONE and now - conv.updated_at > timeout:
            await conversations.clear(tx, inbound.conversation_key)
            ctx.conversation = None
            ctx.reply(ctx.t("conv.expired"))
            conv = None
        if not (ctx.outgoing and inbound.kind == InboundKind.CHOICE):
            await tx.execute("SAVEPOINT handler")
            try:
                await route(ctx)
            except UserInputError as exc:
                # Undo whatever the handler half-did, answer why, keep the conversation alive.
                await tx.execute("ROLLBACK TO SAVEPOINT handler")
                kept = [o for o in ctx.outgoing if o.reply.text == ctx.t("conv.expired")]
                ctx = Ctx(tx, inbound, person, conv, now, self.settings, self.translate, kept)
                ctx.reply(ctx.t(exc.key, **exc.params))
                if conv is not None:
                    ctx.conversation = replace(conv, updated_at=now)
                    ctx.state_changed = True
            await tx.execute("RELEASE SAVEPOINT handler")
        if ctx.state_changed:
            if ctx.conversation is None:
                await conversations.clear(tx, inbound.conversation_key)
            else:
                await conversations.put(tx, inbound.conversation_key, ctx.conversation)
        elif ctx.conversation is not None and ctx.conversation.flow != Flow.DONE:
            await conversations.put(
                tx, inbound.conversation_key, replace(ctx.conversation, updated_at=now)
            )
        items = await self._enqueue(tx, ctx.outgoing, inbox_id, now)
        await inbox.mark(tx, inbox_id, "done", now)
        return items

    async def _enqueue(
        self, tx: Tx, outgoing: list[Outgoing], inbox_id: int | None, now: dt.datetime
    ) -> list[OutboxItem]:
        """Outbox rows for the replies, long texts split to the platform's limit."""
        items = []
        for out in outgoing:
            for part in split_text(out.reply.text, self.settings.max_message_chars):
                reply = out.reply if part == out.reply.text else replace(out.reply, text=part)
                row_id = await outbox.enqueue(tx, out.channel, out.chat_id, reply, now, inbox_id)
                items.append(
                    OutboxItem(
                        row_id, out.channel, out.chat_id, reply, DeliveryStatus.PENDING, 0, now, now
                    )
                )
        return items

    async def _fail(self, key: Key, exc: Exception) -> list[OutboxItem]:
        """Mark the update failed and apologise, so one bad update never blocks the chat."""
        async with self.db.transaction() as tx:
            item = await inbox.next_pending(tx, key)
            if item is None:
                return []
            inbox_id, inbound = item
            person = await people.by_identity(tx, inbound.channel, inbound.sender_id)
            lang = person.language.value if person else self.settings.default_language.value
            now = self.clock.now()
            await inbox.mark(tx, inbox_id, "failed", now, f"{type(exc).__name__}: {exc}"[:500])
            text = self.translate(lang, "err.internal")
            apology = Outgoing(inbound.channel, inbound.chat_id, Reply(text=text))
            return await self._enqueue(tx, [apology], inbox_id, now)

    async def expire_idle(self) -> int:
        """End conversations idle past the timeout, with a polite note; returns how many.

        Finished ones (kept only to recognise a double-tapped ✅) go silently.
        """
        return await self.db.run(self._expire_idle())

    async def _expire_idle(self) -> int:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            idle = await conversations.idle_since(tx, now - self.settings.conversation_timeout)
        sent: list[OutboxItem] = []
        for key, conv in idle:
            async with self._lock(key), self.db.transaction() as tx:
                current = await conversations.get(tx, key)
                if current is None or current.updated_at != conv.updated_at:
                    continue  # the person answered meanwhile
                await conversations.clear(tx, key)
                if conv.flow == Flow.DONE:
                    continue
                person = await people.by_identity(tx, key[0], key[2])
                lang = person.language.value if person else self.settings.default_language.value
                note = Outgoing(key[0], key[1], Reply(self.translate(lang, "conv.expired")))
                sent += await self._enqueue(tx, [note], None, now)
        if sent:
            self.on_outbox(sent)
        return len(idle)


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long message on line boundaries so each part fits the platform limit."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts
