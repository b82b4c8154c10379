"""The Telegram Mini App page (/app/tg) in a real browser (Debian's chromium through
Playwright): Telegram opens it with the signed initData in the URL's fragment, the page's
script posts it back, and the person sees their pages, or a polite refusal saying what to
do when the data is not Telegram's for this bot or older than `[web]
init_data_max_age_seconds`. The initData is signed here with the documented algorithm."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

from domain.models import Role
from tests.web_site import Site, chromium, init_data, init_fields, served, shoot

TELEGRAM_ID = 777
REFUSAL = "Không đăng nhập được qua Telegram"
MAX_AGE = dt.timedelta(seconds=600)  # as `[web] init_data_max_age_seconds = 600` gives it


def opened_by_telegram(site: Site, signed: str) -> str:
    """The URL Telegram opens: the Mini App's address with its launch parameters in the
    fragment (never sent to the server but by the page's script)."""
    return (
        f"{site.url}/app/tg#tgWebAppData={quote(signed, safe='')}"
        "&tgWebAppVersion=7.10&tgWebAppPlatform=weba"
    )


async def registered_in_telegram(site: Site) -> None:
    """A cluster head of cum1 who joined through the bot's Telegram chat."""
    user = site.h.user(TELEGRAM_ID, "Trần Thị Bình", channel="telegram")
    joined = await user.register(await site.h.invite("long_bien", Role.CLUSTER_HEAD))
    assert "Chào mừng" in joined[0].text


async def test_a_cluster_head_opens_the_mini_app_and_is_signed_in(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        await registered_in_telegram(site)
        site.deps.init_data_max_age = MAX_AGE
        opened = site.h.clock.now() - dt.timedelta(seconds=540)  # within the age allowed
        page = await browser.new_page()
        response = await page.goto(
            opened_by_telegram(site, init_data(init_fields(TELEGRAM_ID, opened)))
        )
        assert response is not None
        assert (
            "frame-ancestors https://web.telegram.org"
            in response.headers["content-security-policy"]
        )
        await page.wait_for_url("**/app/standings")
        assert "Cụm thi đua số 1" in await page.inner_text("h1")
        assert "Trần Thị Bình" in await page.inner_text("header .who")
        assert "LĐLĐ quận Long Biên" in await page.inner_text("table.standings")
        await shoot(page, "mini-app")
        # the session lasts: the next page needs no new initData
        await page.click("nav >> text=Báo cáo")
        await page.wait_for_url("**/app/reports")
        assert await page.query_selector("table.reports") is not None


async def test_bad_or_old_init_data_gets_a_polite_refusal(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        await registered_in_telegram(site)
        site.deps.init_data_max_age = MAX_AGE
        now = site.h.clock.now()
        good = init_fields(TELEGRAM_ID, now)
        forged = init_data(good).replace("hash=", "hash=0")[:-1]  # one digit changed
        refused = {
            "bad-signature": opened_by_telegram(site, forged),
            "another-bot": opened_by_telegram(site, init_data(good, "654321:another-bot")),
            "too-old": opened_by_telegram(
                site, init_data(init_fields(TELEGRAM_ID, now - MAX_AGE - dt.timedelta(seconds=60)))
            ),
            "not-registered": opened_by_telegram(site, init_data(init_fields(778, now))),
            "outside-telegram": f"{site.url}/app/tg",
        }
        for name, url in refused.items():
            page = await browser.new_page()
            await page.goto(url)
            notice = page.locator("#tg")
            await notice.filter(has_text=REFUSAL).wait_for()
            said = await notice.inner_text()
            assert "nhắn /web cho bot" in said, name  # says what to do instead
            assert page.url.startswith(f"{site.url}/app/tg"), name  # stayed: no pages
            if name == "too-old":
                await shoot(page, "mini-app-refused")
            answer = await page.goto(f"{site.url}/app/standings")
            assert answer is not None and answer.status == 401, name
            assert "/web" in await page.inner_text("main")
            await page.close()
