"""What every page handler gets (`WebCtx`), how a page declares its routes (`Page`), and
the few rules all pages share: parameters are parsed strictly (`BadInput` → 400), access
is asked of the use cases through the signed-in person's `Caller`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from jinja2 import Environment
from markupsafe import Markup, escape

from domain.access import Action
from domain.evidence import EvidencePhoto
from domain.messages import OutboxItem
from runtime.context import Clock, HandlerSettings, Translator, Tx
from usecases import access
from usecases.access import Caller
from usecases.websignin import Session

Handler = Callable[["WebCtx"], Awaitable[web.StreamResponse]]


class BadInput(Exception):
    """A parameter out of range or malformed: a polite 400 page saying which."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Route:
    """One URL of a page, relative to /app. Every route but the `public` ones (the sign-in
    pages) needs a live session of a person whose roles have pages (Action.WEB, asked on
    every request: a head who is no longer one loses the pages at once); `action` is the
    policy's first gate for the page itself. `any_session`: signing out needs no role."""

    method: str
    path: str
    handler: Handler
    action: Action | None = None
    public: bool = False
    max_body: int | None = None  # a larger request body than the server's 1 MiB (uploads)
    any_session: bool = False


@dataclass(frozen=True, slots=True)
class Nav:
    """A link in the navigation, shown to people whose roles could ever do `action`."""

    key: str
    path: str
    action: Action


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    routes: tuple[Route, ...]
    nav: Nav | None = None


@dataclass
class WebDeps:
    """What the bot gives the dashboard (bot/app.py builds it)."""

    transaction: Callable[[], AbstractAsyncContextManager[Tx]]
    settings: HandlerSettings
    translate: Translator
    clock: Clock
    public_url: str | None = None
    session_lifetime: dt.timedelta = dt.timedelta(hours=12)
    init_data_max_age: dt.timedelta = dt.timedelta(hours=1)
    bot_token: str | None = None  # checks Mini App initData
    secret: bytes | None = None  # THIDUA_WEB_SECRET; else a key kept in the database
    on_outbox: Callable[[list[OutboxItem]], None] | None = None  # hand reminders to senders
    mini_app: bool = False
    #: A stored evidence photo's bytes (thumbnail, or the original when `full`): the
    #: evidence store's reader when [evidence] keeps photos, else None.
    photo: Callable[[EvidencePhoto, bool], bytes | None] | None = None
    invite_link: Callable[[str], str | None] | None = None  # t.me/<bot>?start=CODE, if known
    navs: tuple[Nav, ...] = field(default_factory=tuple)

    @property
    def secure(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))


@dataclass
class WebCtx:
    request: web.Request
    deps: WebDeps
    env: Environment
    key: bytes
    session: Session | None
    now: dt.datetime
    lang: str
    _caller: Caller | None = None

    @property
    def settings(self) -> HandlerSettings:
        return self.deps.settings

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.settings.tz).date()

    def t(self, key: str, **params: Any) -> str:
        return self.deps.translate(self.lang, key, **params)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self.deps.transaction() as tx:
            yield tx

    async def caller(self, tx: Tx) -> Caller:
        """The signed-in person as the policy sees them (this year's head/deputy roles)."""
        if self._caller is None:
            person = self.session.person if self.session else None
            year = self.today.year
            self._caller = Caller(await access.actor_of(tx, person, year), year)
        return self._caller

    # ---- forms --------------------------------------------------------------------------

    @property
    def csrf(self) -> str:
        """The CSRF token of this session (HMAC of its token: nothing stored)."""
        basis = self.session.token if self.session else ""
        return csrf_token(self.key, "session", basis)

    # ---- parameters (400 on anything malformed or out of range) -----------------------------

    def param(self, name: str, default: str = "", *, max_len: int = 64) -> str:
        value = self.request.query.get(name, default)
        if len(value) > max_len or any(ord(ch) < 32 for ch in value):
            raise BadInput(name)
        return value.strip()

    def int_param(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.request.query.get(name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            raise BadInput(name)
        value = int(raw)
        if not lo <= value <= hi:
            raise BadInput(name)
        return value

    def choice(self, name: str, allowed: set[str] | frozenset[str], default: str = "") -> str:
        value = self.param(name, default)
        if value and value not in allowed:
            raise BadInput(name)
        return value

    # ---- answers ------------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        """web/templates/<template>.html with these values, the navigation and the words."""
        caller = self._caller
        navs = [
            n for n in self.deps.navs if caller is not None and access.can_ever(caller, n.action)
        ]
        html = self.env.get_template(f"{template}.html").render(
            t=self.t,
            lang=self.lang,
            csrf_field=lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(
                self.csrf
            ),
            navs=navs,
            options=options,
            here=self.request.path,
            person=self.session.person if self.session else None,
            **values,
        )
        response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
        response.enable_compression()  # gzip when the browser takes it: slow mobile data
        return response


def options(choices: Iterable[Any], selected: str) -> Markup:
    """A <select>'s <option>s of `choices` (each with a code and a name), the `selected`
    one marked: written here, not looped in the template (an admin's 350 clusters were a
    third of the standings page's time in Jinja)."""
    return Markup(
        "".join(
            f'<option value="{escape(c.code)}"{" selected" if c.code == selected else ""}>'
            f"{escape(c.name)}</option>"
            for c in choices
        )
    )


def csrf_token(key: bytes, purpose: str, basis: str) -> str:
    return hmac.new(key, f"{purpose}|{basis}".encode(), hashlib.sha256).hexdigest()[:40]
