"""From inbox to handler to outbox, once per update, in one transaction.

`receive` records an update under its platform key (a repeat is ignored);
channels reach it only through `runtime.ingress`, which records, then processes;
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
import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from domain.errors import DatabaseLost, DatabaseUnavailable, UserInputError
from domain.invites import seal_inbound
from domain.messages import (
    Button,
    Conversation,
    DeliveryStatus,
    Inbound,
    InboundKind,
    OutboxItem,
    Outgoing,
    Reply,
)
from domain.models import Person
from runtime.context import AFTER_DELIVERY, Clock, Ctx, HandlerSettings, Translator
from runtime.router import Router
from runtime.states import Flow
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
        router: Router,
        on_outbox: Callable[[list[OutboxItem]], None] = lambda items: None,
        on_action: Callable[[Outgoing], None] = lambda outgoing: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.translate = translate
        self.clock = clock
        self.router = router
        self.on_outbox = on_outbox
        self.on_action = on_action
        self._locks: dict[Key, _KeyLock] = {}
        self.claim_patience = 30.0
        """Seconds to keep trying a conversation another process is handling."""

    async def receive(self, inbound: Inbound) -> bool:
        """Record one update; False when it was delivered before."""
        return bool(await self.receive_many([inbound]))

    async def receive_many(self, inbounds: Iterable[Inbound]) -> list[Inbound]:
        """Record a batch in one transaction; returns the ones not seen before.

        Invite and link codes are sealed first (domain.invites.seal_inbound): the inbox
        keeps their hash, which is all the handler needs, now or after a crash.
        """
        inbounds = [seal_inbound(item) for item in inbounds]
        # Short, and the platform waits on it: ahead of the handlers queued for the
        # database, so new updates are recorded (and confirmed) without waiting for them.
        async with self.db.transaction(urgent=True, inline=True) as tx:
            now = self.clock.now()
            ids = await tx.together(*(inbox.record(tx, item, now) for item in inbounds))
        return [item for item, row_id in zip(inbounds, ids, strict=True) if row_id is not None]

    async def process(self, key: Key, *, patience: float | None = None) -> None:
        """Handle every pending update of one conversation, oldest first.

        Another process serving the same database may be handling one of its updates
        right now (webhook replicas): then this one tries again shortly, until the
        conversation has nothing pending or `patience` (default `claim_patience`) runs out
        (the periodic `recover` picks up whatever is left).
        """
        patience = self.claim_patience if patience is None else patience
        async with self._lock(key):
            delay, waited = 0.005, 0.0
            while (step := await self._handle_next(key)) is not _Step.DONE:
                if step is _Step.BUSY:
                    if waited >= patience:
                        return
                    await asyncio.sleep(delay)
                    waited += delay
                    delay = min(delay * 2, 0.5)

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
        """Handle updates left pending (a crash, a full disk); returns how many conversations
        had some. Runs at start and periodically, so a database that takes writes again
        catches up on its own."""
        async with self.db.transaction() as tx:
            keys = await inbox.pending_conversations(tx)
        for key in keys:  # one another process is handling stays with it
            await self.process(key, patience=0.0)
        return len(keys)

    async def _handle_next(self, key: Key) -> _Step:
        """Handle the oldest pending update of `key`; MORE while more may be waiting, BUSY
        when another process is handling this conversation now.

        The conversation is claimed first, for the transaction (`Tx.try_lock`: an advisory
        lock on PostgreSQL, nothing to do on SQLite's one process), so each update is handled
        once and a conversation's updates in order, whichever process received them.

        The transaction is `inline` (storage.db): a person waits on it and its
        statements are small. Those that do not depend on each other go
        `together`, so a backend with round trips needs four for a whole update
        instead of a dozen.
        """
        sent: list[OutboxItem] = []
        more = False
        later: list[Callable[[], Awaitable[Reply]]] = []
        try:
            async with self.db.transaction(inline=True) as tx:
                item: tuple[int, Inbound] | None
                person: Person | None
                conv: Conversation | None
                claimed, item, person, conv, _ = await tx.together(
                    tx.try_lock(claim_name(key)),
                    inbox.next_pending(tx, key),
                    people.by_identity(tx, key[0], key[2]),
                    conversations.get(tx, key),
                    tx.set_savepoint("handler"),
                )
                if item is None:
                    return _Step.DONE
                if not claimed:
                    return _Step.BUSY
                inbox_id, inbound = item
                action = self.router.chat_action(inbound, self.translate)
                if action is not None:  # a slow answer: "typing…" while it is made
                    reply = Reply("", action=action)
                    self.on_action(Outgoing(inbound.channel, inbound.chat_id, reply))
                try:
                    sent, more, later = await self._handle(tx, inbox_id, inbound, person, conv)
                except Exception:
                    log.exception(
                        "handler failed: update %s (%s) from %s in %s",
                        inbound.key,
                        inbound.kind,
                        inbound.sender_id,
                        inbound.chat_id,
                    )
                    raise
        except (DatabaseUnavailable, DatabaseLost) as exc:
            # Nothing was kept, nobody was told anything: the update stays pending and is
            # handled again by `recover` once the database takes writes (or never, if lost).
            log.warning("update of %s left pending: %s", key, exc)
            return _Step.DONE
        except Exception as exc:  # the top-level error handler: log, apologise, go on
            try:
                sent = await self._fail(key, exc)
            except (DatabaseUnavailable, DatabaseLost):
                return _Step.DONE
            more = True
        if sent:
            self.on_outbox(sent)
        if later:
            await self._after_commit(inbound, inbox_id, later)
        return _Step.MORE if more else _Step.DONE

    async def _handle(
        self,
        tx: Tx,
        inbox_id: int,
        inbound: Inbound,
        person: Person | None,
        conv: Conversation | None,
    ) -> tuple[list[OutboxItem], bool, list[Callable[[], Awaitable[Reply]]]]:
        """Route one update inside the open transaction (a savepoint is already set);
        returns its outbox rows, whether more updates wait, and the replies to make after
        the commit."""
        now = self.clock.now()
        key = inbound.conversation_key
        deactivated = person if person is not None and not person.active else None
        if deactivated is not None:
            person = None  # for every rule, a deactivated person is nobody (see `route`)
        chosen = (
            await people.account_language(tx, inbound.channel, inbound.sender_id)
            if person is None
            else None
        )
        ctx = self._ctx(tx, inbound, person, conv, now)
        ctx.deactivated, ctx.chosen_language = deactivated, chosen
        timeout = self.settings.conversation_timeout
        expired = conv is not None and conv.flow != Flow.DONE and now - conv.updated_at > timeout
        # A draft of an older shape (saved before an upgrade): start over, politely.
        unreadable = conv is not None and not expired and not self.router.readable(conv)
        noted = False
        if expired or unreadable:
            assert conv is not None
            if conv.flow != Flow.DONE:  # a finished one goes silently
                ctx.reply(ctx.t("conv.expired" if expired else "conv.unreadable"))
                noted = True
            conv = ctx.conversation = None
            ctx.state_changed = True
        ended = expired or unreadable
        if not (noted and inbound.kind == InboundKind.CHOICE):
            try:
                await self.router.route(ctx)
            except UserInputError as exc:
                # Undo whatever the handler half-did, answer why, keep the conversation alive.
                await tx.rollback_to_savepoint("handler")
                kept = ctx.outgoing[:1] if noted else []
                ctx = self._ctx(tx, inbound, person, conv, now, kept)
                ctx.deactivated, ctx.chosen_language = deactivated, chosen
                ctx.state_changed = ended
                answer = ctx.t(exc.key, **exc.params)
                if exc.hint_key:  # what does work, after what was wrong
                    answer = f"{answer}\n{ctx.t(exc.hint_key)}"
                if conv is not None:
                    ctx.conversation = replace(conv, updated_at=now)
                    ctx.state_changed = True
                offered = await self.router.offer(ctx, exc)
                await _answer_error(self.router, ctx, answer, offered)
        writes: list[Awaitable[object]] = [tx.release_savepoint("handler")]
        if person is not None and person.unreachable:
            writes.append(people.mark_reachable(tx, person.id))
        if ctx.state_changed and ctx.conversation is None:
            writes.append(conversations.clear(tx, key))
        elif ctx.state_changed and ctx.conversation is not None:
            writes.append(conversations.put(tx, key, ctx.conversation))
        elif ctx.conversation is not None and ctx.conversation.flow != Flow.DONE:
            writes.append(conversations.put(tx, key, replace(ctx.conversation, updated_at=now)))
        replies = continuations(self._split(ctx.outgoing))
        rows = [
            outbox.enqueue(
                tx,
                o.channel,
                o.chat_id,
                o.reply,
                now,
                inbox_id,
                after_delivery=o.extra.get(AFTER_DELIVERY),
            )
            for o in replies
        ]
        done = inbox.mark(tx, inbox_id, "done", now)
        results = await tx.together(*writes, *rows, done, inbox.next_pending(tx, key))
        ids = results[len(writes) : len(writes) + len(rows)]
        return _items(ids, replies, now, inbox_id), results[-1] is not None, ctx.deferred

    def _ctx(
        self,
        tx: Tx,
        inbound: Inbound,
        person: Person | None,
        conv: Conversation | None,
        now: dt.datetime,
        kept: list[Outgoing] | None = None,
    ) -> Ctx:
        ctx = Ctx(tx, inbound, person, conv, now, self.settings, self.translate, kept or [])
        ctx.help_entries = self.router.help
        return ctx

    async def _after_commit(
        self, inbound: Inbound, inbox_id: int, makers: list[Callable[[], Awaitable[Reply]]]
    ) -> None:
        """Slow replies (charts) made with the database free, then queued in a short step.

        Still under the conversation's lock, so they go out before anything this chat
        says next; a crash in between loses only them, never a report or an answer.
        """
        for make in makers:
            try:
                reply = await make()
                if not reply.buttons:  # part of the answer before it: its choices stay
                    reply = replace(reply, keeps_choices=True)
                out = Outgoing(inbound.channel, inbound.chat_id, reply)
                async with self.db.transaction(inline=True) as tx:
                    items = await self._enqueue(tx, [out], inbox_id, self.clock.now())
            except Exception:
                log.exception("a reply made after update %s failed", inbound.key)
                continue
            self.on_outbox(items)

    def _split(self, outgoing: list[Outgoing]) -> list[Outgoing]:
        """Long texts cut to the platform's limit, each part its own message."""
        limit = self.settings.max_message_chars
        return [
            out
            if part == out.reply.text
            else Outgoing(out.channel, out.chat_id, replace(out.reply, text=part))
            for out in outgoing
            for part in split_text(out.reply.text, limit)
        ]

    async def _enqueue(
        self, tx: Tx, outgoing: list[Outgoing], inbox_id: int | None, now: dt.datetime
    ) -> list[OutboxItem]:
        """Outbox rows for replies outside a handler (apologies, expiry notes)."""
        replies = self._split(outgoing)
        ids = [
            await outbox.enqueue(tx, o.channel, o.chat_id, o.reply, now, inbox_id) for o in replies
        ]
        return _items(ids, replies, now, inbox_id)

    async def _fail(self, key: Key, exc: Exception) -> list[OutboxItem]:
        """Mark the update failed and apologise, so one bad update never blocks the chat."""
        async with self.db.transaction(inline=True) as tx:
            claimed, item = await tx.together(
                tx.try_lock(claim_name(key)), inbox.next_pending(tx, key)
            )
            if item is None or not claimed:
                return []
            inbox_id, inbound = item
            person = await people.by_identity(tx, inbound.channel, inbound.sender_id)
            lang = person.language.value if person else self.settings.default_language.value
            now = self.clock.now()
            await inbox.mark(tx, inbox_id, "failed", now, f"{type(exc).__name__}: {exc}"[:500])
            text = self.translate(lang, "err.internal")
            apology = Outgoing(
                inbound.channel, inbound.chat_id, Reply(text=text, keeps_choices=True)
            )
            return await self._enqueue(tx, [apology], inbox_id, now)

    async def expire_idle(self) -> int:
        """End conversations idle past the timeout, with a polite note; returns how many.

        Finished ones (kept only to recognise a double-tapped ✅) go silently.
        """
        now = self.clock.now()
        async with self.db.transaction() as tx:
            idle = await conversations.idle_since(tx, now - self.settings.conversation_timeout)
        sent: list[OutboxItem] = []
        for key, conv in idle:
            async with self._lock(key), self.db.transaction() as tx:
                claimed, current = await tx.together(
                    tx.try_lock(claim_name(key)), conversations.get(tx, key)
                )
                if not claimed or current is None or current.updated_at != conv.updated_at:
                    continue  # the person answered meanwhile (here or in another process)
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


async def _answer_error(
    router: Router, ctx: Ctx, error: str, offered: tuple[Button, ...] = ()
) -> None:
    """Say what was wrong, followed by the open question and its buttons, in one message.

    The question is rendered again from the persisted conversation, so the
    person never has to scroll back for it and a numbered list on a channel
    without buttons is the current one.
    """
    before = len(ctx.outgoing)
    conv = ctx.conversation
    try:
        await router.ask_again(ctx)  # reads only; the state it sets is the one it read
    except UserInputError:  # the state itself is unusable (config changed): just the error
        del ctx.outgoing[before:]
        ctx.conversation = conv
    question = ctx.outgoing[before:]
    extra = (offered,) if offered else ()
    if not question:
        # Nothing to ask again: typed numbers still mean the choices shown before.
        ctx.reply(error, extra, keeps_choices=not extra)
        return
    first = question[0]
    text = f"{error}\n\n{first.reply.text}"
    buttons = first.reply.buttons + extra  # what the refusal offers, under the question's
    ctx.outgoing[before] = Outgoing(
        first.channel, first.chat_id, replace(first.reply, text=text, buttons=buttons)
    )


async def prune(db: Database, now: dt.datetime, keep: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Housekeeping: drop delivered messages and handled updates older than `keep`.

    Outbox rows go first, since an inbox row is kept while a reply still points at it.
    """
    async with db.transaction() as tx:
        removed = await outbox.prune(tx, now - keep)
        removed += await inbox.prune(tx, now - keep)
    return removed


def continuations(outgoing: list[Outgoing]) -> list[Outgoing]:
    """One answer's messages, those that follow a message with choices in the same chat
    marked `keeps_choices` (the chart after the standings text): the answer's choices stay
    what a typed number means. An answer with no choices at all clears them (Reply)."""
    shown: set[tuple[str, str]] = set()
    out: list[Outgoing] = []
    for o in outgoing:
        chat = (o.channel, o.chat_id)
        if o.reply.buttons:
            shown.add(chat)
        elif chat in shown and not o.reply.keeps_choices:
            extra = dict(o.extra)
            if isinstance(later := extra.get(AFTER_DELIVERY), Reply):  # the stored version too
                extra[AFTER_DELIVERY] = replace(later, keeps_choices=True)
            o = Outgoing(o.channel, o.chat_id, replace(o.reply, keeps_choices=True), extra)
        out.append(o)
    return out


def _items(
    ids: list[Any], replies: list[Outgoing], now: dt.datetime, inbox_id: int | None
) -> list[OutboxItem]:
    return [
        OutboxItem(
            int(row_id),
            o.channel,
            o.chat_id,
            o.reply,
            DeliveryStatus.PENDING,
            0,
            now,
            now,
            reply_to_inbox=inbox_id,
        )
        for row_id, o in zip(ids, replies, strict=True)
    ]


class _Step(enum.Enum):
    DONE = "done"
    MORE = "more"
    BUSY = "busy"


def claim_name(key: Key) -> str:
    """The lock that makes one process at a time handle a conversation."""
    return "conversation:" + ":".join(key)


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
