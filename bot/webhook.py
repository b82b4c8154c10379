"""One aiohttp server: the webhook routes the channels contribute, health checks, media.

Routes:

* each channel's webhooks (``Channel.webhooks``: ``POST /telegram/webhook``,
  ``POST /zalo/webhook``…), each with its secret header; this module knows no platform.
* ``GET /healthz`` — ``{"ok": true}``: the process answers (liveness).
* ``GET /readyz`` — when a readiness check is given: 200 with every component's state when
  all are fresh, 503 otherwise (a deaf receive loop, a stuck outbox, no database).
* ``/app/…`` — only when the dashboard is on (``[web] enabled``): the sub-application
  of ``web.app`` (its own sessions, CSRF and security headers).
* ``GET /media/{token}`` — only when a :class:`~bot.media.MediaStore` is given: a generated
  image (Zalo's ``sendPhoto`` fetches it by URL); 404 for an unknown or expired token, with
  no listing and the same answer whatever the reason.

Rules shared by every webhook, and why: a missing or wrong secret answers 403 before the body
is read (anyone can POST to a public URL); a body that is not a JSON object answers 400 (the
platform would resend garbage forever otherwise, and nothing of it is recorded); a delivery
while the channel is not receiving (shutting down) answers 503, so the platform sends it
again later; a well-formed body with nothing usable is acknowledged and ignored; an accepted
update is in the inbox BEFORE the server answers 200 (the platform forgets it on 200), while
handling it goes on in a task (``runtime.ingress``), so slow handlers never make the platform
time out and resend. An update that could not be recorded answers 500: it comes again.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from aiohttp import web

from bot.channels.base import Receiver, Webhook
from bot.media import MediaStore

log = logging.getLogger(__name__)

HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
MEDIA_PREFIX: Final = "/media/"
DASHBOARD: Final = "/app"
#: Larger than any real update; stops a stranger's huge body before it is parsed.
MAX_BODY_BYTES: Final = 1024 * 1024

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def secret_ok(expected: str, received: str | None) -> bool:
    """Constant-time comparison; an empty expected secret accepts nothing."""
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


class WebhookServer:
    """Serves the webhook routes of the channels behind the receivers given."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        receivers: Sequence[Receiver] = (),
        media: MediaStore | None = None,
        ready: Readiness | None = None,
        dashboard: Callable[[], web.Application] | None = None,
    ) -> None:
        self.routes: list[tuple[Webhook, Receiver]] = [
            (hook, receiver) for receiver in receivers for hook in receiver.channel.webhooks()
        ]
        for hook, receiver in self.routes:
            if not hook.secret:
                raise ValueError(f"the {receiver.channel.name} webhook needs a non-empty secret")
        self.host = host
        self.port = port
        self.media = media
        self.ready = ready
        self.dashboard = dashboard
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` actually bound (the port is read back when 0 was asked)."""
        if self._runner is None:
            raise RuntimeError("WebhookServer is not started")
        return f"http://{self.host}:{self.port}"

    def app(self) -> web.Application:
        """The aiohttp application (exposed for embedding and for aiohttp's test client)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.on_response_prepare.append(_plain_server_header)
        app.router.add_get(HEALTH_PATH, self._health)
        if self.ready is not None:
            app.router.add_get(READY_PATH, self._ready)
        for hook, receiver in self.routes:
            app.router.add_post(hook.path, _webhook(hook, receiver))
        if self.media is not None:
            app.router.add_get(MEDIA_PREFIX + "{token}", self._media)
        if self.dashboard is not None:
            app.router.add_get(DASHBOARD, _to_dashboard)
            app.add_subapp(DASHBOARD, self.dashboard())
        return app

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        if self.port == 0 and runner.addresses:
            self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- handlers -------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _ready(self, request: web.Request) -> web.Response:
        assert self.ready is not None
        ready, detail = await self.ready()
        return web.json_response({"ok": ready, **detail}, status=200 if ready else 503)

    async def _media(self, request: web.Request) -> web.Response:
        assert self.media is not None
        found = self.media.get(request.match_info["token"])
        if found is None:
            return web.Response(status=404, text="not found")
        data, content_type = found
        return web.Response(
            body=data,
            content_type=content_type,
            headers={
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )


async def _to_dashboard(request: web.Request) -> web.Response:
    return web.Response(status=308, headers={"Location": DASHBOARD + "/"})


def _webhook(hook: Webhook, receiver: Receiver) -> Handler:
    """One channel's webhook route, by the rules in this module's docstring."""

    async def handle(request: web.Request) -> web.Response:
        if not secret_ok(hook.secret, request.headers.get(hook.secret_header)):
            return _refused(403, "forbidden")
        body = await _json_object(request)
        if body is None:
            return _refused(400, "body must be a JSON object")
        if not receiver.receiving:
            return _refused(503, "not receiving")
        received = await hook.parse(body)
        if received is None:
            return web.json_response({"ok": True, "ignored": True})
        await receiver.take(received)  # an exception here answers 500: the platform resends
        return web.json_response({"ok": True})

    return handle


MAX_JSON_DEPTH = 32
"""Real updates nest fewer than ten levels; anything deeper is refused before it is used."""


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    """The body as a JSON object, or None (not JSON, not UTF-8, too deep, or not an object)."""
    try:
        raw = await request.read()
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict) or _depth_over(body, MAX_JSON_DEPTH):
        return None
    return body


def _depth_over(value: object, limit: int) -> bool:
    """Whether JSON nests deeper than `limit`, walked without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No versions in the Server header: nothing to look up for a known hole."""
    response.headers["Server"] = "thidua"


def _refused(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "description": reason}, status=status)
