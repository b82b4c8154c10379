"""The dashboard served for real: the bot's HTTP server (bot.webhook.WebhookServer) with the
/app sub-application on 127.0.0.1, over a Harness database with the demo's year of Cluster 1
sample reports, and people of every role signed in by the links /web sends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from playwright.async_api import BrowserContext, Page, async_playwright

from bot.config import AppConfig
from bot.demo import seed
from bot.webhook import WebhookServer
from domain.models import Role
from tests.harness import FakeClock, Harness, User
from web.app import build
from web.context import WebDeps

BOT_TOKEN = "123456:TEST-token-for-the-dashboard"
LINK = re.compile(r"(http://\S+/app/login\?t=[A-Za-z0-9_-]+)")

# In 2026 (config.example.toml): cum1 = hoan_kiem (deputy), ba_dinh, dong_da, long_bien
# (head), hai_ba_trung, hoang_mai; cum2 = thanh_xuan, tay_ho (head), … ha_dong (deputy).
PEOPLE: dict[str, tuple[int, str, Role]] = {
    "officer": (11, "ba_dinh", Role.OFFICER),
    "chair": (12, "ba_dinh", Role.CHAIR),
    "head": (13, "long_bien", Role.CLUSTER_HEAD),
    "deputy": (14, "hoan_kiem", Role.CLUSTER_HEAD),
    "other_head": (15, "tay_ho", Role.CLUSTER_HEAD),
    "admin": (16, "hai_ba_trung", Role.ADMIN),
}


@dataclass
class Site:
    h: Harness
    url: str
    deps: WebDeps
    users: dict[str, User] = field(default_factory=dict)

    async def link(self, who: str) -> str:
        """The sign-in link /web sends this person (None-safe: asserts it came)."""
        replies = await self.users[who].send("/web")
        found = LINK.search(replies[0].text)
        assert found, replies[0].text
        return found.group(1)


@asynccontextmanager
async def served(
    tmp_path: Path,
    *,
    sample: bool = True,
    config: AppConfig | None = None,
    database: str | None = None,
) -> AsyncIterator[Site]:
    """The dashboard over a Harness database: SQLite in `tmp_path`, or `database` (the
    conftest fixture's: a PostgreSQL schema of its own for tests on both backends)."""
    h = await Harness.create(tmp_path, clock=FakeClock(), config=config, database=database)
    if sample:
        await seed(h, 2026)  # type: ignore[arg-type]  # needs only config, clock and db
    deps = WebDeps(
        transaction=h.db.transaction,
        settings=h.dispatcher.settings,
        translate=h.catalog,
        clock=h.clock,
        bot_token=BOT_TOKEN,
        mini_app=True,
    )
    server = WebhookServer("127.0.0.1", 0, dashboard=lambda: build(deps))
    await server.start()
    try:
        h.dispatcher.settings = dataclasses.replace(h.dispatcher.settings, web_url=server.url)
        site = Site(h, server.url, deps)
        for name, (uid, unit, role) in PEOPLE.items():
            site.users[name] = await h.person(uid, unit, role)
        yield site
    finally:
        await server.stop()
        await h.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Screenshots are test output, not committed (.gitignore).
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


@asynccontextmanager
async def chromium(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's chromium driven by Playwright, with a fresh profile (never `playwright
    install`: the system browser is the one tested)."""
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=DESKTOP,  # type: ignore[arg-type]
        )
        try:
            yield context
        finally:
            await context.close()


async def shoot(page: Page, name: str) -> None:
    """The page at phone and desktop width, saved under test-output/screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("390x844", PHONE), ("1366x768", DESKTOP)):
        await page.set_viewport_size(size)  # type: ignore[arg-type]
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


LOGIN_FORM = re.compile(r'name="t" value="([^"]+)"[\s\S]*?name="csrf" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client() -> aiohttp.ClientSession:
    """A browser-like HTTP client: keeps cookies for 127.0.0.1, follows no redirect."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(site: Site, session: aiohttp.ClientSession, link: str) -> int:
    """Open a sign-in link and press its button; the status of the answer."""
    async with session.get(link) as page:
        form = LOGIN_FORM.search(await page.text())
    assert form, "the sign-in page has its form"
    token, csrf = form.groups()
    async with session.post(
        f"{site.url}/app/login", data={"t": token, "csrf": csrf}, allow_redirects=False
    ) as answer:
        return answer.status


async def csrf_of(site: Site, session: aiohttp.ClientSession) -> str:
    """The CSRF token of the session, read from a page's forms."""
    async with session.get(f"{site.url}/app/standings") as page:
        found = CSRF.search(await page.text())
    assert found
    return found.group(1)


def session_cookie(session: aiohttp.ClientSession) -> str:
    """The value of the dashboard's session cookie the client holds."""
    found = [c.value for c in session.cookie_jar if c.key == "thidua_session"]
    assert len(found) == 1
    return found[0]


def init_data(fields: dict[str, str], token: str = BOT_TOKEN) -> str:
    """initData as Telegram signs it, computed here from the documented steps."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    signed = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": signed})


def init_fields(user_id: int, auth: dt.datetime) -> dict[str, str]:
    """What Telegram puts in a Mini App's initData for a user opening it at `auth`."""
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "An", "language_code": "vi"}),
        "auth_date": str(int(auth.timestamp())),
    }
