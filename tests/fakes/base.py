"""What the fake Telegram and Zalo servers share: the scaffolding of a messenger's Bot API.

Each fake is an aiohttp app bound to 127.0.0.1 on a free port that answers
``/bot{token}/{method}`` like the platform does, so the bot's real HTTP client runs
unchanged. This base owns what does not depend on the platform:

- starting and stopping the server (``async with Fake() as fake``), the token check;
- recording every call (:class:`Call`) with indexes by chat and by method, and counters;
- waiting for a condition (:meth:`FakeServer.wait_for`, :meth:`FakeServer.wait_calls`),
  woken by each recorded call, with a report of the latest calls on timeout;
- files served by plain GET (``serve_file``; ``forget_file`` makes a URL go away;
  ``fail_file_next`` fails the next downloads), as a platform's file storage;
- injected faults: the next calls of a method fail (:meth:`FakeServer.fail_next` in each
  fake, through :meth:`FakeServer._add_failure`), a blocked chat answers 403, a dropped
  connection, extra latency.

A platform's fake adds its methods (``handlers``), how it reads parameters, its simulated
users and the failures only it has.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

from aiohttp import web

JSON = dict[str, Any]
ChatId = int | str

#: Pass as the HTTP status of an injected failure to cut the TCP connection instead of answering.
DROP_CONNECTION: Final = 0

#: The long-poll method both platforms have; it is never delayed by ``latency``.
LONG_POLL: Final = "getUpdates"

_DESCRIPTIONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(slots=True, eq=False)
class Call:
    """One request the bot made, kept so tests can assert on exactly what reached the platform.

    ``status`` is ``None`` while the request is being answered (a long poll), then the HTTP
    status; ``error_code`` is set when the answer said ``ok: false`` with another number.
    """

    method: str
    params: JSON
    at: float
    seq: int = 0
    status: int | None = None
    error_code: int | None = None
    result: Any = None
    description: str | None = None
    chat_id: ChatId | None = None  # the target chat, as the fake normalises it

    @property
    def ok(self) -> bool:
        """Whether the platform accepted the call (the user would see its effect)."""
        return self.status == 200 and self.error_code is None

    @property
    def text(self) -> str | None:
        """``text`` of a message, ``caption`` of a photo or document: what the user reads."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    def __repr__(self) -> str:
        text = self.text
        shown = f" text={text[:40]!r}" if text is not None else ""
        return f"<Call #{self.seq} {self.method} chat={self.chat_id} status={self.status}{shown}>"


@dataclass(slots=True)
class Stats:
    """Counters for benchmarks: the traffic the bot generated and how often it was refused."""

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0


class ApiError(Exception):
    """Raised inside a fake to answer ``{"ok": false, "error_code", "description"}``.

    ``http_status`` defaults to ``error_code`` (Zalo also answers some errors with HTTP 200);
    ``retry_after`` goes into ``parameters.retry_after`` and the Retry-After header; ``body``
    answers that raw text instead (a proxy's HTML error page).
    """

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
        self.description = description or _DESCRIPTIONS.get(error_code, f"Error {error_code}")
        self.http_status = error_code if http_status is None else http_status
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.description)


@dataclass(slots=True)
class _Failure:
    error: ApiError
    chat_id: ChatId | None
    remaining: int
    skip: int


C = TypeVar("C", bound=Call)


class FakeServer(Generic[C]):
    """A platform's Bot API on 127.0.0.1: records calls, answers ``handlers``, injects faults."""

    #: The methods whose calls put a message in front of a user; the default for ``sent()``.
    SEND_METHODS: ClassVar[tuple[str, ...]] = ()
    #: Named in errors ("FakeTelegramAPI is not started").
    NAME: ClassVar[str] = "fake"

    def __init__(self, token: str, *, port: int = 0, strict: bool = True) -> None:
        self.token = token
        self.host = "127.0.0.1"
        self.port = port
        #: Refuse what the real platform refuses (too long texts, bad buttons...).
        self.strict = strict
        #: Extra delay before answering any method but the long poll, to mimic round trips.
        self.latency = 0.0
        self.calls: list[C] = []
        self.stats = Stats()
        #: Requests with a wrong token (not recorded as calls).
        self.unauthorized = 0
        #: Exceptions raised inside the fake itself (bugs in the fake, answered with 500).
        self.errors: list[BaseException] = []
        self.handlers: dict[str, Callable[[C], Any]] = {}
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._seq = itertools.count(1)
        self._by_chat: dict[ChatId, list[C]] = {}
        self._by_method: dict[str, list[C]] = {}
        self._calls_event = asyncio.Event()
        self._chat_events: dict[ChatId, asyncio.Event] = {}
        self._updates_event = asyncio.Event()
        self._failures: dict[str, list[_Failure]] = {}
        self._blocked: set[ChatId] = set()
        #: Files served by GET at their URL path (a platform's file downloads, image URLs).
        self.files: dict[str, bytes] = {}
        #: GET requests for files, by path, including refused ones.
        self.file_requests: Counter[str] = Counter()
        self._file_failures: list[int] = []  # HTTP statuses for the next file downloads

    # ---------------------------------------------------------------- to be provided

    def _new_call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]]) -> C:
        raise NotImplementedError

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
        raise NotImplementedError

    def _blocked_error(self, chat: ChatId) -> ApiError:
        return ApiError(403)

    def _refusal(self, call: C) -> ApiError | None:
        """A platform's own faults beyond injected failures and blocks (outages, rate limits)."""
        return None

    def _ok_body(self, result: Any) -> JSON:
        return {"ok": True, "result": result}

    def _pending_report(self) -> str:
        return ""

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:45678``; valid after :meth:`start`."""
        if self._runner is None:
            raise RuntimeError(f"{self.NAME} is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and start answering."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        addresses = runner.addresses  # port 0 -> read back what the OS picked
        if not addresses:
            await runner.cleanup()
            raise RuntimeError("aiohttp did not expose the bound socket")
        self.port = int(addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._wake_polls()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- faults

    def _add_failure(
        self, method: str, error: ApiError, *, count: int, chat_id: ChatId | None, after: int
    ) -> None:
        """The next ``count`` calls of ``method`` ("*": any) fail with ``error``, after letting
        ``after`` matching calls through; only calls to ``chat_id`` when it is given."""
        if count < 1 or after < 0:
            raise ValueError("count must be >= 1 and after >= 0")
        self._failures.setdefault(method, []).append(_Failure(error, chat_id, count, after))

    def serve_file(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path`` (e.g. ``/images/1.jpg``); returns its full URL."""
        if not path.startswith("/") or path.startswith("/bot"):
            raise ValueError(f"a file path starts with / and not /bot: {path!r}")
        self.files[path] = data
        return f"{self.url}{path}"

    def forget_file(self, path: str) -> None:
        """The platform no longer has the file: its URL answers 404 from now on."""
        self.files.pop(path, None)

    def fail_file_next(self, http_status: int = 502, *, count: int = 1) -> None:
        """The next ``count`` file downloads answer ``http_status`` (whatever the file)."""
        self._file_failures.extend([http_status] * count)

    def block(self, chat_id: ChatId) -> None:
        """The user blocked the bot (or removed it from the group): calls to the chat get 403."""
        self._blocked.add(self._chat(chat_id))

    def _injected_failure(self, call: C) -> ApiError | None:
        for key in (call.method, "*"):
            queue = self._failures.get(key, [])
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
        if call.chat_id is not None and call.chat_id in self._blocked:
            return self._blocked_error(call.chat_id)
        return self._refusal(call)

    # ---------------------------------------------------------------- inspection

    def _chat(self, raw: Any) -> ChatId:
        """A chat id as this platform's calls are indexed by."""
        return str(raw)

    def sent(
        self,
        chat_id: ChatId | None = None,
        method: str | Collection[str] | None = None,
        *,
        include_failed: bool = False,
    ) -> list[C]:
        """Calls that reached users, oldest first; by default only successful SEND_METHODS."""
        methods: Collection[str] = self.SEND_METHODS if method is None else method
        if isinstance(methods, str):
            methods = (methods,)
        if chat_id is not None:
            source: Iterable[C] = self._by_chat.get(self._chat(chat_id), ())
        elif len(methods) == 1:
            source = self._by_method.get(next(iter(methods)), ())
        else:
            source = heapq.merge(*(self._by_method.get(m, ()) for m in methods), key=_seq)
        return [
            c
            for c in source
            if c.method in methods and (c.ok if not include_failed else c.status is not None)
        ]

    def calls_of(self, method: str) -> list[C]:
        """Every call of ``method``, answered or not, oldest first."""
        return list(self._by_method.get(method, ()))

    async def wait_for(
        self,
        predicate: Callable[[Self], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate(fake)`` holds, re-checked each time a call is recorded.

        Raises ``TimeoutError`` listing the latest calls, so a failing test shows what the bot
        did instead.
        """
        await self._wait(predicate, timeout, what, None)

    async def wait_calls(
        self,
        n: int = 1,
        method: str | Collection[str] | None = None,
        chat_id: ChatId | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        include_failed: bool = False,
    ) -> list[C]:
        """Wait until at least ``n`` matching calls (see :meth:`sent`) exist; return them all."""
        found: list[C] = []

        def enough(fake: Self) -> bool:
            nonlocal found
            found = fake.sent(chat_id, method, include_failed=include_failed)
            return len(found) >= n

        what = f"{n} call(s) of {method or '/'.join(self.SEND_METHODS)}"
        if chat_id is not None:
            what += f" to chat {chat_id}"
        chat = None if chat_id is None else self._chat(chat_id)
        await self._wait(enough, timeout, lambda: f"{what} (have {len(found)})", chat)
        return found

    async def _wait(
        self,
        predicate: Callable[[Self], bool],
        timeout: float,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        what: str | Callable[[], str] | None,
        chat: ChatId | None,
    ) -> None:
        """Wake on any call, or only on calls to ``chat`` (cheap with hundreds of waiters)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_report(predicate, timeout, what))
            if chat is None:
                event = self._calls_event
            else:
                event = self._chat_events.setdefault(chat, asyncio.Event())
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                if predicate(self):
                    return
                raise TimeoutError(self._timeout_report(predicate, timeout, what)) from None

    def _timeout_report(
        self,
        predicate: Callable[[Self], bool],
        timeout: float,
        what: str | Callable[[], str] | None,
    ) -> str:
        recent = [c for c in self.calls[-200:] if c.method != LONG_POLL][-15:]
        lines = [f"  {c!r}" + (f" {c.description!r}" if c.description else "") for c in recent]
        name = (what() if callable(what) else what) or getattr(
            predicate, "__name__", repr(predicate)
        )
        report = (
            f"timed out after {timeout}s waiting for {name}; {len(self.calls)} calls recorded"
            f"{self._pending_report()}. Last calls:\n"
            + ("\n".join(lines) or "  (none besides long polls)")
        )
        if self.errors:
            report += f"\nErrors inside the fake: {self.errors[-3:]!r}"
        return report

    # ---------------------------------------------------------------- bookkeeping

    def _changed(self, call: C | None = None) -> None:
        """News for waiters: every waiter wakes, and those waiting on the call's chat."""
        event, self._calls_event = self._calls_event, asyncio.Event()
        event.set()
        if call is not None and call.chat_id is not None:
            chat_event = self._chat_events.pop(call.chat_id, None)
            if chat_event is not None:
                chat_event.set()

    def _wake_polls(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    async def _wait_for_updates(self, deadline: float) -> None:
        """Until something is pushed (or stop), at most until ``deadline`` (see monotonic)."""
        event = self._updates_event
        remaining = deadline - monotonic()
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                await event.wait()
        except TimeoutError:
            pass

    def _record(self, call: C) -> None:
        call.seq = next(self._seq)
        self.calls.append(call)
        self._by_method.setdefault(call.method, []).append(call)
        if call.chat_id is not None:
            self._by_chat.setdefault(call.chat_id, []).append(call)
        self.stats.calls[call.method] += 1
        self._changed()  # arrival is news too, e.g. "a long poll is now waiting"

    # ---------------------------------------------------------------- HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method == "GET" and not path.startswith("/bot"):
            return self._file(path)
        if not path.startswith("/bot") or path.count("/") != 2:
            return self._error_response(ApiError(404))
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            self.unauthorized += 1
            return self._error_response(ApiError(401))
        try:
            params, files = await self._read_params(request)
        except ApiError as err:
            return self._error_response(err)
        call = self._new_call(method, params, files)
        self._record(call)
        handler = self.handlers.get(method)
        if handler is None:
            return self._finish(call, ApiError(404, f"Not Found: method {method}"))
        failure = self._injected_failure(call)
        if failure is not None:
            if failure.http_status == DROP_CONNECTION:
                return self._drop(request, call)
            return self._finish(call, failure)
        try:
            if method != LONG_POLL and self.latency:
                await asyncio.sleep(self.latency)
            result = handler(call)
            if isinstance(result, Awaitable):
                result = await result
        except ApiError as err:
            return self._finish(call, err)
        except asyncio.CancelledError:
            call.status = 499  # the client went away, e.g. mid long poll
            call.description = "client closed the connection"
            raise
        except Exception as exc:  # a bug in the fake: surface it, do not hang the bot
            self.errors.append(exc)
            return self._finish(call, ApiError(500, f"Internal Server Error: fake: {exc!r}"))
        call.status = 200
        call.result = result
        self.stats.statuses[200] += 1
        self._changed(call)
        return _json(200, self._ok_body(result))

    def _file(self, path: str) -> web.Response:
        self.file_requests[path] += 1
        self._changed()
        if self._file_failures:
            status = self._file_failures.pop(0)
            return web.Response(status=status, text=_DESCRIPTIONS.get(status, "error"))
        data = self.files.get(path)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    def _finish(self, call: C, err: ApiError) -> web.Response:
        call.status = err.http_status
        call.error_code = err.error_code
        call.description = err.description
        self.stats.statuses[err.http_status] += 1
        if err.error_code == 429:
            self.stats.too_many_requests += 1
        self._changed(call)
        return self._error_response(err)

    def _drop(self, request: web.Request, call: C) -> web.Response:
        call.status = DROP_CONNECTION
        call.description = "connection dropped"
        self.stats.statuses[DROP_CONNECTION] += 1
        self._changed(call)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    @staticmethod
    def _error_response(err: ApiError) -> web.Response:
        if err.body is not None:
            return web.Response(status=err.http_status, text=err.body, content_type="text/html")
        body: JSON = {"ok": False, "error_code": err.error_code, "description": err.description}
        headers: dict[str, str] = {}
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
            headers["Retry-After"] = str(err.retry_after)
        return _json(err.http_status, body, headers)


def _seq(call: Call) -> int:
    return call.seq


def _json(status: int, body: JSON, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def monotonic() -> float:
    """When a call arrived (the monotonic clock: only differences mean anything)."""
    return time.monotonic()
