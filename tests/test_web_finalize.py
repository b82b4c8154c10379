"""Finalising and unlock requests from the dashboard over HTTP against the real server: a
cluster head sees what is open, confirms (CSRF), sees "Đã chốt ngày …" and downloads the
filed documents; an admin reopens with a reason; unlock requests are granted or refused
once, the officer told through the outbox as in the chat."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from domain.periods import Period
from tests.web_site import Site, client, csrf_of, served, sign_in
from usecases import access, targets

pytestmark = pytest.mark.both_backends


@pytest.fixture
async def site(tmp_path: Path, database: str):
    async with served(tmp_path, database=database) as found:
        yield found


FINALIZE = "/app/finalize?cluster=cum1&period=2026-H1"


async def test_a_cluster_head_finalises_a_period_then_downloads_its_documents(
    site: Site,
) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with browser.get(f"{site.url}{FINALIZE}") as page:
            body = await page.text()
        assert page.status == 200 and "Chốt số liệu" in body
        assert "Không còn việc gì dang dở" in body  # the sample half-year is complete
        assert 'id="reopen"' not in body and 'id="history"' not in body  # nothing yet
        # the standings page offers no filed document while the period is provisional
        async with browser.get(f"{site.url}/app/standings?cluster=cum1&period=2026-H1") as page:
            assert "filed-summary" not in await page.text()
        form = {"cluster": "cum1", "period": "2026-H1"}
        async with browser.post(f"{site.url}/app/finalize", data=form) as answer:
            assert answer.status == 403  # no CSRF token
        assert await site.h.scalar("SELECT COUNT(*) FROM finalised_periods") == 0
        form["csrf"] = await csrf_of(site, browser)
        async with browser.post(
            f"{site.url}/app/finalize", data=form, allow_redirects=False
        ) as answer:
            assert answer.status == 303
            assert answer.headers["Location"] == FINALIZE
        async with browser.get(f"{site.url}{FINALIZE}") as page:
            body = await page.text()
        assert "🔒 Đã chốt ngày 10/03/2026" in body and 'id="finalize"' not in body
        assert "LĐLĐ quận Long Biên" in body  # the ranking kept
        # finalising twice is refused, saying when and by whom
        async with browser.post(f"{site.url}/app/finalize", data=form) as answer:
            assert answer.status == 400 and "đã được chốt lúc" in await answer.text()
        async with browser.get(f"{site.url}/app/standings?cluster=cum1&period=2026-H1") as page:
            body = await page.text()
        assert "filed-summary" in body and "filed-minutes" in body
        for kind in ("bang-tong-hop", "bien-ban"):
            async with browser.get(
                f"{site.url}/app/standings/filed/{kind}?cluster=cum1&period=2026-H1"
            ) as doc:
                made = await doc.read()
                assert doc.status == 200 and made[:2] == b"PK"
                assert f"thidua-cum1-2026-H1-{kind}.docx" in doc.headers["Content-Disposition"]
        # a period not finalised has no document to file; an unknown kind is not a page
        async with browser.get(
            f"{site.url}/app/standings/filed/bien-ban?cluster=cum1&period=2026"
        ) as doc:
            assert doc.status == 400
        async with browser.get(
            f"{site.url}/app/standings/filed/other?cluster=cum1&period=2026-H1"
        ) as doc:
            assert doc.status == 404
        # another cluster's page: refused
        async with browser.get(f"{site.url}/app/finalize?cluster=cum2&period=2026-H1") as page:
            assert page.status == 403


async def test_an_admin_reopens_with_a_reason(site: Site) -> None:
    async with client() as head:
        await sign_in(site, head, await site.link("head"))
        form = {"cluster": "cum1", "period": "2026-H1", "csrf": await csrf_of(site, head)}
        async with head.post(f"{site.url}/app/finalize", data=form) as answer:
            assert answer.status == 200
        # a cluster head may not reopen
        async with head.post(
            f"{site.url}/app/finalize/reopen", data={**form, "reason": "sai số"}
        ) as answer:
            assert answer.status == 403
    async with client() as admin:
        await sign_in(site, admin, await site.link("admin"))
        async with admin.get(f"{site.url}{FINALIZE}") as page:
            assert 'id="reopen"' in await page.text()
        form["csrf"] = await csrf_of(site, admin)
        async with admin.post(
            f"{site.url}/app/finalize/reopen", data={**form, "reason": "  "}
        ) as answer:
            assert answer.status == 400 and "lý do" in await answer.text()
        site.h.clock.advance(hours=2)
        async with admin.post(
            f"{site.url}/app/finalize/reopen",
            data={**form, "reason": "số liệu của Đống Đa bị nhập sai"},
        ) as answer:
            body = await answer.text()
        assert answer.status == 200 and "Đã mở lại" in body and 'id="finalize"' in body
        # the period's history, newest first: who reopened, when and why; who finalised
        assert _history(body) == [
            ["11:00 10/03/2026", "Người 16", "🔓 Mở lại", "số liệu của Đống Đa bị nhập sai"],
            ["09:00 10/03/2026", "Người 13", "🔒 Chốt số liệu", ""],
        ]
        # finalised anew, the history keeps all three; in English too
        async with admin.post(f"{site.url}/app/finalize", data=form) as answer:
            assert answer.status == 200
        async with admin.post(f"{site.url}/app/lang", data={**form, "lang": "en"}) as answer:
            assert answer.status == 200
        async with admin.get(f"{site.url}{FINALIZE}") as page:
            shown = _history(await page.text())
        assert [row[1:3] for row in shown] == [
            ["Người 16", "🔒 Finalised"],
            ["Người 16", "🔓 Reopened"],
            ["Người 13", "🔒 Finalised"],
        ]
    trail = await site.h.rows("SELECT action, reason FROM period_audit ORDER BY id")
    assert trail[-2][1] == "số liệu của Đống Đa bị nhập sai"
    # a cluster head who may finalise sees it as well; another cluster's is not theirs
    async with client() as head:
        await sign_in(site, head, await site.link("head"))
        async with head.get(f"{site.url}{FINALIZE}") as page:
            assert len(_history(await page.text())) == 3


def _history(body: str) -> list[list[str]]:
    """The cells of the finalise page's history table, row by row."""
    found = re.search(r'<section id="history">([\s\S]*?)</section>', body)
    if found is None:
        return []
    rows = re.findall(r"<tr>([\s\S]*?)</tr>", found.group(1).split("<tbody>")[1])
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]


async def _ask_unlock(site: Site) -> int:
    """The officer of ba_dinh (cum1) asks to unlock the closed 2025-H2 in the chat."""
    officer = site.users["officer"]
    replies = await officer.send("/unlock 2025-H2")
    assert "Vì sao cần mở khóa" in replies[-1].text
    await officer.press("Bổ sung báo cáo còn thiếu")
    found = await site.h.scalar("SELECT MAX(id) FROM period_unlocks")
    assert isinstance(found, int)
    await site.h.collect()
    return found


async def test_unlock_requests_are_decided_once_and_the_officer_is_told(site: Site) -> None:
    request = await _ask_unlock(site)
    async with client() as other:
        await sign_in(site, other, await site.link("other_head"))
        async with other.get(f"{site.url}/app/unlocks") as page:
            body = await page.text()
        assert "Hiện không có yêu cầu mở khóa nào" in body  # not their cluster's
        form = {"decision": "grant", "csrf": await csrf_of(site, other)}
        async with other.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            assert answer.status == 403
    async with client() as head:
        await sign_in(site, head, await site.link("head"))
        async with head.get(f"{site.url}/app/unlocks") as page:
            body = await page.text()
        assert f'id="unlock-{request}"' in body and "Bổ sung báo cáo còn thiếu" in body
        form = {"decision": "grant"}
        async with head.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            assert answer.status == 403  # no CSRF token
        form["csrf"] = await csrf_of(site, head)
        async with head.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            body = await answer.text()
        assert answer.status == 200 and "✅ Đã mở khóa" in body
        assert f'id="unlock-{request}"' not in body
    sent = await site.h.collect()
    told = [s for s in sent if s.chat_id == site.users["officer"].chat_id]
    assert len(told) == 1 and "đã đồng ý mở khóa" in told[0].text
    # the admin, second, is told who was first; nobody is told anything again
    async with client() as admin:
        await sign_in(site, admin, await site.link("admin"))
        form = {"decision": "refuse", "csrf": await csrf_of(site, admin)}
        async with admin.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            body = await answer.text()
        assert answer.status == 400 and re.search(r"đã được .+ đồng ý rồi", body)
        async with admin.post(f"{site.url}/app/unlocks/abc", data=form) as answer:
            assert answer.status == 400
        form["decision"] = "maybe"
        async with admin.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            assert answer.status == 400
    assert await site.h.collect() == []
    status = await site.h.scalar("SELECT status FROM period_unlocks WHERE id = ?", request)
    assert status == "granted"


async def test_a_refused_request_tells_the_officer(site: Site) -> None:
    request = await _ask_unlock(site)
    async with client() as admin:
        await sign_in(site, admin, await site.link("admin"))
        # while it waits, finalising that half-year shows it among what is still open
        async with admin.get(f"{site.url}/app/finalize?cluster=cum1&period=2025-H2") as page:
            body = await page.text()
        assert "Còn dang dở:" in body
        assert "Yêu cầu mở khóa đang chờ: LĐLĐ quận Ba Đình" in body
        form = {"decision": "refuse", "csrf": await csrf_of(site, admin)}
        async with admin.post(f"{site.url}/app/unlocks/{request}", data=form) as answer:
            assert answer.status == 200 and "Đã từ chối mở khóa" in await answer.text()
    told = [s for s in await site.h.collect() if s.chat_id == site.users["officer"].chat_id]
    assert len(told) == 1 and "đã từ chối yêu cầu mở khóa" in told[0].text


async def test_a_unit_page_shows_its_progress_and_reports_due(site: Site) -> None:
    async with site.h.db.transaction() as tx:
        await targets.set_one(
            tx,
            access.OPERATOR,
            site.h.dispatcher.settings,
            unit="ba_dinh",
            measure="new_unions",
            period=Period.from_key("2026"),
            value=2000,
            now=site.h.clock.now(),
        )
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with browser.get(f"{site.url}/app/completeness") as page:
            assert "/app/unit?unit=ba_dinh" in await page.text()
        async with browser.get(f"{site.url}/app/unit?unit=ba_dinh") as page:
            body = await page.text()
        assert page.status == 200 and "Tiến độ LĐLĐ quận Ba Đình" in body
        assert "4/2.000" in body and "chậm tiến độ: cần 379" in body  # new unions, 10 March
        assert 'id="deadlines"' in body and "tháng 2/2026" in body and "đúng hạn" in body
        async with browser.get(f"{site.url}/app/unit?unit=tay_ho") as page:
            assert page.status == 403 and "Tây Hồ" not in await page.text()
