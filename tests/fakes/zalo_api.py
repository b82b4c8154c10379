"""A fake Zalo Bot Platform API on loopback, for driving the real ``ZaloBotAPI`` over HTTP.

Why a server and not mocks: the client's URL building, JSON encoding, envelope handling, error
mapping and timeouts all run for real; only Zalo is replaced (the shared scaffolding is in
``tests/fakes/base.py``). It is written from the public reference, independently of
``bot/channels/zalo_api.py``, so the two check each other.

What it speaks (see the client's module docstring for sources):

* ``POST /bot{token}/{method}`` with a JSON body (query parameters are accepted too). A wrong
  token answers HTTP 401 ``{"ok": false, "error_code": 401, ...}``; an unknown method 404.
* ``getUpdates`` long-polls: it waits (on an ``asyncio.Event``) until a simulated user sends
  something or ``timeout`` seconds pass, then answers ONE update ``{"event_name", "message"}``,
  or HTTP 408 ``{"ok": false, "error_code": 408, "description": "Request timeout"}`` (set
  ``poll_timeout_http_status = 200`` for the ``ok:false``-in-HTTP-200 variant). Delivered
  updates are gone; :meth:`FakeZaloAPI.push_again` re-delivers a message, as Zalo may.
* The methods the bot calls, no more: ``sendMessage`` / ``sendPhoto`` / ``sendChatAction`` /
  ``getMe`` / ``setWebhook`` / ``deleteWebhook``. With ``strict`` (the default) it rejects what
  the reference says Zalo rejects: text or caption outside 1..2,000 characters, unknown chats,
  a webhook secret outside 8..256 characters.
* Errors the fake makes up itself use the same number for HTTP status and ``error_code``:
  401 bad token, 400 bad request / chat not found, 403 blocked (:meth:`FakeZaloAPI.block`),
  404 unknown method, 409 getUpdates while a webhook is set. :meth:`FakeZaloAPI.fail_next`
  injects anything else (HTTP 200 with ``ok:false``, 429 with ``retry_after``, a 502 HTML page,
  a dropped connection).

Usage::

    async with FakeZaloAPI() as fake, ZaloBotAPI(fake.token, base_url=fake.base_url) as api:
        alice = fake.user("a1", "Alice")
        alice.send("xin chào")
        update = await api.get_updates(timeout=5)
        await api.send_message(update.message.chat_id, "chào Alice")
        assert fake.texts("a1") == ["chào Alice"]
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp
from aiohttp import web

from tests.fakes.base import DROP_CONNECTION, JSON, ApiError, ChatId, FakeServer, monotonic
from tests.fakes.base import Call as BaseCall

__all__ = ["DROP_CONNECTION", "SECRET_HEADER", "ApiError", "Call", "FakeZaloAPI", "FakeZaloUser"]

ChatType = Literal["PRIVATE", "GROUP"]

DEFAULT_TOKEN: Final = "1459232241454765289:zalo-TEST-secret-token-0123456789"
BOT_ACCOUNT_NAME: Final = "bot.thidua_test"
SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"

EVENT_TEXT: Final = "message.text.received"
EVENT_IMAGE: Final = "message.image.received"
EVENT_STICKER: Final = "message.sticker.received"
EVENT_UNSUPPORTED: Final = "message.unsupported.received"

#: Methods that put a message in front of a user; the default for ``sent()``.
SEND_METHODS: Final = ("sendMessage", "sendPhoto")

TEXT_LIMIT: Final = 2000
_CHAT_ACTIONS: Final = frozenset({"typing", "upload_photo"})


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True, eq=False, repr=False)
class Call(BaseCall):
    """A Zalo Bot API call; ``error_code`` is set when the envelope said ``ok: false``."""

    @property
    def message_id(self) -> str | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return str(self.result["message_id"])
        return None


@dataclass(slots=True)
class WebhookResponse:
    """What a bot's webhook endpoint answered to :meth:`FakeZaloAPI.deliver_webhook`."""

    status: int
    text: str


# --------------------------------------------------------------------------------------------
# Simulated users
# --------------------------------------------------------------------------------------------


class FakeZaloUser:
    """A Zalo user who writes to the bot; their private chat id equals their user id.

    The ``*_update`` methods build an update without queueing it (for webhook tests); the
    ``send*`` methods queue it for ``getUpdates`` and return its ``message_id``.
    """

    def __init__(self, fake: FakeZaloAPI, user_id: str, display_name: str, *, is_bot: bool):
        self.fake = fake
        self.id = user_id
        self.display_name = display_name
        self.is_bot = is_bot

    def message(self, *, chat_id: str | None = None, chat_type: ChatType = "PRIVATE") -> JSON:
        """The common part of a message from this user, with a fresh ``message_id``."""
        chat = self.id if chat_id is None else str(chat_id)
        self.fake._chats[chat] = chat_type
        return {
            "message_id": self.fake._new_message_id(),
            "date": _now_ms(),
            "chat": {"id": chat, "chat_type": chat_type},
            "from": {"id": self.id, "display_name": self.display_name, "is_bot": self.is_bot},
        }

    def text_update(
        self, text: str, chat_id: str | None = None, chat_type: ChatType = "PRIVATE"
    ) -> JSON:
        message = self.message(chat_id=chat_id, chat_type=chat_type)
        message["text"] = text
        return {"event_name": EVENT_TEXT, "message": message}

    def image_update(
        self,
        photo_url: str,
        caption: str | None = None,
        *,
        chat_id: str | None = None,
        chat_type: ChatType = "PRIVATE",
    ) -> JSON:
        message = self.message(chat_id=chat_id, chat_type=chat_type)
        message["photo_url"] = photo_url
        if caption is not None:
            message["caption"] = caption
        return {"event_name": EVENT_IMAGE, "message": message}

    def sticker_update(
        self, sticker_id: str, *, chat_id: str | None = None, chat_type: ChatType = "PRIVATE"
    ) -> JSON:
        message = self.message(chat_id=chat_id, chat_type=chat_type)
        message["sticker"] = sticker_id
        message["url"] = f"https://stickers.example.invalid/{sticker_id}.png"
        return {"event_name": EVENT_STICKER, "message": message}

    def unsupported_update(
        self, *, chat_id: str | None = None, chat_type: ChatType = "PRIVATE"
    ) -> JSON:
        return {
            "event_name": EVENT_UNSUPPORTED,
            "message": self.message(chat_id=chat_id, chat_type=chat_type),
        }

    def send(self, text: str, chat_id: str | None = None, chat_type: ChatType = "PRIVATE") -> str:
        """Write ``text`` to the bot (privately, or in group ``chat_id``)."""
        return self.fake.push_update(self.text_update(text, chat_id, chat_type))

    def send_image(
        self,
        photo_url: str,
        caption: str | None = None,
        *,
        chat_id: str | None = None,
        chat_type: ChatType = "PRIVATE",
    ) -> str:
        return self.fake.push_update(
            self.image_update(photo_url, caption, chat_id=chat_id, chat_type=chat_type)
        )

    def send_sticker(
        self, sticker_id: str, *, chat_id: str | None = None, chat_type: ChatType = "PRIVATE"
    ) -> str:
        return self.fake.push_update(
            self.sticker_update(sticker_id, chat_id=chat_id, chat_type=chat_type)
        )

    def send_unsupported(
        self, *, chat_id: str | None = None, chat_type: ChatType = "PRIVATE"
    ) -> str:
        """A message type bots cannot read (voice, file, ...): Zalo sends no content."""
        return self.fake.push_update(self.unsupported_update(chat_id=chat_id, chat_type=chat_type))

    def __repr__(self) -> str:
        return f"<FakeZaloUser {self.id} {self.display_name!r}>"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeZaloAPI(FakeServer[Call]):
    """Fake Zalo Bot API on 127.0.0.1: serves updates, records calls, injects failures."""

    SEND_METHODS = SEND_METHODS
    NAME = "FakeZaloAPI"

    def __init__(self, token: str = DEFAULT_TOKEN, *, port: int = 0, strict: bool = True) -> None:
        super().__init__(token, port=port, strict=strict)
        self.bot_id = token.split(":", 1)[0]
        #: HTTP status of a long poll that ended without an update (Zalo's envelope says 408).
        self.poll_timeout_http_status = 408
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        #: Updates handed out by getUpdates, in order.
        self.delivered: list[JSON] = []
        #: Long polls currently waiting for an update.
        self.polls_waiting = 0

        self._ids = itertools.count(1)
        self._queue: deque[JSON] = deque()
        self._by_message_id: dict[str, JSON] = {}
        self._chats: dict[str, ChatType] = {}
        self._users: dict[str, FakeZaloUser] = {}
        self.handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    @property
    def base_url(self) -> str:
        """What to pass as ``ZaloBotAPI(base_url=...)`` (requests go to ``/bot{token}/...``)."""
        return self.url

    # ---------------------------------------------------------------- users & updates

    def user(
        self, user_id: str, display_name: str = "Test", *, is_bot: bool = False
    ) -> FakeZaloUser:
        """Create (or replace) a simulated user; their private chat becomes known to the fake."""
        user_id = str(user_id)
        person = FakeZaloUser(self, user_id, display_name, is_bot=is_bot)
        self._users[user_id] = person
        self._chats[user_id] = "PRIVATE"
        return person

    def push_update(self, update: JSON) -> str:
        """Queue any update JSON (also malformed ones, to test parsing); returns its message_id."""
        message = update.get("message")
        message_id = ""
        if isinstance(message, dict) and message.get("message_id") is not None:
            message_id = str(message["message_id"])
            self._by_message_id[message_id] = update
        self._queue.append(update)
        self._wake_polls()
        self._changed()
        return message_id

    def push_again(self, message_id: str) -> None:
        """Deliver an already queued or delivered message once more (Zalo may redeliver)."""
        self._queue.append(self._by_message_id[str(message_id)])
        self._wake_polls()
        self._changed()

    def host_image(self, name: str, data: bytes | None = None) -> str:
        """An image URL on this server, as Zalo's CDN gives for a photo a user sends: ``data``,
        or a small JPEG drawn from ``name``. ``forget_file(urlsplit(url).path)`` expires it."""
        from tests.fakes.telegram_api import picture

        return self.serve_file(f"/images/{name}", picture(name) if data is None else data)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet delivered."""
        return len(self._queue)

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        *,
        http_status: int = 200,
        error_code: int | None = None,
        description: str | None = None,
        count: int = 1,
        retry_after: int | None = None,
        chat_id: str | None = None,
        body: str | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"``: any) fail without side effects.

        ``http_status=200`` answers ``{"ok": false, "error_code": ...}`` with HTTP 200;
        ``error_code`` defaults to ``http_status`` (400 when that is 200). ``retry_after`` goes
        into ``parameters.retry_after`` and the ``Retry-After`` header. ``body`` answers that
        raw text instead of an envelope (a proxy's HTML page); ``http_status=DROP_CONNECTION``
        cuts the connection. ``chat_id`` restricts the failure to calls to that chat; ``after``
        lets that many matching calls through first (e.g. to fail the 2nd part of a long text).
        """
        code = (
            error_code if error_code is not None else (400 if http_status == 200 else http_status)
        )
        error = ApiError(
            code, description, http_status=http_status, retry_after=retry_after, body=body
        )
        chat = None if chat_id is None else str(chat_id)
        self._add_failure(method, error, count=count, chat_id=chat, after=after)

    def _blocked_error(self, chat: ChatId) -> ApiError:
        return ApiError(403, "Forbidden: the user has blocked the bot")

    # ---------------------------------------------------------------- webhook side

    async def deliver_webhook(
        self, url: str, update: JSON, secret: str | None, *, wrapped: bool = True
    ) -> WebhookResponse:
        """POST ``update`` to a bot's webhook as Zalo would, with the secret header.

        ``wrapped`` sends ``{"ok": true, "result": update}``; otherwise the bare update (public
        sources disagree on which Zalo sends, so a bot should accept both). ``secret=None``
        omits the header.
        """
        payload = {"ok": True, "result": update} if wrapped else update
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url,
                data=json.dumps(payload, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response,
        ):
            return WebhookResponse(response.status, await response.text())

    # ---------------------------------------------------------------- inspection

    def texts(self, chat_id: str, *, captions: bool = False) -> list[str]:
        """Texts the bot sent to a chat, in order (photo captions too if ``captions``)."""
        methods = ("sendMessage", "sendPhoto") if captions else ("sendMessage",)
        return [c.text for c in self.sent(chat_id, methods) if c.text is not None]

    async def wait_polling(self, n: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``n`` getUpdates long polls are parked waiting for an update."""
        await self.wait_for(
            lambda f: f.polls_waiting >= n, timeout, what=f"{n} waiting long poll(s)"
        )

    def _pending_report(self) -> str:
        return f", {self.pending_updates} update(s) pending"

    # ---------------------------------------------------------------- bookkeeping

    def _new_message_id(self) -> str:
        """Zalo ids are 20 hex digits; a counter keeps runs reproducible."""
        return f"{next(self._ids):020x}"

    def _new_call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]]) -> Call:
        raw = params.get("chat_id")
        return Call(method, params, monotonic(), chat_id=None if raw is None else str(raw))

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
        params: JSON = dict(request.query)
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Bad Request: body is not JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: body must be a JSON object")
            params.update(body)
        return params, {}

    def _ok_body(self, result: Any) -> JSON:
        return {"ok": True} if result is None else {"ok": True, "result": result}

    # ---------------------------------------------------------------- methods

    def _get_me(self, call: Call) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": BOT_ACCOUNT_NAME,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _get_updates(self, call: Call) -> JSON:
        if self.webhook_url:
            raise ApiError(409, "Conflict: getUpdates is not available while a webhook is set")
        raw = call.params.get("timeout", 30)
        try:
            timeout = max(0.0, float(raw))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: timeout must be a number of seconds") from None
        deadline = monotonic() + timeout
        self.polls_waiting += 1
        self._changed()
        try:
            while True:
                if self._queue and not self._closing:
                    update = self._queue.popleft()
                    self.delivered.append(update)
                    return update
                if monotonic() >= deadline or self._closing:
                    raise ApiError(408, http_status=self.poll_timeout_http_status)
                await self._wait_for_updates(deadline)
        finally:
            self.polls_waiting -= 1

    def _set_webhook(self, call: Call) -> JSON:
        url = call.params.get("url")
        secret = call.params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: url must be an HTTPS URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook_url = url
        self.webhook_secret = secret
        return {"url": url, "updated_at": _now_ms()}

    def _delete_webhook(self, call: Call) -> JSON:
        self.webhook_url = ""
        self.webhook_secret = None
        return {"url": "", "updated_at": _now_ms()}

    def _target(self, call: Call) -> str:
        chat_id = call.chat_id
        if not chat_id:
            raise ApiError(400, "Bad Request: chat_id is required")
        if self.strict and chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return str(chat_id)

    def _check_text(self, value: object, name: str, *, required: bool) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str):
            raise ApiError(400, f"Bad Request: {name} must be a string")
        if self.strict and not 1 <= len(value) <= TEXT_LIMIT:
            raise ApiError(400, f"Bad Request: {name} must be 1 to {TEXT_LIMIT} characters")

    def _delivered(self) -> JSON:
        return {"message_id": self._new_message_id(), "date": _now_ms()}

    def _send_message(self, call: Call) -> JSON:
        self._target(call)
        self._check_text(call.params.get("text"), "text", required=True)
        return self._delivered()

    def _send_photo(self, call: Call) -> JSON:
        self._target(call)
        photo = call.params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise ApiError(400, "Bad Request: photo (an image URL) is required")
        self._check_text(call.params.get("caption"), "caption", required=False)
        return self._delivered()

    def _send_chat_action(self, call: Call) -> None:
        self._target(call)
        if call.params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: unsupported action")
        return None  # the reference shows a bare {"ok": true}
