"""Zalo through our own ``ZaloBotAPI`` client: long polling (or webhooks), numbered text choices.

Zalo has no buttons, no message edits and no update ids, so this adapter differs from
Telegram's in three ways:

* Choices are rendered as numbered text (:mod:`bot.channels.text_choices`) and a typed answer
  ("1", "tặng quà") is resolved against the list of choices that chat was last shown, by the
  rule in :mod:`bot.channels.text_choices` (a new answer without choices clears it). The list
  is remembered in memory when delivered and, after a restart, rebuilt from the outbox, so a
  conversation continues across restarts.
* The inbox key is ``zalo:<message_id>``: Zalo may deliver a message twice and the inbox's
  unique key drops the repeat.
* An edit (``reply.edit_ref``) is sent as a new message.

Every update is recorded in the inbox (``Dispatcher.receive_many``) before the next poll is
made or the webhook is answered, then handled in a task of its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Final, Literal

from bot.channels import text_choices
from bot.channels.zalo_api import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    ZaloAPIError,
    ZaloBotAPI,
    ZaloNetworkError,
    ZaloUpdate,
    split_text,
)
from bot.health import Health
from bot.i18n import Catalog
from bot.media import MediaStore
from bot.supervisor import supervise
from domain.errors import ChannelStartError, DatabaseLost, DeliveryError
from domain.messages import Attachment, Button, ChatType, Inbound, InboundKind, Reply
from domain.models import Photo
from runtime.context import Clock
from runtime.dispatcher import Dispatcher
from storage import outbox
from storage.db import Database

log = logging.getLogger(__name__)

NAME: Final = "zalo"
#: How many recent outbox rows of a chat are looked at for its choices after a restart.
_OUTBOX_LOOKBACK: Final = 20
#: Chats whose choices are kept in memory (least recently used are dropped, then re-read).
_MAX_CHATS: Final = 10_000
#: Split messages whose first parts went out before a failure (so a retry skips them).
_MAX_PARTIAL: Final = 1_000
#: Content types by file extension for images sent by URL (anything else: PNG).
_IMAGE_TYPES: Final = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}

Mode = Literal["polling", "webhook"]


_CATALOG = Catalog()


def attachment_note(attachment: Attachment, lang: str = "vi") -> str:
    """Why the person gets text instead of a file: Zalo wants a public URL for images,
    and has no way to send a document."""
    key = "zalo.image_not_sent" if attachment.kind == "image" else "zalo.file_not_sent"
    return _CATALOG(lang, key, filename=attachment.filename)


def to_inbound(
    update: ZaloUpdate,
    now: dt.datetime,
    buttons: Sequence[Button] = (),
    *,
    bot_user_id: str | None = None,
) -> Inbound | None:
    """A Zalo update as a plain ``Inbound``; ``None`` for what the bot must ignore (itself).

    ``buttons`` are the choices this chat was last shown (``text_choices``): a typed
    number or name that means exactly one of them becomes a CHOICE; anything else (a number
    beyond the list, a name shared by two choices) stays TEXT and the handler explains.
    """
    message = update.message
    if message.sender_is_bot or (bot_user_id and message.sender_id == bot_user_id):
        return None
    base = Inbound(
        channel=NAME,
        key=f"{NAME}:{message.message_id}",
        chat_id=message.chat_id,
        chat_type=ChatType.GROUP if message.chat_type == "GROUP" else ChatType.PRIVATE,
        sender_id=message.sender_id,
        sender_name=message.sender_name or "",
        kind=InboundKind.UNSUPPORTED,
        received_at=now,
        message_ref=message.message_id,
        has_buttons=False,
    )
    event = update.event_name
    if event == EVENT_TEXT and message.text is not None:
        text = message.text
        stripped = text.strip()
        if stripped.startswith("/"):
            name, _, args = stripped[1:].partition(" ")
            return replace(
                base, kind=InboundKind.COMMAND, text=text, command=name.lower(), args=args.strip()
            )
        chosen = text_choices.resolve(text, buttons)
        if chosen is not None:
            # Zalo cannot edit the message the choice came from, so there is nothing to refer to.
            return replace(
                base, kind=InboundKind.CHOICE, text=text, choice=chosen.data, message_ref=""
            )
        return replace(base, kind=InboundKind.TEXT, text=text)
    if event == EVENT_IMAGE and message.photo_url:
        photo = Photo(NAME, message.photo_url, message.message_id, 0)
        return replace(base, kind=InboundKind.PHOTO, text=message.text or "", photos=(photo,))
    if event == EVENT_STICKER:
        return replace(base, kind=InboundKind.STICKER)
    return base


async def last_buttons_from_outbox(db: Database, chat_id: str, channel: str = NAME) -> list[Button]:
    """The choices a chat's newest outbox rows leave on screen (see ``text_choices``).

    Used when memory is empty (after a restart, or a reply sent by another process).
    """
    async with db.transaction() as tx:
        replies = await outbox.recent_replies(tx, channel, chat_id, _OUTBOX_LOOKBACK)
    return text_choices.from_history(replies)


class ZaloChannel:
    """The Zalo channel: receives into the dispatcher, delivers outbox rows as Zalo messages."""

    name = NAME

    def __init__(
        self,
        api: ZaloBotAPI,
        dispatcher: Dispatcher,
        clock: Clock,
        *,
        poll_timeout: int = 30,
        bot_user_id: str | None = None,
        mode: Mode = "polling",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        close_api: bool = False,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
        attachment_text: Callable[[Attachment], str] = attachment_note,
        media: MediaStore | None = None,
        public_base_url: str | None = None,
    ) -> None:
        """``mode="webhook"`` skips the poller (updates come through ``bot.webhook``) and, with
        ``webhook_url`` and ``webhook_secret``, registers the webhook at start. ``close_api``
        closes the client at :meth:`stop`. ``retry_base``/``retry_max`` pace polling after
        errors.

        With both ``media`` and ``public_base_url`` (where ``bot.webhook`` serves ``media``
        under ``/media/{token}``), an image attachment goes out with ``sendPhoto``; without
        them, and for documents always, the text says why there is no file.
        """
        self.api = api
        self.dispatcher = dispatcher
        self.clock = clock
        self.poll_timeout = poll_timeout
        self.bot_user_id = bot_user_id
        self.mode: Mode = mode
        self.health: Health | None = None
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.close_api = close_api
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.attachment_text = attachment_text
        self.media = media
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.choices = text_choices.ChoiceMemory(
            partial(last_buttons_from_outbox, dispatcher.db), _MAX_CHATS
        )
        self._partial: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._receiving = False

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Learn the bot's id, make sure updates come the configured way, start receiving."""
        try:
            info = await self.api.get_me()
        except ZaloNetworkError as exc:
            raise ChannelStartError("zalo", "network", exc.description) from None
        except ZaloAPIError as exc:
            reason = "token" if exc.error_code in (401, 403, 404) else "refused"
            raise ChannelStartError("zalo", reason, exc.description) from None
        if info.id:
            self.bot_user_id = info.id
        self._receiving = True
        if self.mode == "polling":
            await self.api.delete_webhook()  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(
                supervise(f"{self.name}.receive", self._poll, self.health), name="zalo-poll"
            )
        elif self.webhook_url and self.webhook_secret:
            await self.api.set_webhook(self.webhook_url, self.webhook_secret)

    async def stop_receiving(self) -> None:
        """No new updates (the webhook answers 503 from now on); delivering still works."""
        self._receiving = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def stop(self, grace: float = 5.0) -> None:
        """Stop receiving and let handlers under way finish; unfinished ones stay in the inbox."""
        await self.stop_receiving()
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.close_api:
            await self.api.aclose()

    @property
    def polling(self) -> bool:
        return self.mode == "polling"

    @property
    def receiving(self) -> bool:
        return self._receiving

    # ---- receiving ------------------------------------------------------------------------

    async def _poll(self) -> None:
        """getUpdates forever; each update is in the inbox before the next poll is made."""
        delay = self.retry_base
        while True:
            try:
                update = await self.api.get_updates(timeout=self.poll_timeout)
                if self.health is not None:
                    self.health.ok(f"{self.name}.receive")
            except asyncio.CancelledError:
                raise
            except ZaloAPIError as exc:
                wait = exc.retry_after if exc.retry_after is not None else delay
                log.warning("zalo getUpdates failed: %s; retrying in %.1fs", exc, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_base
            if update is None:
                continue
            await self._record(update)

    async def _record(self, update: ZaloUpdate) -> None:
        """Zalo has no offset to rewind: keep the update in hand until the inbox has it."""
        delay = self.retry_base
        while True:
            try:
                await self.ingest(update)
                return
            except asyncio.CancelledError:
                raise
            except DatabaseLost:
                log.critical("zalo: update %s not recorded: database lost", update.message_id)
                raise
            except Exception:
                log.exception(
                    "zalo: could not record update %s; retrying in %.1fs", update.message_id, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)

    async def ingest(self, update: ZaloUpdate) -> Inbound | None:
        """Record one update in the inbox and start handling it; returns it when it is new.

        Returns once the update is durable, so a webhook may answer 200 right after.
        """
        message = update.message
        typed = message.text.strip() if message.text is not None else ""
        needs_buttons = update.event_name == EVENT_TEXT and bool(typed) and typed[0] != "/"
        buttons = await self.last_buttons(message.chat_id) if needs_buttons else []
        inbound = to_inbound(update, self.clock.now(), buttons, bot_user_id=self.bot_user_id)
        if inbound is None:
            return None
        fresh = await self.dispatcher.receive_many([inbound])
        if not fresh:
            return None  # delivered before: already handled or being handled
        task = asyncio.create_task(
            self.dispatcher.process(inbound.conversation_key), name=f"zalo-{inbound.key}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return inbound

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("zalo: handling failed", exc_info=task.exception())

    async def wait_handled(self) -> None:
        """Until every update received so far is handled (for shutdown and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def last_buttons(self, chat_id: str) -> list[Button]:
        """The choices on the person's screen: memory first, else the outbox."""
        return await self.choices.current(chat_id)

    # ---- sending --------------------------------------------------------------------------

    def can_send_photo(self, reply: Reply) -> bool:
        """True when the reply's attachment is an image this channel can send by URL."""
        return (
            reply.attachment is not None
            and reply.attachment.kind == "image"
            and self.media is not None
            and bool(self.public_base_url)
        )

    def render(self, reply: Reply) -> str:
        """The text the person reads: numbered choices, and a note for an attachment that
        cannot be sent as a photo."""
        text = text_choices.render(reply) if reply.text else ""
        if reply.attachment is not None and not self.can_send_photo(reply):
            note = self.attachment_text(reply.attachment)
            text = f"{text}\n\n{note}" if text.strip() else note
        return text

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send one reply (split at 2,000 characters); returns the last part's message id.

        An edit becomes a new message. An image attachment goes out as a photo (see
        :meth:`can_send_photo`) captioned with the first part, the other parts following as
        texts. If a reply fails part-way, the parts that went out are remembered and a retry of
        the same row sends only the rest.
        """
        if reply.action is not None:
            await self._chat_action(chat_id)
            return ""
        text = self.render(reply)
        parts = split_text(text)
        photo = self.can_send_photo(reply)
        if not parts and not photo:
            raise DeliveryError("empty message: nothing to send on Zalo", permanent=True)
        # What a typed "1" means from now on (see text_choices.after). Remembered before
        # sending: the person may answer the moment the message shows, and the row is
        # committed, so it will be on screen even if this attempt fails.
        self.choices.shown(chat_id, reply)
        # Steps: with a photo, step 0 is the photo carrying parts[0]; then one text per part.
        texts = parts[1:] if photo else parts
        offset = 1 if photo else 0
        key = (chat_id, f"\x00photo\x00{text}" if photo else text)
        sent = self._partial.pop(key, [])
        try:
            if photo and not sent:
                sent.append(await self._send_photo(chat_id, reply, parts[0] if parts else None))
            for part in texts[len(sent) - offset :]:
                sent.extend(await self.api.send_message(chat_id, part))
        except ZaloAPIError as exc:
            sent.extend(exc.sent_message_ids)
            if sent and not exc.permanent:
                self._partial[key] = sent
                while len(self._partial) > _MAX_PARTIAL:
                    self._partial.popitem(last=False)
            raise _delivery_error(exc) from exc
        except ValueError as exc:  # the client refused the text itself
            raise DeliveryError(f"invalid message: {exc}", permanent=True) from exc
        return sent[-1] if sent else ""

    async def _chat_action(self, chat_id: str) -> None:
        """ "Typing…" before a slow answer. Zalo documents only ``typing`` (photo and file
        indicators are "coming soon"), so every action is shown as that."""
        try:
            await self.api.send_chat_action(chat_id, "typing")
        except ZaloAPIError as exc:
            raise _delivery_error(exc) from exc

    async def _send_photo(self, chat_id: str, reply: Reply, caption: str | None) -> str:
        """Put the image in the media store and have Zalo fetch it from its public URL."""
        attachment = reply.attachment
        assert attachment is not None and self.media is not None and self.public_base_url
        try:
            data = base64.b64decode(attachment.data_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeliveryError(f"invalid image data: {exc}", permanent=True) from exc
        extension = attachment.filename.rpartition(".")[2].lower()
        content_type = _IMAGE_TYPES.get(extension, "image/png")
        token = self.media.put(data, content_type, attachment.filename)
        url = f"{self.public_base_url}/media/{token}"
        return await self.api.send_photo(chat_id, url, caption=caption or None)


def _delivery_error(exc: ZaloAPIError) -> DeliveryError:
    """What the outbox needs to know: retry (when), give up, or give up on the person."""
    if isinstance(exc, ZaloNetworkError):
        return DeliveryError(f"network: {exc.description}", permanent=False)
    reason = f"{exc.error_code}: {exc.description}"
    if exc.permanent:
        text = exc.description.lower()
        unreachable = (
            exc.error_code == 403
            or "blocked" in text
            or "chat not found" in text
            or "user not found" in text
        )
        return DeliveryError(reason, permanent=True, unreachable=unreachable)
    # 429 says when (retry_after); 5xx and ok:false with an unknown code get the backoff.
    return DeliveryError(reason, permanent=False, retry_after=exc.retry_after)
