"""A thin async client for the Zalo Bot Platform API (``bot-api.zaloplatforms.com``).

Why our own client: the official SDK (``python-zalo-bot``) is a fork of python-telegram-bot with
its own application loop; thidua only needs eight HTTP calls, typed errors its outbox can act on,
and a token that never leaks. This module knows the wire format and nothing about the bot.

Wire format (what we rely on)
-----------------------------
* Every call is ``POST {base_url}/bot{TOKEN}/{method}`` with a JSON body (``{}`` when the method
  takes no parameters). The answer is an envelope ``{"ok", "result", "error_code",
  "description"}``; HTTP 200 can still carry ``"ok": false``, so the envelope -- not the HTTP
  status -- decides, and any failure raises :class:`ZaloAPIError`.
* ``getUpdates`` is a long poll that returns ONE update (an object, not Telegram's list) and has
  no ``offset``/``update_id``: an update is gone once delivered, and Zalo may deliver the same
  message twice, so callers deduplicate by ``message_id``. A poll that times out answers error
  code 408 ("Request timeout"); :meth:`ZaloBotAPI.get_updates` turns that into ``None``.
* ``sendMessage`` text and ``sendPhoto`` captions are 1..2,000 characters. ``send_message``
  splits longer text on line boundaries (:func:`split_text`) and sends the parts in order.
* Webhook deliveries carry the secret given to ``setWebhook`` in ``X-Bot-Api-Secret-Token``.

Sources read (stored public copies): the Vietnamese API reference mirrored in
XuanNguyenNB/QuanLyThuChi_Bot_Telegram_Zalom ``docs/ZALO_BOT_API.md`` (methods, parameters,
sample answers; links to https://bot.zaloplatforms.com/docs); the PyPI page of
``python-zalo-bot`` (``get_update(timeout=...)`` returns a single update); the slots of its
``Message`` class (``message_id, date, chat, text, from_user, sticker, photo_url,
message_type``); the Zalo channel of hanzobot/bot (``extensions/zalo/src/monitor.ts``: event
names, 408 = no update, webhook body sometimes wrapped in ``{ok, result}``); typings in other
public clients showing ``from: {id, display_name, is_bot}`` and ``photo_url``.

Where the sources disagree or are silent, the choices made here
-----------------------------------------------------------------
* Field names vary between sources (``photo_url`` vs ``photo``; ``display_name`` vs ``name`` vs
  ``first_name``; ``sticker`` vs ``sticker_id``; the reference's getUpdates sample even lacks
  ``event_name``). Parsing accepts every spelling seen, and infers ``event_name`` from the
  content when it is missing. Unknown keys are ignored.
* ``date`` is epoch milliseconds in the samples (``1766619597466``); values below 10**11 are
  taken as seconds. It is exposed as an aware UTC ``datetime``.
* An image's caption is exposed as ``ZaloMessage.text``: for the bot it is what the user typed.
* The reference gives ``timeout`` for getUpdates as a String, so it is sent as ``"30"``.
* If ``result`` of getUpdates is ever a list, extra updates are kept and returned by the next
  calls without a request, so nothing is dropped.
* No error-code table is published for the Bot Platform. Codes are read HTTP-style: 4xx other
  than 408/409/425/429 are permanent (bad request, blocked, not found, bad token); 408, 409,
  425, 429, 5xx, unknown codes and network failures are transient. ``retry_after`` is read from
  ``parameters.retry_after`` or ``retry_after`` in the body, else the ``Retry-After`` header.
* The 2,000 limit is counted in UTF-16 code units (emoji count twice), the stricter reading of
  "characters", so a part is never too long whichever way Zalo counts.
* The token: URLs contain it, and httpx logs every URL at INFO. A logging filter on the
  ``httpx`` logger redacts every token a ``ZaloBotAPI`` was built with; error messages are
  redacted too and httpx exceptions are not chained (their messages may carry the URL).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Literal, Self
from urllib.parse import quote

import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "EVENT_IMAGE",
    "EVENT_STICKER",
    "EVENT_TEXT",
    "EVENT_UNSUPPORTED",
    "KNOWN_EVENTS",
    "TEXT_LIMIT",
    "WEBHOOK_SECRET_HEADER",
    "ChatType",
    "ZaloAPIError",
    "ZaloBotAPI",
    "ZaloBotInfo",
    "ZaloMessage",
    "ZaloNetworkError",
    "ZaloUpdate",
    "ZaloWebhookInfo",
    "split_text",
    "verify_webhook_secret",
]

JSON = dict[str, Any]
ChatType = Literal["PRIVATE", "GROUP"]

DEFAULT_BASE_URL: Final = "https://bot-api.zaloplatforms.com"
#: Longest ``text`` / ``caption`` Zalo accepts in one message.
TEXT_LIMIT: Final = 2000
#: Header carrying the ``secret_token`` of ``setWebhook`` on every webhook delivery.
WEBHOOK_SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"

EVENT_TEXT: Final = "message.text.received"
EVENT_IMAGE: Final = "message.image.received"
EVENT_STICKER: Final = "message.sticker.received"
EVENT_UNSUPPORTED: Final = "message.unsupported.received"
KNOWN_EVENTS: Final = frozenset({EVENT_TEXT, EVENT_IMAGE, EVENT_STICKER, EVENT_UNSUPPORTED})

_REDACTED: Final = "<redacted>"
#: Codes that look like client errors but are worth retrying.
_TRANSIENT_4XX: Final = frozenset({408, 409, 425, 429})
#: A poll that ended without an update (not an error).
_POLL_TIMEOUT: Final = 408

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Token redaction
# --------------------------------------------------------------------------------------------


class _TokenRedactor(logging.Filter):
    """Rewrites log records so no known bot token survives (httpx logs full request URLs)."""

    def __init__(self) -> None:
        super().__init__("zalo-token-redactor")
        self.secrets: set[str] = set()

    def add(self, token: str) -> None:
        for variant in _token_variants(token):
            self.secrets.add(variant)

    def redact(self, text: str) -> str:
        # Longest first, so a token is replaced whole before its secret half is looked for.
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's problem, not ours
            return True
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def _token_variants(token: str) -> list[str]:
    """The token as it may appear in text: raw, URL-quoted, and its secret half alone."""
    variants = {token, quote(token, safe=""), quote(token, safe=":@")}
    _, sep, secret = token.partition(":")
    if sep and len(secret) >= 8:
        variants.add(secret)
    return [v for v in variants if v]


_REDACTOR: Final = _TokenRedactor()
for _name in ("httpx", __name__):
    logging.getLogger(_name).addFilter(_REDACTOR)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ZaloAPIError(Exception):
    """Zalo refused a call (``ok: false`` or an HTTP error); ``permanent`` says if a retry helps.

    ``error_code`` is the envelope's ``error_code`` (else the HTTP status); ``retry_after`` is
    set for rate limiting when Zalo says how long to wait. ``sent_message_ids`` lists the parts
    of a split ``send_message`` that were delivered before this error, so a caller can tell a
    partial delivery from none.
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        retry_after: float | None = None,
        *,
        method: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.method = method
        self.http_status = http_status
        self.sent_message_ids: tuple[str, ...] = ()
        super().__init__(self._message())

    @property
    def permanent(self) -> bool:
        """True when resending the same request cannot succeed (blocked, not found, bad data)."""
        code = self.error_code
        return 400 <= code < 500 and code not in _TRANSIENT_4XX

    def _message(self) -> str:
        where = f"Zalo {self.method}" if self.method else "Zalo"
        text = f"{where} failed: [{self.error_code}] {self.description}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(error_code={self.error_code!r}, "
            f"description={self.description!r}, retry_after={self.retry_after!r}, "
            f"method={self.method!r})"
        )


class ZaloNetworkError(ZaloAPIError):
    """No answer from Zalo (connection refused or dropped, timeout); always transient.

    A subclass of :class:`ZaloAPIError` so one ``except`` covers every failed call;
    ``error_code`` is 0 because there was no HTTP answer.
    """

    def __init__(self, description: str, *, method: str | None = None) -> None:
        super().__init__(0, description, None, method=method, http_status=None)

    @property
    def permanent(self) -> bool:
        return False


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZaloMessage:
    """One message a user sent the bot, flattened from Zalo's ``message`` object.

    ``chat_id`` is where replies go (for a private chat it equals ``sender_id``); ``text`` is the
    text, or an image's caption; ``date`` is ``None`` when Zalo sent none.
    """

    message_id: str
    chat_id: str
    chat_type: ChatType
    sender_id: str
    sender_name: str | None = None
    sender_is_bot: bool = False
    text: str | None = None
    photo_url: str | None = None
    sticker: str | None = None
    date: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZaloMessage:
        """Parse tolerantly: only ``message_id`` and one of ``chat.id`` / ``from.id`` are required.

        Raises ``ValueError`` when those are missing (nothing could be answered or deduplicated).
        """
        message_id = _text(data.get("message_id")) or _text(data.get("msg_id"))
        if not message_id:
            raise ValueError("Zalo message without message_id")
        chat = _mapping(data.get("chat"))
        sender = _mapping(data.get("from")) or _mapping(data.get("sender"))
        chat_id = _text(chat.get("id"))
        sender_id = _text(sender.get("id"))
        if not chat_id and not sender_id:
            raise ValueError("Zalo message without chat.id or from.id")
        raw_type = (_text(chat.get("chat_type")) or _text(chat.get("type")) or "").upper()
        chat_type: ChatType = "GROUP" if raw_type == "GROUP" else "PRIVATE"
        name = (
            _text(sender.get("display_name"))
            or _text(sender.get("name"))
            or _text(sender.get("first_name"))
        )
        text = data.get("text") if isinstance(data.get("text"), str) else data.get("caption")
        photo = _text(data.get("photo_url")) or _text(data.get("photo"))
        if photo is None and _text(data.get("message_type")) in {"IMAGE", "PHOTO"}:
            photo = _text(data.get("url"))
        return cls(
            message_id=message_id,
            chat_id=chat_id or sender_id or "",
            chat_type=chat_type,
            sender_id=sender_id or chat_id or "",
            sender_name=name,
            sender_is_bot=sender.get("is_bot") is True,
            text=text if isinstance(text, str) else None,
            photo_url=photo,
            sticker=_text(data.get("sticker")) or _text(data.get("sticker_id")),
            date=_timestamp(data.get("date")),
        )


@dataclass(frozen=True, slots=True)
class ZaloUpdate:
    """One event from ``getUpdates`` or a webhook: an ``event_name`` and the message.

    ``raw`` keeps the JSON as received (for the inbox and for debugging); it is left out of
    equality and repr.
    """

    event_name: str
    message: ZaloMessage
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZaloUpdate:
        """Parse an update, bare or wrapped in ``{"ok": true, "result": {...}}`` (webhooks vary).

        A missing ``event_name`` is inferred from the content. Raises ``ValueError`` when there
        is no usable message.
        """
        if "message" not in data and isinstance(data.get("result"), Mapping):
            data = data["result"]
        body = data.get("message")
        if not isinstance(body, Mapping):
            raise ValueError("Zalo update without a message object")
        message = ZaloMessage.from_dict(body)
        event = _text(data.get("event_name")) or _infer_event(message)
        return cls(event_name=event, message=message, raw=dict(data))

    @property
    def message_id(self) -> str:
        """The deduplication key: Zalo updates have no id of their own."""
        return self.message.message_id


@dataclass(frozen=True, slots=True)
class ZaloBotInfo:
    """What ``getMe`` says about the bot (the reference shows ``account_name``)."""

    id: str
    account_name: str | None = None
    display_name: str | None = None
    account_type: str | None = None
    can_join_groups: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZaloBotInfo:
        return cls(
            id=_text(data.get("id")) or "",
            account_name=_text(data.get("account_name")) or _text(data.get("username")),
            display_name=_text(data.get("display_name")) or _text(data.get("name")),
            account_type=_text(data.get("account_type")),
            can_join_groups=data.get("can_join_groups") is True,
        )


@dataclass(frozen=True, slots=True)
class ZaloWebhookInfo:
    """The webhook Zalo has on file: ``url`` is empty when none is set."""

    url: str
    updated_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZaloWebhookInfo:
        return cls(url=_text(data.get("url")) or "", updated_at=_timestamp(data.get("updated_at")))


# --------------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    """Strings (and numbers, which some ids arrive as) as ``str``; empty means absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(value)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _timestamp(value: object) -> datetime | None:
    """Epoch milliseconds (what Zalo sends) or seconds, as an aware UTC datetime."""
    number = _number(value)
    if number is None or number <= 0:
        return None
    seconds = number / 1000 if number >= 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _infer_event(message: ZaloMessage) -> str:
    if message.photo_url:
        return EVENT_IMAGE
    if message.sticker:
        return EVENT_STICKER
    if message.text is not None:
        return EVENT_TEXT
    return EVENT_UNSUPPORTED


def _retry_after(body: Mapping[str, Any] | None, response: httpx.Response) -> float | None:
    if body is not None:
        for value in (_mapping(body.get("parameters")).get("retry_after"), body.get("retry_after")):
            number = _number(value)
            if number is not None and number >= 0:
                return number
    header = _number(response.headers.get("retry-after"))
    return header if header is not None and header >= 0 else None


def verify_webhook_secret(expected: str, received: str | None) -> bool:
    """Compare a webhook's ``X-Bot-Api-Secret-Token`` header in constant time."""
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


# --------------------------------------------------------------------------------------------
# Splitting long text
# --------------------------------------------------------------------------------------------


def _units(text: str) -> int:
    """Length in UTF-16 code units: the stricter way a server may count "characters"."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut(line: str, limit: int) -> tuple[str, str]:
    """Take the longest head of ``line`` within ``limit``; prefer a space in its second half."""
    units = 0
    end = len(line)
    for index, char in enumerate(line):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            end = index
            break
    if end >= len(line):
        return line, ""
    space = line.rfind(" ", 0, end)
    if space >= end // 2:
        end = space + 1  # the space stays at the end of the head, nothing is lost
    return line[:end], line[end:]


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` characters, on line boundaries.

    Lines are packed greedily; the newline where a split happens is dropped. A single line
    longer than the limit is cut (at a space when one is near the limit, else hard). Parts
    with nothing but whitespace are dropped, so ``""`` gives ``[]``.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 (a UTF-16 surrogate pair)")
    if not text.strip():
        return []
    if _units(text) <= limit:
        return [text]
    parts: list[str] = []
    lines: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if lines:
            parts.append("\n".join(lines))
            lines.clear()
        size = 0

    for raw_line in text.split("\n"):
        line = raw_line
        while _units(line) > limit:
            flush()
            head, line = _cut(line, limit)
            parts.append(head)
        extra = _units(line) + (1 if lines else 0)
        if lines and size + extra > limit:
            flush()
            extra = _units(line)
        lines.append(line)
        size += extra
    flush()
    return [part.strip("\n") for part in parts if part.strip()]


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class ZaloBotAPI:
    """Async client for one Zalo bot; use as ``async with ZaloBotAPI(token) as api: ...``.

    ``client`` is the test seam: pass an ``httpx.AsyncClient`` (pointed anywhere, or with a
    ``MockTransport``); it is then the caller's to close. ``timeout`` bounds every request;
    ``getUpdates`` gets its poll time on top, so a long poll is never cut short by it.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = 35.0,
    ) -> None:
        if not token or any(ch.isspace() or ch == "/" for ch in token):
            raise ValueError("a Zalo bot token is a non-empty string without spaces or '/'")
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        _REDACTOR.add(token)
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._backlog: deque[ZaloUpdate] = deque()

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """The API root requests go to (without ``/bot{token}``)."""
        return self._base_url

    @property
    def bot_id(self) -> str | None:
        """The public half of the token (``{bot_id}:{secret}``), handy in logs."""
        head, sep, _ = self._token.partition(":")
        return head if sep and head else None

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<ZaloBotAPI bot_id={self.bot_id!r} base_url={self._base_url!r}>"

    # ---------------------------------------------------------------- methods

    async def get_me(self) -> ZaloBotInfo:
        """Check the token and learn the bot's id and name."""
        return ZaloBotInfo.from_dict(_mapping(await self._call("getMe")))

    async def get_updates(self, timeout: int = 30) -> ZaloUpdate | None:  # noqa: ASYNC109
        """Long-poll for one update; ``None`` when ``timeout`` seconds pass without one.

        Raises ``ZaloAPIError`` for real failures (e.g. a webhook is set, bad token) and
        ``ZaloNetworkError`` when Zalo cannot be reached. A malformed update is logged (without
        its content) and skipped.
        """
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        if self._backlog:
            return self._backlog.popleft()
        try:
            result = await self._call(
                "getUpdates", {"timeout": str(timeout)}, read_timeout=self._timeout + timeout
            )
        except ZaloAPIError as exc:
            if not isinstance(exc, ZaloNetworkError) and _POLL_TIMEOUT in (
                exc.error_code,
                exc.http_status,
            ):
                return None
            raise
        items = result if isinstance(result, list) else [result]
        updates: list[ZaloUpdate] = []
        for item in items:
            if not isinstance(item, Mapping) or not item:
                continue
            try:
                updates.append(ZaloUpdate.from_dict(item))
            except ValueError as exc:
                log.warning("Skipping a Zalo update that cannot be parsed: %s", exc)
        if not updates:
            return None
        self._backlog.extend(updates[1:])
        return updates[0]

    async def set_webhook(self, url: str, secret_token: str) -> ZaloWebhookInfo:
        """Have Zalo POST updates to ``url`` (HTTPS), signed with ``secret_token`` (8-256 chars)."""
        result = await self._call("setWebhook", {"url": url, "secret_token": secret_token})
        info = ZaloWebhookInfo.from_dict(_mapping(result))
        return info if info.url else ZaloWebhookInfo(url=url, updated_at=info.updated_at)

    async def delete_webhook(self) -> None:
        """Remove the webhook so that ``getUpdates`` works again."""
        await self._call("deleteWebhook")

    async def send_message(self, chat_id: str, text: str) -> list[str]:
        """Send ``text``, split into parts of at most 2,000 characters; return their message ids.

        Parts go out in order, one request each. If a later part fails, the raised error's
        ``sent_message_ids`` lists the parts already delivered.
        """
        parts = split_text(text)
        if not parts:
            raise ValueError("cannot send an empty message")
        return await self._send_parts(str(chat_id), parts)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> str:
        """Send an image by URL; return its message id.

        A caption over 2,000 characters is split: the first part rides with the photo, the rest
        follow as text messages, so nothing is lost.
        """
        if not photo_url:
            raise ValueError("photo_url is required")
        parts = split_text(caption) if caption else []
        payload: JSON = {"chat_id": str(chat_id), "photo": photo_url}
        if parts:
            payload["caption"] = parts[0]
        photo_id = _message_id(await self._call("sendPhoto", payload))
        if len(parts) > 1:
            try:
                await self._send_parts(str(chat_id), parts[1:])
            except ZaloAPIError as exc:
                exc.sent_message_ids = (photo_id, *exc.sent_message_ids)
                raise
        return photo_id

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """Show "typing..." (Zalo documents ``typing``; ``upload_photo`` is "coming soon")."""
        await self._call("sendChatAction", {"chat_id": str(chat_id), "action": action})

    # ---------------------------------------------------------------- internals

    async def _send_parts(self, chat_id: str, parts: list[str]) -> list[str]:
        ids: list[str] = []
        for part in parts:
            try:
                result = await self._call("sendMessage", {"chat_id": chat_id, "text": part})
            except ZaloAPIError as exc:
                exc.sent_message_ids = tuple(ids)
                raise
            ids.append(_message_id(result))
        return ids

    async def _call(
        self, method: str, payload: JSON | None = None, *, read_timeout: float | None = None
    ) -> Any:
        """POST one method and unwrap the envelope; every failure becomes a ``ZaloAPIError``."""
        url = f"{self._base_url}/bot{self._token}/{method}"
        timeout = httpx.Timeout(
            self._timeout, read=read_timeout if read_timeout is not None else self._timeout
        )
        started = time.monotonic()
        try:
            response = await self._client.post(url, json=payload or {}, timeout=timeout)
        except httpx.HTTPError as exc:
            # Not chained: httpx messages and their requests may contain the URL, i.e. the token.
            detail = _REDACTOR.redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
            raise ZaloNetworkError(detail, method=method) from None
        log.debug(
            "Zalo %s -> HTTP %d in %.0f ms",
            method,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        try:
            body = response.json()
        except ValueError:  # not JSON (a proxy's HTML page) or not UTF-8
            body = None
        envelope = body if isinstance(body, Mapping) and "ok" in body else None
        if envelope is not None and envelope.get("ok") is True:
            return envelope.get("result")
        status = response.status_code
        if envelope is not None:
            code_number = _number(envelope.get("error_code"))
            code = int(code_number) if code_number is not None else status
            description = _text(envelope.get("description")) or response.reason_phrase
        else:
            code = status
            description = f"HTTP {status} {response.reason_phrase}: not a Bot API answer".strip()
        raise ZaloAPIError(
            code,
            _REDACTOR.redact(description or "unknown error"),
            _retry_after(envelope, response),
            method=method,
            http_status=status,
        )


def _message_id(result: object) -> str:
    """The id of a message Zalo accepted ("" if it did not say; the message was still sent)."""
    return _text(_mapping(result).get("message_id")) or ""
