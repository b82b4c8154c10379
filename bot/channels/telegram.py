"""Telegram through python-telegram-bot 22: its Bot for the API calls and the rate limiter.

PTB's own Updater acknowledges a batch (by asking for the next offset) before
our handlers have seen it, so a crash could lose an update. We poll ourselves
instead (the "custom updater" PTB supports with `.updater(None)`): `receive` is one
getUpdates call, and its batch's `confirm` (called by `bot.channels.base.Receiver` once the
batch is in the inbox) moves the offset past it, so the next call confirms it to Telegram.
A webhook delivery is the same batch of one, confirmed by the server's 200.

A button press's spinner is stopped (answerCallbackQuery) beside the first message to that
chat, started as that message is sent (as PTB's own examples do), not ahead of the handler:
the person waits for the answer, not for the spinner, and the reply is not queued behind the
extra call. A press that brings no message within `answer_within` seconds has its spinner
stopped then.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    MenuButtonWebApp,
    Message,
    ReplyKeyboardMarkup,
    Update,
    WebAppInfo,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import Received, ReceiveError, Webhook, album_lines
from bot.channels.registry import ChannelNotConfigured, ChannelSetup
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_map import to_inbound
from domain.errors import ChannelStartError, DeliveryError, MediaTooLarge
from domain.messages import Reply
from runtime.context import Clock
from storage.blobs import BlobStore

log = logging.getLogger(__name__)

NAME = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def build(setup: ChannelSetup) -> TelegramChannel:
    """The channel as configured in [telegram], with TELEGRAM_BOT_TOKEN."""
    token = setup.secrets.telegram_bot_token
    if token is None:
        raise ChannelNotConfigured("TELEGRAM_BOT_TOKEN is not set")
    tg = setup.config.telegram
    secret = setup.secrets.telegram_webhook_secret
    return TelegramChannel(
        token=token.get_secret_value(),
        api_base_url=tg.api_base_url,
        file_base_url=tg.file_base_url,
        clock=setup.clock,
        commands=setup.guest_menu,
        connection_pool_size=tg.connection_pool_size,
        poll_timeout=tg.poll_timeout_seconds,
        max_per_second=tg.max_messages_per_second,
        max_group_per_minute=tg.max_group_messages_per_minute,
        webhook_url=(
            f"{tg.public_base_url.rstrip('/')}{WEBHOOK_PATH}"
            if tg.mode == "webhook" and tg.public_base_url
            else None
        ),
        webhook_secret=secret.get_secret_value() if secret else None,
        evidence=setup.evidence,
        mini_app=_mini_app(setup),
    )


def _mini_app(setup: ChannelSetup) -> tuple[str, str] | None:
    """(label, URL) of the chat's menu button opening the dashboard as a Mini App: when the
    dashboard is on with a public https URL (Telegram opens only https Mini Apps)."""
    web = setup.config.web
    if not (web.enabled and web.mini_app and web.public_url):
        return None
    if not web.public_url.startswith("https://"):
        return None
    label = setup.catalog(setup.config.federation.default_language.value, "web.menu_button")
    return label, f"{web.public_url}/app/tg"


class TelegramChannel:
    name = NAME

    def __init__(
        self,
        *,
        token: str,
        api_base_url: str,
        file_base_url: str,
        clock: Clock,
        commands: Mapping[str, Sequence[tuple[str, str]]],
        connection_pool_size: int = 16,
        poll_timeout: int = 25,
        max_per_second: float = 30,
        max_group_per_minute: float = 20,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        evidence: BlobStore | None = None,
        mini_app: tuple[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.mini_app = mini_app
        self.evidence = evidence
        # Albums that went out for a reply whose text then failed: its retry sends the text only.
        self._albums_sent: OrderedDict[tuple[str, tuple[str, ...], str], None] = OrderedDict()
        self.commands = commands
        self.poll_timeout = poll_timeout
        self._requests = (AiohttpRequest(connection_pool_size), AiohttpRequest(1))
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(api_base_url)
            .base_file_url(file_base_url)
            .updater(None)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
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
        # Only its Bot is used (API calls, rate limiter, connection pool): updates go
        # through the ingress, not PTB's update queue.
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._offset: int | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._unanswered: dict[str, list[str]] = {}  # chat → presses whose spinner still turns
        self.answer_within = 1.0
        self._stopped = False
        self._chat_commands: dict[int, tuple[tuple[str, str], ...]] = {}  # last set per chat
        self.username = ""

    @property
    def polling(self) -> bool:
        return not self.webhook_url

    async def start(self) -> None:
        """Connect (getMe) and say how updates come; a refusal is a ChannelStartError
        without the token (PTB's InvalidToken message quotes it)."""
        try:
            try:
                await self._connect()
            except BaseException:  # PTB shuts down only what it initialised in full
                for request in self._requests:
                    await request.shutdown()
                raise
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
        await self._set_menu_button()

    async def _set_menu_button(self) -> None:
        """The chat's menu button opens the dashboard as a Mini App ([web] mini_app)."""
        if self.mini_app is None:
            return
        label, url = self.mini_app
        try:
            await self.app.bot.set_chat_menu_button(
                menu_button=MenuButtonWebApp(label, WebAppInfo(url))
            )
        except TelegramError as exc:
            log.warning("telegram setChatMenuButton failed: %s", self._safe(exc))

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

    async def stop(self) -> None:
        self._stopped = True
        await self.app.shutdown()

    # ---- receiving ------------------------------------------------------------------------

    async def receive(self) -> Received:
        """One getUpdates from the last confirmed offset; confirming the batch moves past it."""
        try:
            updates = await self.app.bot.get_updates(
                offset=self._offset,
                timeout=self.poll_timeout,
                read_timeout=self.poll_timeout + 10,
                allowed_updates=ALLOWED_UPDATES,
            )
        except RetryAfter as exc:
            raise ReceiveError(f"429: {exc.message}", retry_after=_retry_after(exc)) from exc
        return self._received(updates, polled=True)

    def webhooks(self) -> Sequence[Webhook]:
        if self.polling:
            return ()
        return (Webhook(WEBHOOK_PATH, SECRET_HEADER, self.webhook_secret or "", self._parse),)

    async def _parse(self, data: dict[str, Any]) -> Received:
        """A webhook delivery: one Update, confirmed to Telegram by the 200."""
        return self._received([Update.de_json(data, self.app.bot)], polled=False)

    def _received(self, updates: Sequence[Update], *, polled: bool) -> Received:
        now = self.clock.now()
        inbounds = [i for u in updates if (i := to_inbound(u, now, self.username)) is not None]
        queries = [
            (str(q.message.chat.id) if q.message is not None else "", q.id)
            for u in updates
            if (q := u.callback_query) is not None
        ]
        last = updates[-1].update_id if updates else None

        def confirm() -> None:
            if polled and last is not None:
                self._offset = last + 1
            loop = asyncio.get_running_loop()
            for chat, query_id in queries:  # a repeat's spinner is stopped too
                if not chat:  # no chat to answer in: stop it now
                    self._answer_soon(query_id)
                    continue
                self._unanswered.setdefault(chat, []).append(query_id)
                loop.call_later(self.answer_within, self._answer_chat, chat)

        return Received(inbounds, confirm, redelivered=True)

    def _answer_chat(self, chat_id: str) -> None:
        """Stop the spinners of this chat's presses (after its message went out)."""
        for query_id in self._unanswered.pop(chat_id, ()):
            self._answer_soon(query_id)

    def _answer_soon(self, query_id: str) -> None:
        if self._stopped:
            return
        task = asyncio.create_task(self._answer_callback(query_id))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _answer_callback(self, query_id: str) -> None:
        """Stop the button's spinner; the real answer comes through the outbox."""
        with contextlib.suppress(TelegramError):
            await self.app.bot.answer_callback_query(query_id)

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
        """Send one outbox row (`_deliver`); a press's spinner stops beside it."""
        if chat_id in self._unanswered:  # the spinners stop while the message goes out
            self._answer_chat(chat_id)
        return await self._deliver(chat_id, reply)

    async def _deliver(self, chat_id: str, reply: Reply) -> str:
        reply = self._linked(reply)
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
            album_key = (chat_id, reply.album, reply.text)
            if reply.album and not reply.edit_ref and album_key not in self._albums_sent:
                reply = await self._send_album(chat_id, reply)
                self._albums_sent[album_key] = None
                while len(self._albums_sent) > 1000:
                    self._albums_sent.popitem(last=False)
            if reply.attachment is not None:
                return await self._send_attachment(chat_id, reply, markup)
            message = await self.app.bot.send_message(int(chat_id), reply.text, reply_markup=markup)
            self._albums_sent.pop(album_key, None)
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

    async def _send_album(self, chat_id: str, reply: Reply) -> Reply:
        """The reply's evidence photos from the store, as albums of at most ten (a single
        photo as itself); the reply to send after them (a line each when there is no store)."""
        if self.evidence is None:
            return replace(reply, text=f"{album_lines(reply.album)}\n\n{reply.text}")
        store = self.evidence
        found = [await asyncio.to_thread(store.read, digest) for digest in reply.album]
        photos = [data for data in found if data is not None]
        for start in range(0, len(photos), 10):
            chunk = photos[start : start + 10]
            if len(chunk) == 1:
                await self.app.bot.send_photo(int(chat_id), chunk[0])
            else:
                media = [InputMediaPhoto(data) for data in chunk]
                await self.app.bot.send_media_group(int(chat_id), media)
        return reply

    def _linked(self, reply: Reply) -> Reply:
        """The text with the link a reply asks for (`private_link`): t.me/<this bot>."""
        if reply.private_link is None or not self.username:
            return reply
        code = f"?start={reply.private_link}" if reply.private_link else ""
        return replace(reply, text=f"{reply.text}\nhttps://t.me/{self.username}{code}")

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

    # ---- evidence -------------------------------------------------------------------------

    async def fetch_media(self, file_ref: str, max_bytes: int) -> bytes:
        """A photo's bytes: getFile, then the file download. A file Telegram says is larger
        than `max_bytes` is not downloaded (MediaTooLarge); an unknown or expired file is a
        permanent DeliveryError, a 429, 5xx or network failure a retryable one."""
        try:
            file = await self.app.bot.get_file(file_ref)
            if file.file_size is not None and file.file_size > max_bytes:
                raise MediaTooLarge(file.file_size, max_bytes)
            data = bytes(await file.download_as_bytearray())
        except RetryAfter as exc:
            raise DeliveryError(
                f"429: {exc.message}", permanent=False, retry_after=_retry_after(exc)
            ) from exc
        except (BadRequest, Forbidden, InvalidToken) as exc:  # the file download's 404 is
            raise DeliveryError(f"file: {self._safe(exc)}", permanent=True) from exc  # "token"
        except NetworkError as exc:
            raise DeliveryError(f"network: {self._safe(exc)}", permanent=False) from exc
        except TelegramError as exc:
            raise DeliveryError(f"telegram: {self._safe(exc)}", permanent=False) from exc
        if len(data) > max_bytes:
            raise MediaTooLarge(len(data), max_bytes)
        return data


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
