"""Telegram through python-telegram-bot 22: long polling, rate limiter, one error handler.

PTB's own Updater acknowledges a batch (by asking for the next offset) before
our handlers have seen it, so a crash could lose an update. We poll ourselves
instead (the "custom updater" PTB supports with `.updater(None)`): each batch
is recorded in the inbox *before* the next getUpdates call confirms it, then
handed to the Application's update queue for concurrent processing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram_map import to_inbound
from bot.health import Health
from bot.supervisor import supervise
from domain.errors import ChannelStartError, DatabaseLost, DeliveryError
from domain.messages import Reply
from runtime.context import Clock
from runtime.dispatcher import Dispatcher

log = logging.getLogger(__name__)

NAME = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class TelegramChannel:
    name = NAME

    def __init__(
        self,
        *,
        token: str,
        api_base_url: str,
        file_base_url: str,
        dispatcher: Dispatcher,
        clock: Clock,
        commands: Mapping[str, Sequence[tuple[str, str]]],
        concurrent_updates: int = 64,
        connection_pool_size: int = 16,
        poll_timeout: int = 25,
        max_per_second: float = 30,
        max_group_per_minute: float = 20,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.clock = clock
        self.commands = commands
        self.poll_timeout = poll_timeout
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(api_base_url)
            .base_file_url(file_base_url)
            .updater(None)
            .concurrent_updates(concurrent_updates)
            .connection_pool_size(connection_pool_size)
        )
        if max_per_second > 0:
            # No retries inside the limiter: a 429 goes back to the outbox, which
            # records the attempt and reschedules the row after retry_after.
            # A tenth of a second's burst rather than a whole second's: the same
            # average rate, without a full bucket racing ahead of Telegram's.
            period = max(0.1, 1 / max_per_second)
            limiter = AIORateLimiter(
                overall_max_rate=max_per_second * period,
                overall_time_period=period,
                group_max_rate=max_group_per_minute or max_per_second * 60,
                group_time_period=60,
                max_retries=0,
            )
            builder = builder.rate_limiter(limiter)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._poller: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._conversations: dict[int, tuple[str, str, str]] = {}  # update id → conversation
        self._chat_commands: dict[int, tuple[tuple[str, str], ...]] = {}  # last set per chat
        self.username = ""
        self.health: Health | None = None

    @property
    def polling(self) -> bool:
        return not self.webhook_url

    async def start(self) -> None:
        """Connect (getMe) and start receiving; a refusal is a ChannelStartError without the
        token (PTB's InvalidToken message quotes it)."""
        try:
            await self._connect()
        except InvalidToken:
            raise ChannelStartError(NAME, "token") from None
        except NetworkError as exc:
            raise ChannelStartError(NAME, "network", self._safe(exc)) from None
        except TelegramError as exc:
            raise ChannelStartError(NAME, "refused", self._safe(exc)) from None

    def _safe(self, exc: Exception) -> str:
        return str(exc).replace(self.app.bot.token, "…")

    async def _connect(self) -> None:
        await self.app.initialize()
        self.username = self.app.bot.username or ""
        if self.webhook_url:
            await self.app.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            await self.app.bot.delete_webhook()
        await self._set_default_commands()
        await self.app.start()
        if not self.webhook_url:
            self._poller = asyncio.create_task(
                supervise(f"{self.name}.receive", self._poll, self.health), name="telegram-poll"
            )

    async def _set_default_commands(self) -> None:
        """The menu of people not registered yet, per app language ("" = any other)."""
        for language, commands in self.commands.items():
            try:
                await self.app.bot.set_my_commands(
                    [BotCommand(c, d) for c, d in commands], language_code=language or None
                )
            except TelegramError as exc:
                log.warning("telegram setMyCommands (%s) failed: %s", language or "default", exc)

    async def _set_chat_commands(self, chat_id: int, commands: tuple[tuple[str, str], ...]) -> None:
        """A registered person's own menu (their role, their chosen language), set when it
        changes; a failure is logged and retried with the next menu reply."""
        if self._chat_commands.get(chat_id) == commands:
            return
        try:
            await self.app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeChat(chat_id)
            )
        except TelegramError as exc:
            log.warning("telegram setMyCommands for a chat failed: %s", exc)
            return
        self._chat_commands[chat_id] = commands

    async def ingest_json(self, data: dict[str, Any]) -> None:
        """A webhook delivery: the same recording path as polling."""
        update = Update.de_json(data, self.app.bot)
        await self.ingest([update])

    async def stop_receiving(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def stop(self) -> None:
        await self.stop_receiving()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # ---- receiving ------------------------------------------------------------------------

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset,
                    timeout=self.poll_timeout,
                    read_timeout=self.poll_timeout + 10,
                    allowed_updates=ALLOWED_UPDATES,
                )
                backoff = 1.0
                if self.health is not None:
                    self.health.ok(f"{self.name}.receive")
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after(exc))
                continue
            except Exception as exc:  # network trouble: keep polling, politely
                log.warning("telegram getUpdates failed: %s; retrying in %.0fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            if not updates:
                continue
            try:
                await self.ingest(updates)
            except asyncio.CancelledError:
                raise
            except DatabaseLost:
                log.critical("telegram: updates not recorded: database lost; polling stops")
                raise
            except Exception:
                # Not confirmed to Telegram (the offset stays), so the batch comes again.
                log.exception("telegram: could not record updates; retrying in %.0fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            offset = updates[-1].update_id + 1

    async def ingest(self, updates: list[Update] | tuple[Update, ...]) -> None:
        """Record a batch durably, then queue it; returns once recorded."""
        now = self.clock.now()
        pairs = [(u, to_inbound(u, now, self.username)) for u in updates]
        inbounds = [i for _, i in pairs if i is not None]
        fresh = {i.key for i in await self.dispatcher.receive_many(inbounds)}
        for update, inbound in pairs:
            if update.callback_query is not None:
                task = asyncio.create_task(self._answer_callback(update.callback_query.id))
                self._side_tasks.add(task)
                task.add_done_callback(self._side_tasks.discard)
            if inbound is not None and inbound.key in fresh:
                self._conversations[update.update_id] = inbound.conversation_key
                await self.app.update_queue.put(update)

    async def _answer_callback(self, query_id: str) -> None:
        """Stop the button's spinner; the real answer comes through the outbox."""
        with contextlib.suppress(TelegramError):
            await self.app.bot.answer_callback_query(query_id)

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update)
        key = self._conversations.pop(update.update_id, None)
        if key is not None:
            await self.dispatcher.process(key)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: error while handling %r", update, exc_info=context.error)

    # ---- sending --------------------------------------------------------------------------

    def _markup(self, reply: Reply) -> Any:
        if reply.buttons:
            return InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                    for row in reply.buttons
                ]
            )
        if reply.menu:
            first, *rest = reply.menu
            return ReplyKeyboardMarkup(
                [[KeyboardButton(first)], [KeyboardButton(x) for x in rest]],
                resize_keyboard=True,
                is_persistent=True,
            )
        return None

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        markup = self._markup(reply)
        if reply.commands and int(chat_id) > 0:  # private chats only: a group's menu is shared
            await self._set_chat_commands(int(chat_id), reply.commands)
        try:
            if reply.action is not None:  # typing / upload_photo / upload_document
                await self.app.bot.send_chat_action(int(chat_id), reply.action.value)
                return ""
            if reply.edit_ref:
                try:
                    edited = await self.app.bot.edit_message_text(
                        reply.text,
                        chat_id=int(chat_id),
                        message_id=int(reply.edit_ref),
                        reply_markup=markup if reply.buttons else None,
                    )
                    return str(edited.message_id) if isinstance(edited, Message) else reply.edit_ref
                except BadRequest as exc:
                    if "not modified" in exc.message.lower():
                        return reply.edit_ref
                    if not _edit_impossible(exc):
                        raise
                    # the card is gone or too old to edit: send the text as a new message
            if reply.attachment is not None:
                return await self._send_attachment(chat_id, reply, markup)
            message = await self.app.bot.send_message(int(chat_id), reply.text, reply_markup=markup)
            return str(message.message_id)
        except RetryAfter as exc:
            raise DeliveryError(
                f"429: {exc.message}", permanent=False, retry_after=_retry_after(exc)
            ) from exc
        except Forbidden as exc:
            raise DeliveryError(f"403: {exc.message}", permanent=True, unreachable=True) from exc
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            raise DeliveryError(f"400: {exc.message}", permanent=True, unreachable=gone) from exc
        except NetworkError as exc:  # includes 5xx answers and timeouts
            raise DeliveryError(f"network: {exc.message}", permanent=False) from exc

    async def _send_attachment(self, chat_id: str, reply: Reply, markup: Any) -> str:
        assert reply.attachment is not None
        data = base64.b64decode(reply.attachment.data_b64)
        if reply.attachment.kind == "image":
            message = await self.app.bot.send_photo(
                int(chat_id),
                data,
                caption=reply.text[:1024] or None,
                reply_markup=markup,
                filename=reply.attachment.filename,
            )
        else:
            message = await self.app.bot.send_document(
                int(chat_id),
                data,
                caption=reply.text[:1024] or None,
                reply_markup=markup,
                filename=reply.attachment.filename,
            )
        return str(message.message_id)


def _edit_impossible(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "message to edit not found" in text or "can't be edited" in text


def _retry_after(exc: RetryAfter) -> float:
    """retry_after in seconds, whichever type this PTB version returns (int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(exc.retry_after)


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
