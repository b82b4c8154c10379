"""A fake Zalo Bot Platform API on loopback, for driving the real ``ZaloBotAPI`` over HTTP.

Why a server and not mocks: the client's URL building, JSON encoding, envelope handling, error
mapping and timeouts all run for real; only Zalo is replaced, by an aiohttp app bound to
127.0.0.1 on a free port. It is written from the public reference, independently of
``bot/channels/zalo_api.py``, so the two check each other.

What it speaks (see the client's module docstring for sources):

* ``POST /bot{token}/{method}`` with a JSON body (query parameters are accepted too). A wrong
  token answers HTTP 401 ``{"ok": false, "error_code": 401, ...}``; an unknown method 404.
* ``getUpdates`` long-polls: it waits (on an ``asyncio.Event``) until a simulated user sends
  something or ``timeout`` seconds pass, then answers ONE update ``{"event_name", "message"}``,
  or HTTP 408 ``{"ok": false, "error_code": 408, "description": "Request timeout"}`` (set
  ``poll_timeout_http_status = 200`` for the ``ok:false``-in-HTTP-200 variant). Delivered
  updates are gone; :meth:`FakeZaloAPI.push_again` re-delivers a message, as Zalo may.
* ``sendMessage`` / ``sendPhoto`` / ``sendSticker`` / ``sendChatAction`` / ``getMe`` /
  ``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo``. With ``strict`` (the default) it
  rejects what the reference says Zalo rejects: text or caption outside 1..2,000 characters,
  unknown chats, a webhook secret outside 8..256 characters.
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

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
ChatType = Literal["PRIVATE", "GROUP"]

DEFAULT_TOKEN: Final = "1459232241454765289:zalo-TEST-secret-token-0123456789"
BOT_ACCOUNT_NAME: Final = "bot.thidua_test"
SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"

EVENT_TEXT: Final = "message.text.received"
EVENT_IMAGE: Final = "message.image.received"
EVENT_STICKER: Final = "message.sticker.received"
EVENT_UNSUPPORTED: Final = "message.unsupported.received"

#: Methods that put a message in front of a user; the default for ``sent()``.
SEND_METHODS: Final = ("sendMessage", "sendPhoto", "sendSticker")
#: Pass as ``http_status`` to :meth:`FakeZaloAPI.fail_next` to cut the TCP connection.
DROP_CONNECTION: Final = 0

TEXT_LIMIT: Final = 2000
_CHAT_ACTIONS: Final = frozenset({"typing", "upload_photo"})

_DESCRIPTIONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: the user has blocked the bot",
    404: "Not Found",
    408: "Request timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Call:
    """One request the bot made; kept so tests can assert on exactly what reached "Zalo".

    ``status`` is ``None`` while the request is being answered (a long poll), then the HTTP
    status; ``error_code`` is set when the envelope said ``ok: false`` (whatever the status).
    """

    method: str
    params: JSON
    at: float
    seq: int = 0
    status: int | None = None
    error_code: int | None = None
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Zalo accepted the call (the user would see its effect)."""
        return self.status == 200 and self.error_code is None

    @property
    def chat_id(self) -> str | None:
        raw = self.params.get("chat_id")
        return None if raw is None else str(raw)

    @property
    def text(self) -> str | None:
        """``text`` of a message, ``caption`` of a photo: what the user reads."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def message_id(self) -> str | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return str(self.result["message_id"])
        return None

    def __repr__(self) -> str:
        text = self.text
        shown = f" text={text[:40]!r}" if text is not None else ""
        return f"<Call #{self.seq} {self.method} chat={self.chat_id} status={self.status}{shown}>"


@dataclass(slots=True)
class WebhookResponse:
    """What a bot's webhook endpoint answered to :meth:`FakeZaloAPI.deliver_webhook`."""

    status: int
    text: str


class ApiError(Exception):
    """Raised inside the fake to answer ``{"ok": false, ...}``."""

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        *,
        http_status: int | None = None,
        retry_after: int | None = None,
        body: str | None = None,
    ) -> None:
        self.error_code = error_code
        self.description = description or _DESCRIPTIONS.get(error_code, "Error")
        self.http_status = error_code if http_status is None else http_status
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.description)


@dataclass(slots=True)
class _Failure:
    error: ApiError
    chat_id: str | None
    remaining: int
    skip: int


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


class FakeZaloAPI:
    """Fake Zalo Bot API on 127.0.0.1: serves updates, records calls, injects failures."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.strict = strict
        self.bot_id = token.split(":", 1)[0]
        #: HTTP status of a long poll that ended without an update (Zalo's envelope says 408).
        self.poll_timeout_http_status = 408

        self.calls: list[Call] = []
        #: Requests with a wrong token (not recorded as calls).
        self.unauthorized = 0
        #: Exceptions raised inside the fake itself (bugs in the fake, answered with 500).
        self.errors: list[BaseException] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_updated_at = 0
        #: Updates handed out by getUpdates, in order.
        self.delivered: list[JSON] = []
        #: Long polls currently waiting for an update.
        self.polls_waiting = 0

        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._queue: deque[JSON] = deque()
        self._by_message_id: dict[str, JSON] = {}
        self._chats: dict[str, ChatType] = {}
        self._users: dict[str, FakeZaloUser] = {}
        self._blocked: set[str] = set()
        self._failures: dict[str, list[_Failure]] = {}
        self._changed = asyncio.Condition()
        self._updates_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[Call], Any]] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }
        self._runner: web.AppRunner | None = None
        self._closing = False

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:45678``; valid after :meth:`start`."""
        if self._runner is None:
            raise RuntimeError("FakeZaloAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as ``ZaloBotAPI(base_url=...)`` (requests go to ``/bot{token}/...``)."""
        return self.url

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and start answering."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        addresses = runner.addresses  # port 0 -> read back what the OS picked
        if not addresses:
            await runner.cleanup()
            raise RuntimeError("aiohttp did not expose the bound socket")
        self.port = int(addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """End pending long polls (408) and shut the server down."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._wake_polls()
        await runner.cleanup()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

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
        self._kick()
        return message_id

    def push_again(self, message_id: str) -> None:
        """Deliver an already queued or delivered message once more (Zalo may redeliver)."""
        try:
            update = self._by_message_id[str(message_id)]
        except KeyError:
            raise KeyError(f"no update with message_id {message_id!r}") from None
        self._queue.append(update)
        self._kick()

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
        if count < 1 or after < 0:
            raise ValueError("count must be >= 1 and after >= 0")
        code = (
            error_code if error_code is not None else (400 if http_status == 200 else http_status)
        )
        error = ApiError(
            code, description, http_status=http_status, retry_after=retry_after, body=body
        )
        failure = _Failure(error, None if chat_id is None else str(chat_id), count, after)
        self._failures.setdefault(method, []).append(failure)

    def block(self, chat_id: str) -> None:
        """The user blocked the bot: sends to this chat answer 403 from now on."""
        self._blocked.add(str(chat_id))

    def unblock(self, chat_id: str) -> None:
        self._blocked.discard(str(chat_id))

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

    def sent(
        self,
        chat_id: str | None = None,
        method: str | Collection[str] | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Message calls (default: :data:`SEND_METHODS`) that reached users, oldest first."""
        methods = (
            SEND_METHODS if method is None else (method,) if isinstance(method, str) else method
        )
        wanted = None if chat_id is None else str(chat_id)
        return [
            c
            for c in self.calls
            if c.method in methods
            and (wanted is None or c.chat_id == wanted)
            and (c.ok if not include_failed else c.status is not None)
        ]

    def texts(self, chat_id: str, *, captions: bool = False) -> list[str]:
        """Texts the bot sent to a chat, in order (photo captions too if ``captions``)."""
        methods = ("sendMessage", "sendPhoto") if captions else ("sendMessage",)
        return [c.text for c in self.sent(chat_id, methods) if c.text is not None]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        predicate: Callable[[FakeZaloAPI], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate(fake)`` holds, re-checked whenever the fake's state changes.

        Raises ``TimeoutError`` listing the latest calls, so a failing test shows what the bot
        did instead.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: predicate(self))
        except TimeoutError:
            if predicate(self):
                return
            recent = "\n  ".join(repr(c) for c in self.calls[-10:]) or "(none)"
            label = what or getattr(predicate, "__name__", "condition")
            raise TimeoutError(
                f"{label} not met within {timeout}s; latest calls:\n  {recent}"
            ) from None

    async def wait_calls(
        self,
        n: int = 1,
        method: str | Collection[str] | None = None,
        chat_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Wait until at least ``n`` matching calls (see :meth:`sent`) exist; return them all."""
        found: list[Call] = []

        def enough(fake: FakeZaloAPI) -> bool:
            nonlocal found
            found = fake.sent(chat_id, method, include_failed=include_failed)
            return len(found) >= n

        what = f"{n} call(s) of {method or '/'.join(SEND_METHODS)}"
        if chat_id is not None:
            what += f" to chat {chat_id}"
        await self.wait_for(enough, timeout, what=what)
        return found

    async def wait_polling(self, n: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``n`` getUpdates long polls are parked waiting for an update."""
        await self.wait_for(
            lambda f: f.polls_waiting >= n, timeout, what=f"{n} waiting long poll(s)"
        )

    # ---------------------------------------------------------------- internals: bookkeeping

    def _new_message_id(self) -> str:
        """Zalo ids are 20 hex digits; a counter keeps runs reproducible."""
        return f"{next(self._ids):020x}"

    def _wake_polls(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    def _kick(self) -> None:
        """State changed from sync code: wake long polls now, condition waiters soon."""
        self._wake_polls()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---------------------------------------------------------------- internals: HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/bot") or path.count("/") != 2:
            return self._error_response(ApiError(404))
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            self.unauthorized += 1
            return self._error_response(ApiError(401))
        try:
            params = await self._read_params(request)
        except ApiError as err:
            return self._error_response(err)
        call = Call(method=method, params=params, at=time.monotonic(), seq=next(self._seq))
        self.calls.append(call)
        await self._notify()
        try:
            if method != "getUpdates" and method not in self._handlers:
                raise ApiError(404, f"Not Found: method {method}")
            failure = self._injected_failure(call)
            if failure is not None:
                if failure.http_status == DROP_CONNECTION:
                    return await self._drop(request, call)
                raise failure
            if method == "getUpdates":
                result = await self._get_updates(call)
            else:
                result = self._handlers[method](call)
        except ApiError as err:
            call.status = err.http_status
            call.error_code = err.error_code
            call.description = err.description
            await self._notify()
            return self._error_response(err)
        except Exception as exc:  # a bug in the fake: surface it, do not hang the bot
            self.errors.append(exc)
            call.status = call.error_code = 500
            call.description = f"fake: {exc!r}"
            await self._notify()
            return self._error_response(ApiError(500, f"Internal Server Error: fake: {exc!r}"))
        call.status = 200
        call.result = result
        await self._notify()
        body: JSON = {"ok": True}
        if result is not None:
            body["result"] = result
        return self._json(200, body)

    async def _drop(self, request: web.Request, call: Call) -> web.Response:
        call.status = DROP_CONNECTION
        call.description = "connection dropped"
        await self._notify()
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    @staticmethod
    async def _read_params(request: web.Request) -> JSON:
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
        return params

    def _error_response(self, err: ApiError) -> web.Response:
        if err.body is not None:
            return web.Response(status=err.http_status, text=err.body, content_type="text/html")
        body: JSON = {"ok": False, "error_code": err.error_code, "description": err.description}
        headers: dict[str, str] = {}
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
            headers["Retry-After"] = str(err.retry_after)
        return self._json(err.http_status, body, headers)

    @staticmethod
    def _json(status: int, body: JSON, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            content_type="application/json",
            headers=headers,
        )

    def _injected_failure(self, call: Call) -> ApiError | None:
        for key in (call.method, "*"):
            queue = self._failures.get(key)
            if not queue:
                continue
            for failure in queue:
                if failure.chat_id is not None and failure.chat_id != call.chat_id:
                    continue
                if failure.skip > 0:
                    failure.skip -= 1
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.remove(failure)
                return failure.error
        return None

    # ---------------------------------------------------------------- internals: methods

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.polls_waiting += 1
        await self._notify()
        try:
            while True:
                if self._queue and not self._closing:
                    update = self._queue.popleft()
                    self.delivered.append(update)
                    return update
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing:
                    raise ApiError(408, http_status=self.poll_timeout_http_status)
                event = self._updates_event
                try:
                    async with asyncio.timeout(remaining):
                        await event.wait()
                except TimeoutError:
                    pass
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
        self.webhook_updated_at = _now_ms()
        return {"url": url, "updated_at": self.webhook_updated_at}

    def _delete_webhook(self, call: Call) -> JSON:
        self.webhook_url = ""
        self.webhook_secret = None
        self.webhook_updated_at = _now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    def _get_webhook_info(self, call: Call) -> JSON:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    def _target(self, call: Call) -> str:
        chat_id = call.chat_id
        if not chat_id:
            raise ApiError(400, "Bad Request: chat_id is required")
        if chat_id in self._blocked:
            raise ApiError(403)
        if self.strict and chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

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

    def _send_sticker(self, call: Call) -> JSON:
        self._target(call)
        if not isinstance(call.params.get("sticker"), str):
            raise ApiError(400, "Bad Request: sticker is required")
        return self._delivered()

    def _send_chat_action(self, call: Call) -> None:
        self._target(call)
        if call.params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: unsupported action")
        return None  # the reference shows a bare {"ok": true}
