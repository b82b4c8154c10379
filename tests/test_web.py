"""The dashboard over HTTP against the real server: signing in by link (single use, 10
minutes, bound to the person), sessions (signed, revocable), CSRF, security headers, a
cluster head editing URLs, hostile text shown escaped, bad parameters answered 400, and the
Telegram Mini App's initData checked against vectors made with the documented algorithm."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.app import App
from bot.config import HealthSection, Secrets, WebhookSection, WebSection, load_config
from domain.models import Photo, Role
from domain.periods import Period, PeriodKind
from domain.review import Reviewers, ReviewRules
from storage import people as people_repo
from storage.blobs import BlobStore
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE
from tests.web_site import (
    BOT_TOKEN,
    LOGIN_FORM,
    Site,
    client,
    csrf_of,
    served,
    session_cookie,
    sign_in,
)
from tests.web_site import init_data as _init_data
from tests.web_site import init_fields as _fields
from usecases import access, evidence, finalize, reports
from web import initdata
from web.app import COOKIE


@pytest.fixture
async def site(tmp_path: Path):
    async with served(tmp_path) as found:
        yield found


async def test_a_link_signs_in_once_and_only_within_ten_minutes(site: Site) -> None:
    link = await site.link("head")
    async with client() as browser:
        async with browser.get(link) as page:  # a link preview's GET spends nothing
            assert page.status == 200
        assert await sign_in(site, browser, link) == 303
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 200 and "Cụm thi đua số 1" in await page.text()
    async with client() as other:  # the same link again, from anywhere
        assert await sign_in(site, other, link) == 400
    late = await site.link("head")
    site.h.clock.advance(minutes=10, seconds=1)
    async with client() as browser:
        assert await sign_in(site, browser, late) == 400
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 401


async def test_only_hashes_of_links_and_sessions_are_stored(site: Site) -> None:
    link = await site.link("admin")
    token = link.rsplit("=", 1)[1]
    async with client() as browser:
        await sign_in(site, browser, link)
        cookie = session_cookie(browser)
    stored = await site.h.rows("SELECT token_hash FROM web_links")
    sessions = await site.h.rows("SELECT token_hash FROM web_sessions")
    assert (hashlib.sha256(token.encode()).hexdigest(),) in stored
    assert all(token not in str(row) for row in stored)
    assert all(cookie.split(".")[0] not in str(row) for row in sessions)
    # the message kept in the outbox has the link masked once delivered
    kept = await site.h.rows("SELECT payload_json FROM outbox WHERE payload_json LIKE '%/app/%'")
    assert kept == [], kept


async def test_the_roles_without_pages_get_no_link(site: Site) -> None:
    replies = await site.users["officer"].send("/web")
    assert "dành cho Cụm trưởng" in replies[0].text and "/app/login" not in replies[0].text
    help_text = (await site.users["head"].send("/help"))[0].text
    assert "/web" in help_text
    assert "/web" not in (await site.users["officer"].send("/help"))[0].text


async def test_sign_out_revokes_the_session_on_the_server(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        cookie = session_cookie(browser)
        token = await csrf_of(site, browser)
        async with browser.post(f"{site.url}/app/logout", data={"csrf": token}) as out:
            assert out.status == 200
    async with client() as replay:  # the old cookie, kept by someone
        replay.cookie_jar.update_cookies({COOKIE: cookie})
        async with replay.get(f"{site.url}/app/standings") as page:
            assert page.status == 401


async def test_a_forged_or_tampered_cookie_is_no_session(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        cookie = session_cookie(browser)
    token, mac = cookie.split(".")

    def flip(text: str) -> str:
        return text[:-1] + ("B" if text[-1] == "A" else "A")

    for forged in (f"{token}.{flip(mac)}", f"{flip(token)}.{mac}", token, "a.b.c", ""):
        async with client() as other:
            other.cookie_jar.update_cookies({COOKIE: forged})
            async with other.get(f"{site.url}/app/standings") as page:
                assert page.status == 401, forged


async def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        form = {"obligation": "monthly", "period": "2026-02", "unit": "ba_dinh"}
        for sent in ({}, {"csrf": "0" * 40}):
            async with browser.post(
                f"{site.url}/app/completeness/remind", data={**form, **sent}
            ) as answer:
                assert answer.status == 403
                assert "Biểu mẫu đã cũ" in await answer.text()
        async with browser.post(f"{site.url}/app/logout", data={}) as answer:
            assert answer.status == 403
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 200  # still signed in
    assert await site.h.scalar("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'web-%'") == 0


async def test_security_headers(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        for path in ("/app/standings", "/app/reports", "/app/nowhere", "/app/login?t=x"):
            async with browser.get(f"{site.url}{path}") as page:
                csp = page.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                assert "frame-ancestors 'none'" in csp
                assert page.headers["X-Frame-Options"] == "DENY"
                assert page.headers["Referrer-Policy"] == "no-referrer"
                assert page.headers["X-Content-Type-Options"] == "nosniff"
                assert page.headers["Server"] == "thidua"  # no versions
        async with browser.get(f"{site.url}/app/tg") as page:
            csp = page.headers["Content-Security-Policy"]
            assert "frame-ancestors https://web.telegram.org" in csp
            assert "X-Frame-Options" not in page.headers
        async with browser.get(f"{site.url}/app/standings") as page:
            html = await page.text()
        assert page.headers.get("Content-Encoding") in ("gzip", "deflate")  # compressed
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts == ['<script src="/app/static/app.js" defer>']
        assert " style=" not in html and "<style" not in html
        set_cookie = page.headers.getall("Set-Cookie", [])
        assert set_cookie == []  # only the sign-in sets it
    async with client() as anonymous:
        link = await site.link("head")
        async with anonymous.get(link) as page:
            assert page.status == 200
            token, csrf = LOGIN_FORM.search(await page.text()).groups()  # type: ignore[union-attr]
        async with anonymous.post(
            f"{site.url}/app/login", data={"t": token, "csrf": csrf}, allow_redirects=False
        ) as answer:
            cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app" in cookie
    assert "Max-Age=43200" in cookie


async def test_a_cluster_head_editing_urls_sees_nothing_of_another_cluster(site: Site) -> None:
    tay_ho = await site.h.scalar(
        "SELECT MIN(id) FROM reports WHERE unit_code IN (SELECT unit_code FROM cluster_members "
        "WHERE cluster_code = 'cum1' AND year = 2026)"
    )
    other_report = await _report_of(site, "other_head", "tay_ho", "Không có gì đặc biệt")
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        for path in (
            "/app/standings?cluster=cum2&period=2026",
            "/app/standings/chart.png?cluster=cum2&period=2026",
            "/app/standings/workbook.xlsx?cluster=cum2&period=2026",
            "/app/reports?unit=tay_ho&period=2026",
            f"/app/reports/{other_report}",
            "/app/reports/987654321",  # no such report: the same answer
        ):
            async with browser.get(f"{site.url}{path}") as page:
                body = await page.text()
                assert page.status == 403, path
                assert "Tây Hồ" not in body and "Cụm thi đua số 2" not in body, path
                assert "Không có gì đặc biệt" not in body
        async with browser.get(f"{site.url}/app/reports/{tay_ho}") as page:
            assert page.status == 200  # its own cluster's report
        token = await csrf_of(site, browser)
        form = {"csrf": token, "obligation": "monthly", "period": "2026-02", "unit": "tay_ho"}
        async with browser.post(f"{site.url}/app/completeness/remind", data=form) as answer:
            assert answer.status == 403
    assert await site.h.scalar("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'web-%'") == 0


async def _report_of(site: Site, who: str, unit: str, recipients: str, photos: int = 0) -> int:
    uid = site.users[who].id
    async with site.h.db.transaction() as tx:
        person = await people_repo.by_identity(tx, site.h.channel, uid)
        caller = access.Caller(await access.actor_of(tx, person, 2026), 2026)
        indicator = site.h.dispatcher.settings.indicator("gifts")
        assert indicator is not None
        made = await reports.create(
            tx,
            caller,
            site.h.dispatcher.settings,
            unit=unit,
            indicator=indicator,
            values={"count": 3, "occasion": "tet", "recipients": recipients},
            photos=tuple(
                Photo("test", f"file-{recipients}-{n}", f"u-{recipients}-{n}", 1000 + n)
                for n in range(1, photos + 1)
            ),
            source_key=f"web-test-{who}-{recipients}",
            now=site.h.clock.now(),
        )
    return made.id


async def test_html_and_scripts_in_report_text_are_shown_escaped(site: Site) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    report_id = await _report_of(site, "head", "long_bien", hostile)
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        for path in (f"/app/reports/{report_id}", "/app/reports?unit=long_bien&period=2026-03"):
            async with browser.get(f"{site.url}{path}") as page:
                body = await page.text()
            assert page.status == 200
            assert hostile not in body and "<img src=x" not in body
            assert "&lt;script&gt;alert(" in body


@pytest.mark.parametrize(
    "query",
    [
        "/app/reports?per=abc",
        "/app/reports?per=0",
        "/app/reports?per=100000",
        "/app/reports?per=%C2%B2",  # a superscript two: a digit to Unicode, not a number
        "/app/reports?person=-1",
        "/app/reports?after=2026-13-01~5",
        "/app/reports?after=yesterday",
        "/app/reports?period=2026-H9",
        "/app/reports?period=1066",
        "/app/reports?state=deleted",
        "/app/reports?sort=random",
        "/app/reports?indicator=%3Cscript%3E",
        "/app/reports?unit=" + "x" * 500,
        "/app/reports/abc",
        "/app/reports/99999999999999999999",
        "/app/standings?period=2026-13",
        "/app/completeness?year=1900",
        "/app/completeness?obligation=nope",
        "/app/targets?year=%C2%B2",
        "/app/people?year=%C2%B2",
    ],
)
async def test_malformed_or_out_of_range_parameters_get_a_polite_400(
    site: Site, query: str
) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("admin"))
        async with browser.get(f"{site.url}{query}") as page:
            body = await page.text()
    assert page.status == 400, query
    assert "không hợp lệ" in body and "Traceback" not in body and "<script>" not in body


async def test_paging_walks_every_report_once_in_both_orders(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("admin"))
        for order in ("new", "old"):
            seen: list[int] = []
            query = {"period": "2026", "per": "10", "sort": order}
            while True:
                async with browser.get(f"{site.url}/app/reports?{urlencode(query)}") as page:
                    body = await page.text()
                assert page.status == 200
                seen += [int(i) for i in re.findall(r'href="/app/reports/(\d+)"', body)]
                after = re.search(r'href="/app/reports\?[^"]*after=([^"&]+)', body)
                if after is None:
                    break
                query["after"] = after.group(1).replace("%7E", "~")
            expected = await site.h.scalar(
                "SELECT COUNT(*) FROM reports WHERE occurred_on >= '2026-01-01' "
                "AND occurred_on <= '2026-12-31'"
            )
            assert len(seen) == len(set(seen)) == expected
            dates = await site.h.rows(
                f"SELECT id FROM reports WHERE occurred_on >= '2026-01-01' ORDER BY occurred_on "
                f"{'DESC' if order == 'new' else 'ASC'}, id {'DESC' if order == 'new' else 'ASC'}"
            )
            assert seen == [row[0] for row in dates]


async def test_remind_now_goes_through_the_outbox_once_a_day(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        token = await csrf_of(site, browser)
        form = {"csrf": token, "obligation": "monthly", "period": "2026-02", "unit": "ba_dinh"}
        # ba_dinh reported February already (the sample year): nothing to remind
        async with browser.post(f"{site.url}/app/completeness/remind", data=form) as answer:
            assert answer.status == 400
        await site.h.collect()
        form["period"] = "2026-04"  # nothing reported for April yet
        for _ in range(2):
            async with browser.post(f"{site.url}/app/completeness/remind", data=form) as answer:
                assert answer.status == 200
        sent = await site.h.collect()
    reminded = [s for s in sent if "Cụm trưởng nhắc" in s.text]
    officers = {site.users["officer"].chat_id, site.users["chair"].chat_id}
    assert {s.chat_id for s in reminded} == officers and len(reminded) == 2


async def test_remind_now_waits_for_the_end_of_quiet_hours(site: Site) -> None:
    site.h.clock.current = dt.datetime(2026, 3, 10, 22, 30, tzinfo=site.h.clock.current.tzinfo)
    async with client() as browser:
        await sign_in(site, browser, await site.link("admin"))
        token = await csrf_of(site, browser)
        form = {"csrf": token, "obligation": "monthly", "period": "2026-04", "unit": "ba_dinh"}
        async with browser.post(f"{site.url}/app/completeness/remind", data=form) as answer:
            body = await answer.text()
    assert answer.status == 200 and "giờ yên lặng" in body
    due = await site.h.rows(
        "SELECT next_attempt_at FROM outbox WHERE dedupe_key LIKE 'web-remind:%'"
    )
    assert due and all(str(row[0]).startswith("2026-03-11T00:00") for row in due)  # 07:00 +07


# ---- Telegram Mini App initData ------------------------------------------------------------


NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_init_data_vectors() -> None:
    good = _init_data(_fields(42, NOW - dt.timedelta(minutes=5)))
    assert initdata.check(good, BOT_TOKEN, NOW, HOUR) == initdata.TelegramUser(
        42, (NOW - dt.timedelta(minutes=5)).replace(microsecond=0)
    )
    fields = _fields(42, NOW)
    wrong_hash = urlencode({**fields, "hash": "0" * 64})
    other_bot = _init_data(fields, "654321:another-bot")
    stale = _init_data(_fields(42, NOW - HOUR - dt.timedelta(seconds=1)))
    future = _init_data(_fields(42, NOW + dt.timedelta(minutes=5)))
    changed_user = good.replace("%22id%22%3A+42", "%22id%22%3A+43")
    assert changed_user != good
    twice = good + "&user=" + "x"
    no_user = _init_data({"auth_date": str(int(NOW.timestamp()))})
    for bad in (wrong_hash, other_bot, stale, future, changed_user, twice, no_user, "", "%%"):
        assert initdata.check(bad, BOT_TOKEN, NOW, HOUR) is None, bad
    assert initdata.check(good, "", NOW, HOUR) is None  # no token configured: nobody


async def test_the_mini_app_signs_in_a_registered_telegram_account(site: Site) -> None:
    head = await site.h.person(901, "long_bien", Role.CLUSTER_HEAD)
    async with site.h.db.transaction() as tx:
        person = await people_repo.by_identity(tx, site.h.channel, head.id)
        assert person is not None
        await people_repo.add_identity(tx, person.id, "telegram", "777", site.h.clock.now())
    now = site.h.clock.now()
    async with client() as app:
        async with app.post(
            f"{site.url}/app/tg", data={"init_data": _init_data(_fields(777, now))}
        ) as answer:
            assert answer.status == 200 and (await answer.json())["next"] == "/app/"
        async with app.get(f"{site.url}/app/standings") as page:
            assert page.status == 200
            assert (
                "frame-ancestors https://web.telegram.org"
                in page.headers["Content-Security-Policy"]
            )
    for bad in (
        _init_data(_fields(777, now), "654321:another-bot"),
        _init_data(_fields(777, now - dt.timedelta(hours=2))),
        _init_data(_fields(778, now)),  # a Telegram account nobody registered
    ):
        async with client() as app:
            async with app.post(f"{site.url}/app/tg", data={"init_data": bad}) as answer:
                assert answer.status == 403
            async with app.get(f"{site.url}/app/standings") as page:
                assert page.status == 401


async def test_the_chat_menu_button_opens_the_dashboard_as_a_mini_app(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    for public, expected in (
        ("https://thidua.example.org", "https://thidua.example.org/app/tg"),
        ("http://10.0.0.5:8080", None),  # Telegram opens https Mini Apps only: no button
    ):
        web = WebSection(enabled=True, public_url=public)
        async with FakeTelegramAPI() as fake:
            secrets_ = Secrets(telegram_bot_token=fake.token, telegram_api_base_url=fake.base_url)
            app = App(
                config.model_copy(update={"web": web}).with_secrets(secrets_),
                secrets_,
                database=str(tmp_path / "menu.sqlite3"),
            )
            channel = app.build_channel("telegram")
            await channel.start()
            await channel.stop()
        if expected is None:
            assert fake.menu_button is None
        else:
            assert fake.menu_button == {
                "type": "web_app",
                "text": "Trang quản lý",
                "web_app": {"url": expected},
            }


async def test_a_finalised_period_shows_its_snapshot_and_says_so(site: Site) -> None:
    period = Period(PeriodKind.HALF, 2026, 1)
    async with site.h.db.transaction() as tx:
        await finalize.finalize(
            tx,
            access.OPERATOR,
            site.h.dispatcher.settings,
            period,
            site.h.clock.now(),
            confirmed=True,
            cluster_code="cum1",
        )
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with browser.get(f"{site.url}/app/standings?period=2026-H1") as page:
            body = await page.text()
        assert page.status == 200 and "🔒 Đã chốt ngày 10/03/2026" in body
        assert "Số liệu đã chốt, không thay đổi theo báo cáo mới" in body
        async with browser.get(f"{site.url}/app/standings?period=2026") as page:
            assert "Đã chốt" not in await page.text()  # the year is not finalised
        async with browser.get(
            f"{site.url}/app/standings/chart.png?cluster=cum1&period=2026-H1"
        ) as chart:
            assert chart.status == 200 and chart.content_type == "image/png"


async def test_a_report_shows_its_evidence_photos_to_those_who_may_see_it(
    site: Site, tmp_path: Path
) -> None:
    store = BlobStore(tmp_path / "evidence")
    site.deps.photo = lambda photo, full: (
        evidence.original(store, photo) if full else evidence.thumbnail(store, photo)
    )
    report_id = await _report_of(site, "head", "long_bien", "ảnh", photos=2)
    async with site.h.db.transaction() as tx:
        first = next(
            p
            for p in await evidence.due(tx, frozenset({"test"}), site.h.clock.now())
            if p.report_id == report_id and p.position == 1
        )
        digest = store.put(b"original-bytes", b"thumbnail-bytes")
        await evidence.stored(
            tx,
            first,
            digest=digest,
            size=14,
            content_type="image/png",
            width=4,
            height=3,
            dhash=0,
            now=site.h.clock.now(),
        )
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with browser.get(f"{site.url}/app/reports/{report_id}") as page:
            body = await page.text()
        assert f'src="/app/reports/{report_id}/photos/1"' in body
        assert "2. đang tải về" in body
        base = f"{site.url}/app/reports/{report_id}/photos"
        async with browser.get(f"{base}/1") as thumb:
            assert thumb.status == 200 and await thumb.read() == b"thumbnail-bytes"
        async with browser.get(f"{base}/1?full=1") as full:
            assert await full.read() == b"original-bytes" and full.content_type == "image/png"
        for missing in (f"{base}/2", f"{base}/9", f"{base}/1?full=2"):
            async with browser.get(missing) as page:
                assert page.status in (404, 400), missing
    async with client() as other:
        await sign_in(site, other, await site.link("other_head"))
        async with other.get(f"{base}/1") as page:
            assert page.status == 403 and await page.read() != b"thumbnail-bytes"


async def test_a_cluster_head_reviews_reports_from_the_dashboard(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    config = config.model_copy(update={"review": ReviewRules(by=Reviewers.CLUSTER)})
    async with served(tmp_path, sample=False, config=config) as site:
        officer = site.users["officer"]
        ids = []
        for n in (3, 4):
            await officer.send(f"tặng {n} suất quà nhân dịp tết ngày 1/3")
            saved = await officer.press("Lưu")
            ids.append(int(re.search(r"#(\d+)", saved[0].text).group(1)))  # type: ignore[union-attr]
        async with client() as browser:
            await sign_in(site, browser, await site.link("head"))
            async with browser.get(f"{site.url}/app/reports?review=submitted") as page:
                listed = await page.text()
            assert all(f'href="/app/reports/{i}"' in listed for i in ids)
            async with browser.get(f"{site.url}/app/reports/{ids[0]}") as page:
                body = await page.text()
            assert 'id="accept"' in body and "⏳ chờ duyệt" in body
            token = await csrf_of(site, browser)
            url = f"{site.url}/app/reports/{ids[0]}/review"
            empty = {"csrf": token, "version": "1", "decision": "return", "reason": "  "}
            async with browser.post(url, data=empty) as answer:
                assert answer.status == 400
            returned = {**empty, "reason": "Thiếu ảnh <b>minh chứng</b>"}
            async with browser.post(url, data=returned) as answer:
                body = await answer.text()
            assert answer.status == 200 and "Đã ghi nhận." in body and "↩️ trả lại" in body
            async with browser.post(url, data=returned) as again:  # decided already
                assert "đã xử lý báo cáo này trước bạn" in await again.text()
            accept = {"csrf": token, "version": "1", "decision": "accept"}
            async with browser.post(f"{site.url}/app/reports/{ids[1]}/review", data=accept) as a:
                assert "✅ đã duyệt" in await a.text()
        told = [s for s in await site.h.collect() if s.chat_id == officer.chat_id]
        assert any(f"Báo cáo #{ids[0]} được trả lại" in s.text for s in told)
        assert any("Thiếu ảnh <b>minh chứng</b>" in s.text for s in told)
        async with client() as other:  # the head of another cluster may not
            await sign_in(site, other, await site.link("other_head"))
            token = await csrf_of(site, other)
            form = {"csrf": token, "version": "1", "decision": "accept"}
            async with other.post(f"{site.url}/app/reports/{ids[0]}/review", data=form) as no:
                assert no.status == 403


async def test_a_session_ends_at_its_expiry(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        site.h.clock.advance(hours=11, minutes=59)
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 200
        site.h.clock.advance(minutes=1)
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 401


async def test_a_deactivated_person_loses_the_session(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with site.h.db.transaction() as tx:
            person = await people_repo.by_identity(tx, site.h.channel, site.users["head"].id)
            assert person is not None
            await people_repo.deactivate(tx, person.id)
        async with browser.get(f"{site.url}/app/standings") as page:
            assert page.status == 401


async def test_the_session_cookie_is_secure_behind_tls(site: Site) -> None:
    site.deps.public_url = "https://thidua.example.org"
    link = await site.link("head")
    async with client() as anonymous:
        async with anonymous.get(link) as page:
            token, csrf = LOGIN_FORM.search(await page.text()).groups()  # type: ignore[union-attr]
        async with anonymous.post(
            f"{site.url}/app/login", data={"t": token, "csrf": csrf}, allow_redirects=False
        ) as answer:
            cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_the_bot_serves_the_dashboard_only_when_it_is_on(tmp_path: Path) -> None:
    base = load_config(EXAMPLE)
    hook = WebhookSection(host="127.0.0.1", port=0)
    for enabled, expected in ((True, 401), (False, 404)):
        config = base.model_copy(
            update={
                "web": WebSection(enabled=enabled),
                "webhook": hook,
                "health": HealthSection(serve=True),
            }
        )
        app = App(config, Secrets(), database=str(tmp_path / f"{enabled}.sqlite3"))
        await app.start()
        try:
            assert app.server is not None
            async with client() as browser, browser.get(f"{app.server.url}/app/") as page:
                assert page.status == expected
                assert page.headers["Server"] == "thidua"
        finally:
            await app.stop()
