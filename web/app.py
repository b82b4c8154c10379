"""The /app sub-application: sessions, CSRF, security headers, error pages, static assets
and the sign-in routes; each page's routes (web.pages) are wrapped by the same rules.

Rules every route gets, and why:

* A session is a random token in a signed, HttpOnly, SameSite=Lax cookie (Secure when the
  public URL is https) whose hash the server keeps with an expiry; signing out revokes it
  on the server, so a copied cookie dies with it.
* Without a live session a page answers 401 with how to get a link (/web in the chat).
* Every POST carries a CSRF token (an HMAC of the session token) or answers 403.
* A route's `action` is the policy's first gate; the use cases decide the concrete target
  (a cluster, a report): AccessDenied answers 403 with a page that names nothing asked.
* Malformed or out-of-range parameters answer 400 with a polite page (`BadInput`).
* Headers: a Content-Security-Policy without inline scripts or styles, frames refused
  except by Telegram where the Mini App runs (its entry page, its sessions), no referrer
  (a sign-in link never leaks), no caching of pages, nosniff.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from base64 import urlsafe_b64encode
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.access import Action
from domain.errors import AccessDenied, UserInputError
from usecases import access, websignin
from web import initdata
from web.context import BadInput, Page, Route, WebCtx, WebDeps, csrf_token

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PREFIX: Final = "/app"
COOKIE: Final = "thidua_session"
LANG_COOKIE: Final = "thidua_lang"
LANGUAGES: Final = ("vi", "en")
#: Every static asset, by name: nothing else under /app/static answers.
STATIC: Final = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "tg.js": "text/javascript",
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_TELEGRAM_FRAMES = "https://web.telegram.org https://*.telegram.org"
_IN_TELEGRAM = web.RequestKey("in_telegram", bool)


def environment() -> Environment:
    """Jinja2 with autoescape on: report text with HTML in it is shown, never run."""
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship with the code: no stat() on every page
    )


def sign(key: bytes, token: str) -> str:
    mac = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return f"{token}.{urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(key: bytes, value: str | None) -> str | None:
    """The token of a cookie whose signature is this server's; None otherwise."""
    if not value or value.count(".") != 1:
        return None
    token, _ = value.split(".")
    if not _TOKEN.fullmatch(token) or not hmac.compare_digest(sign(key, token), value):
        return None
    return token


class Dashboard:
    """The sub-application and what its routes share."""

    def __init__(self, deps: WebDeps, pages: tuple[Page, ...]) -> None:
        self.deps = deps
        deps.navs = tuple(p.nav for p in pages if p.nav is not None)
        self.env = environment()
        self.pages = pages
        self.static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}
        self._key: bytes | None = deps.secret

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._not_found])
        app.on_response_prepare.append(self._headers)
        app.router.add_get("/static/{name}", self._asset)
        for route in (*_SIGN_IN, *(r for page in self.pages for r in page.routes)):
            app.router.add_route(route.method, route.path, self._wrap(route))
        return app

    async def key(self) -> bytes:
        if self._key is None:
            async with self.deps.transaction() as tx:
                self._key = await websignin.signing_key(tx)
        return self._key

    async def context(self, request: web.Request) -> WebCtx:
        """The request as a page sees it: the live session (if any), the language."""
        key = await self.key()
        now = self.deps.clock.now()
        session = None
        token = unsign(key, request.cookies.get(COOKIE))
        if token is not None:
            async with self.deps.transaction() as tx:
                session = await websignin.session(tx, token, now)
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen in LANGUAGES:
            lang = str(chosen)
        elif session is not None:
            lang = session.person.language.value
        else:
            lang = self.deps.settings.default_language.value
        if session is not None and session.via == websignin.TELEGRAM:
            request[_IN_TELEGRAM] = True
        return WebCtx(request, self.deps, self.env, key, session, now, lang)

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if route.max_body is not None:
                request = request.clone(client_max_size=route.max_body)
            w = await self.context(request)
            try:
                if not route.public:
                    if w.session is None:
                        return w.render("signed_out", status=401)
                    if route.method == "POST":
                        form = await request.post()
                        sent = form.get("csrf")
                        if not isinstance(sent, str) or not hmac.compare_digest(sent, w.csrf):
                            return _error(w, 403, "web.csrf")
                    async with w.tx() as tx:
                        caller = await w.caller(tx)
                    if not route.any_session:
                        if not access.can_ever(caller, Action.WEB):
                            return _error(w, 403, "web.no_pages")
                        if route.action is not None:
                            access.require_role(caller, route.action)
                return await route.handler(w)
            except AccessDenied:
                return _error(w, 403, "web.forbidden")
            except web.HTTPRequestEntityTooLarge:
                return _error(w, 413, "web.too_big")
            except BadInput as bad:
                return _error(w, 400, "web.bad_input", name=bad.name)
            except UserInputError as exc:
                return _error(w, 400, exc.key, **exc.params)

        return handle

    @web.middleware
    async def _not_found(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            w = await self.context(request)
            return _error(w, exc.status, "web.not_found")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.static:
            raise web.HTTPNotFound()
        return web.Response(
            body=self.static[name],
            content_type=STATIC[name],
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        telegram = request.get(_IN_TELEGRAM, False) or request.path == f"{PREFIX}/tg"
        frames = _TELEGRAM_FRAMES if telegram and self.deps.mini_app else "'none'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frames}"
        )
        if frames == "'none'":
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")


def _error(w: WebCtx, status: int, key: str, **params: object) -> web.Response:
    return w.render("error", status=status, message=w.t(key, **params), status_code=status)


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs `location`."""
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(w: WebCtx, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        sign(w.key, token),
        max_age=int(w.deps.session_lifetime.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=w.deps.secure,
    )


# ---- sign-in, sign-out, language ---------------------------------------------------------


def _link_token(w: WebCtx, value: object) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise BadInput("t")
    return value


async def login_page(w: WebCtx) -> web.StreamResponse:
    """GET of a sign-in link: a button, not a sign-in (link previews fetch GETs too)."""
    token = _link_token(w, w.request.query.get("t"))
    return w.render("login", token=token, login_csrf=csrf_token(w.key, "login", token))


async def login(w: WebCtx) -> web.StreamResponse:
    """POST of the button: the link is spent and a session starts."""
    form = await w.request.post()
    token = _link_token(w, form.get("t"))
    sent = form.get("csrf")
    expected = csrf_token(w.key, "login", token)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        return _error(w, 403, "web.csrf")
    async with w.tx() as tx:
        session = await websignin.redeem_link(tx, token, w.now, w.deps.session_lifetime)
    if session is None:
        return _error(w, 400, "web.link_bad")
    response = redirect(f"{PREFIX}/")
    set_session_cookie(w, response, session.token)
    return response


async def mini_app_page(w: WebCtx) -> web.StreamResponse:
    """The Mini App's entry: tg.js posts Telegram's initData back to sign in."""
    return w.render("tg")


async def mini_app_login(w: WebCtx) -> web.StreamResponse:
    """POST of the Mini App's initData: signed by Telegram for this bot, fresh, a person's."""
    form = await w.request.post()
    raw = form.get("init_data")
    user = initdata.check(
        raw if isinstance(raw, str) else "",
        w.deps.bot_token or "",
        w.now,
        w.deps.init_data_max_age,
    )
    if user is None:
        return web.json_response({"ok": False}, status=403)
    async with w.tx() as tx:
        session = await websignin.telegram_session(tx, str(user.id), w.now, w.deps.session_lifetime)
    if session is None:
        return web.json_response({"ok": False}, status=403)
    response = web.json_response({"ok": True, "next": f"{PREFIX}/"})
    set_session_cookie(w, response, session.token)
    return response


async def logout(w: WebCtx) -> web.StreamResponse:
    assert w.session is not None  # not public: a session was required
    async with w.tx() as tx:
        await websignin.sign_out(tx, w.session.token, w.now)
    w.session = None
    response = w.render("signed_out", status=200, signed_out=True)
    response.del_cookie(COOKIE, path=PREFIX)
    return response


async def choose_language(w: WebCtx) -> web.StreamResponse:
    form = await w.request.post()
    wanted = form.get("lang")
    back = form.get("next")
    if wanted not in LANGUAGES:
        raise BadInput("lang")
    if not isinstance(back, str) or not back.startswith(f"{PREFIX}/") or "//" in back:
        back = f"{PREFIX}/"
    response = redirect(back)
    response.set_cookie(
        LANG_COOKIE,
        str(wanted),
        max_age=365 * 86400,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=w.deps.secure,
    )
    return response


async def home(w: WebCtx) -> web.StreamResponse:
    """/app/: the first page the person's roles have."""
    if w.deps.navs:
        async with w.tx() as tx:
            caller = await w.caller(tx)
        for nav in w.deps.navs:
            if access.can_ever(caller, nav.action):
                return redirect(f"{PREFIX}{nav.path}")
    return _error(w, 403, "web.no_pages")


_SIGN_IN: tuple[Route, ...] = (
    Route("GET", "/login", login_page, public=True),
    Route("POST", "/login", login, public=True),
    Route("GET", "/tg", mini_app_page, public=True),
    Route("POST", "/tg", mini_app_login, public=True),
    Route("POST", "/logout", logout, any_session=True),
    Route("POST", "/lang", choose_language),
    Route("GET", "/", home),
)


def build(deps: WebDeps) -> web.Application:
    """The /app sub-application with every page of web.pages."""
    from web.pages import PAGES

    return Dashboard(deps, PAGES).app()
