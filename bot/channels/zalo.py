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

Zalo has no offset either: an update taken from getUpdates is Zalo's no more, so it stays in
hand (``Received.redelivered`` is False) until the inbox has it, and the next poll waits.
A webhook delivery is answered 200 only once recorded (``bot.webhook``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Final, Literal

import httpx

from bot.channels import text_choices
from bot.channels.base import Received, ReceiveError, Webhook, album_lines
from bot.channels.registry import ChannelNotConfigured, ChannelSetup
from bot.channels.zalo_api import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    WEBHOOK_SECRET_HEADER,
    ZaloAPIError,
    ZaloBotAPI,
    ZaloNetworkError,
    ZaloUpdate,
    split_text,
)
from bot.i18n import Catalog
from bot.media import MediaStore
from domain.errors import ChannelStartError, DeliveryError, MediaTooLarge
from domain.messages import Attachment, Button, ChatType, Inbound, InboundKind, Reply
from domain.models import Photo
from runtime.context import Clock
from storage import outbox
from storage.blobs import BlobStore
from storage.db import Database

log = logging.getLogger(__name__)

NAME: Final = "zalo"
WEBHOOK_PATH: Final = "/zalo/webhook"
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


def attachment_note(attachment: Attachment, lang: str = "vi", *, web: bool = False) -> str:
    """Why the person gets text instead of a file: Zalo wants a public URL for images,
    and has no way to send a document. Most officers are on Zalo (Telegram is blocked in
    Vietnam), so with the dashboard on, the note sends them there (/web) for the file."""
    if attachment.kind == "image":
        key = "zalo.image_not_sent"
    else:
        key = "zalo.file_on_web" if web else "zalo.file_not_sent"
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


def build(setup: ChannelSetup) -> ZaloChannel:
    """The channel as configured in [zalo], with ZALO_BOT_TOKEN (and ZALO_WEBHOOK_SECRET)."""
    token = setup.secrets.zalo_bot_token
    if token is None:
        raise ChannelNotConfigured("ZALO_BOT_TOKEN is not set")
    zalo = setup.config.zalo
    webhook = zalo.mode == "webhook" and zalo.public_base_url
    secret = setup.secrets.zalo_webhook_secret
    return ZaloChannel(
        ZaloBotAPI(token.get_secret_value(), base_url=zalo.api_base_url),
        setup.db,
        setup.clock,
        poll_timeout=zalo.poll_timeout_seconds,
        mode=zalo.mode,
        close_api=True,
        webhook_url=f"{str(zalo.public_base_url).rstrip('/')}{WEBHOOK_PATH}" if webhook else None,
        webhook_secret=secret.get_secret_value() if secret else None,
        # charts served under expiring URLs (Zalo fetches images by URL)
        media=setup.media() if zalo.public_base_url else None,
        public_base_url=zalo.public_base_url,
        attachment_text=partial(
            attachment_note,
            lang=setup.config.federation.default_language.value,
            web=setup.config.web.enabled,
        ),
        evidence=setup.evidence,
    )


class ZaloChannel:
    """The Zalo channel: turns Zalo updates into inbounds, delivers outbox rows as messages."""

    name = NAME

    def __init__(
        self,
        api: ZaloBotAPI,
        db: Database,
        clock: Clock,
        *,
        poll_timeout: int = 30,
        bot_user_id: str | None = None,
        mode: Mode = "polling",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        close_api: bool = False,
        attachment_text: Callable[[Attachment], str] = attachment_note,
        media: MediaStore | None = None,
        public_base_url: str | None = None,
        evidence: BlobStore | None = None,
    ) -> None:
        """``mode="webhook"`` means updates come through ``bot.webhook`` (the route needs
        ``webhook_secret``); with ``webhook_url`` too, the webhook is registered at start.
        ``db`` is where the choices on a chat's screen are read back from after a restart.
        ``close_api`` closes the client at :meth:`stop`.

        With both ``media`` and ``public_base_url`` (where ``bot.webhook`` serves ``media``
        under ``/media/{token}``), an image attachment goes out with ``sendPhoto``; without
        them, and for documents always, the text says why there is no file.
        """
        self.api = api
        self.clock = clock
        self.poll_timeout = poll_timeout
        self.bot_user_id = bot_user_id
        self.mode: Mode = mode
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.close_api = close_api
        self.attachment_text = attachment_text
        self.media = media
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.choices = text_choices.ChoiceMemory(partial(last_buttons_from_outbox, db), _MAX_CHATS)
        self._partial: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._in_hand: ZaloUpdate | None = None
        self._files: httpx.AsyncClient | None = None  # image URLs: any host, not the API's
        self.evidence = evidence
        # Photos of an album already sent for a reply whose text then failed (by reply).
        self._album_sent: OrderedDict[tuple[str, tuple[str, ...], str], int] = OrderedDict()

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Learn the bot's id and make sure updates come the configured way."""
        try:
            info = await self.api.get_me()
        except ZaloNetworkError as exc:
            raise ChannelStartError("zalo", "network", exc.description) from None
        except ZaloAPIError as exc:
            reason = "token" if exc.error_code in (401, 403, 404) else "refused"
            raise ChannelStartError("zalo", reason, exc.description) from None
        if info.id:
            self.bot_user_id = info.id
        if self.mode == "polling":
            await self.api.delete_webhook()  # getUpdates is refused while a webhook is set
        elif self.webhook_url and self.webhook_secret:
            await self.api.set_webhook(self.webhook_url, self.webhook_secret)

    async def stop(self) -> None:
        if self._files is not None:
            await self._files.aclose()
            self._files = None
        if self.close_api:
            await self.api.aclose()

    @property
    def polling(self) -> bool:
        return self.mode == "polling"

    # ---- receiving ------------------------------------------------------------------------

    async def receive(self) -> Received:
        """One getUpdates (at most one update). An update taken from Zalo is kept in hand
        until it could be read (its chat's choices may need the database)."""
        if self._in_hand is None:
            try:
                self._in_hand = await self.api.get_updates(timeout=self.poll_timeout)
            except ZaloAPIError as exc:
                raise ReceiveError(f"getUpdates: {exc}", retry_after=exc.retry_after) from exc
            if self._in_hand is None:
                return Received()
        inbounds = await self.inbounds(self._in_hand)
        self._in_hand = None
        return Received(inbounds)

    def webhooks(self) -> Sequence[Webhook]:
        if self.mode != "webhook":
            return ()
        return (
            Webhook(WEBHOOK_PATH, WEBHOOK_SECRET_HEADER, self.webhook_secret or "", self._parse),
        )

    async def _parse(self, body: dict[str, Any]) -> Received | None:
        """A body bare or wrapped in ``{"ok": true, "result": ...}``; None when it carries no
        usable message (a new event type, a test ping)."""
        try:
            update = ZaloUpdate.from_dict(body)
        except ValueError as exc:
            log.warning("zalo webhook: ignoring an update without a usable message: %s", exc)
            return None
        return Received(await self.inbounds(update))

    async def inbounds(self, update: ZaloUpdate) -> list[Inbound]:
        """The update as an inbound (none for the bot's own messages); a typed answer is
        read against the choices on that chat's screen."""
        message = update.message
        typed = message.text.strip() if message.text is not None else ""
        needs_buttons = update.event_name == EVENT_TEXT and bool(typed) and typed[0] != "/"
        buttons = await self.last_buttons(message.chat_id) if needs_buttons else []
        inbound = to_inbound(update, self.clock.now(), buttons, bot_user_id=self.bot_user_id)
        return [] if inbound is None else [inbound]

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

    def can_send_album(self) -> bool:
        """Evidence photos go out as photos by URL (else as a line each in the text)."""
        return self.media is not None and bool(self.public_base_url) and self.evidence is not None

    def render(self, reply: Reply) -> str:
        """The text the person reads: numbered choices, and a note for an attachment that
        cannot be sent as a photo."""
        text = text_choices.render(reply) if reply.text else ""
        if reply.album and not self.can_send_album():
            text = f"{album_lines(reply.album)}\n\n{text}" if text else album_lines(reply.album)
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
        if reply.album and self.can_send_album():
            try:
                await self._send_album(chat_id, reply)
            except ZaloAPIError as exc:
                raise _delivery_error(exc) from exc
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
        self._album_sent.pop((chat_id, reply.album, reply.text), None)
        return sent[-1] if sent else ""

    async def _chat_action(self, chat_id: str) -> None:
        """ "Typing…" before a slow answer. Zalo documents only ``typing`` (photo and file
        indicators are "coming soon"), so every action is shown as that."""
        try:
            await self.api.send_chat_action(chat_id, "typing")
        except ZaloAPIError as exc:
            raise _delivery_error(exc) from exc

    async def _send_album(self, chat_id: str, reply: Reply) -> None:
        """Each stored evidence photo by an expiring URL, once even if the text fails after."""
        assert self.evidence is not None and self.media is not None
        key = (chat_id, reply.album, reply.text)
        done = self._album_sent.pop(key, 0)
        try:
            for digest in reply.album[done:]:
                data = await asyncio.to_thread(self.evidence.read, digest)
                if data is not None:
                    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
                    token = self.media.put(data, kind, f"{digest[:16]}.jpg")
                    await self.api.send_photo(chat_id, f"{self.public_base_url}/media/{token}")
                done += 1
        finally:  # what went out is not sent again by the row's retry
            self._album_sent[key] = done
            while len(self._album_sent) > _MAX_PARTIAL:
                self._album_sent.popitem(last=False)

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

    # ---- evidence -------------------------------------------------------------------------

    async def fetch_media(self, file_ref: str, max_bytes: int) -> bytes:
        """A photo's bytes from the image URL Zalo gave (they expire: fetched at once).

        Streamed, and stopped as soon as it passes `max_bytes` (MediaTooLarge). A URL that
        answers 4xx is gone (permanent DeliveryError); 429, 5xx and network failures are
        retried by the caller."""
        if not file_ref.startswith(("https://", "http://")):
            raise DeliveryError("not an image URL", permanent=True)
        if self._files is None:
            self._files = httpx.AsyncClient(follow_redirects=True, timeout=30.0)
        chunks: list[bytes] = []
        try:
            async with self._files.stream("GET", file_ref) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise DeliveryError(f"image URL: HTTP {status}", permanent=False)
                if status >= 400:
                    raise DeliveryError(f"image URL: HTTP {status}", permanent=True)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(int(declared), max_bytes)
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise MediaTooLarge(None, max_bytes)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"network: {exc!r}", permanent=False) from exc
        return b"".join(chunks)


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
