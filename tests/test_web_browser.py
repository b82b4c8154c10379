"""The dashboard in a real browser (Debian's chromium through Playwright) against the real
server and the demo's sample year: sign in by the link /web sends, see the standings, and
as a cluster head try another cluster's URL, finalise a period and grant an unlock.
Screenshots at 390×844 and 1366×768 go to test-output/screenshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.web_site import chromium, served, shoot


async def test_a_cluster_head_signs_in_by_link_and_sees_the_standings(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await page.goto(await site.link("head"))
        await page.click("#login")
        await page.wait_for_url("**/app/standings")
        assert "Cụm thi đua số 1" in await page.inner_text("h1")
        table = await page.inner_text("table.standings")
        assert "LĐLĐ quận Long Biên" in table and "Vì sao?" in table
        await page.click("details.why summary")
        assert "điểm" in await page.inner_text("details.why[open]")
        chart = await page.wait_for_selector("img.chart")
        assert chart is not None
        assert await chart.evaluate("(img) => img.complete && img.naturalWidth > 0")
        await shoot(page, "standings")

        # another cluster's URL: refused, and nothing of that cluster shown
        response = await page.goto(f"{site.url}/app/standings?cluster=cum2&period=2026")
        assert response is not None and response.status == 403
        body = await page.inner_text("body")
        assert "Tây Hồ" not in body and "Cụm thi đua số 2" not in body
        await shoot(page, "forbidden")

        # English is a choice, kept for the next pages
        await page.goto(f"{site.url}/app/standings")
        await page.click("text=English")
        await page.wait_for_selector("text=Standings")
        assert "Why?" in await page.inner_text("table.standings")
        await page.click("text=Reports")
        await page.wait_for_url("**/app/reports")
        assert "Filter" in await page.inner_text("#report-filters")
        await page.click("text=Tiếng Việt")

        await page.click("#logout")
        assert "đã đăng xuất" in await page.inner_text("main")
        response = await page.goto(f"{site.url}/app/standings")
        assert response is not None and response.status == 401


async def test_an_admin_filters_the_reports_and_opens_one(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await page.goto(await site.link("admin"))
        await page.click("#login")
        await page.wait_for_url("**/app/standings")
        await page.click("text=Báo cáo")
        await page.wait_for_url("**/app/reports")
        await page.select_option("select[name=unit]", "dong_da")
        await page.select_option("select[name=indicator]", "events")
        await page.select_option("select[name=sort]", "old")
        await page.click("#report-filters button")
        await page.wait_for_url("**unit=dong_da**")
        rows = await page.locator("table.reports tbody tr").all_inner_texts()
        assert rows and all("LĐLĐ quận Đống Đa" in row and "Tổ chức sự kiện" in row for row in rows)
        dates = [row.split("\t")[1] for row in rows]
        assert dates == sorted(dates, key=lambda d: tuple(reversed(d.split("/"))))
        await shoot(page, "reports")
        await page.click("table.reports tbody tr:first-child a")
        await page.wait_for_url("**/app/reports/*")
        assert "Lịch sử thay đổi" in await page.inner_text("main")
        await shoot(page, "report")
        await page.click("text=Tỷ lệ đầy đủ")
        await page.wait_for_url("**/app/completeness")
        assert "✓ đúng hạn" in await page.inner_text("table.completeness")
        await shoot(page, "completeness")
        # a page without images stays light on slow mobile data
        size = await page.evaluate(
            "() => performance.getEntriesByType('navigation')[0].transferSize"
            " + performance.getEntriesByType('resource')"
            ".reduce((sum, r) => sum + r.transferSize, 0)"
        )
        assert 0 < size < 150_000
        # "Nhắc ngay" asks first (app.js), then queues the reminder
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("button.remind >> nth=0")
        reminded = await page.wait_for_selector("#reminded")
        assert reminded is not None and "Bắc Từ Liêm" in await reminded.inner_text()


@pytest.mark.both_backends
async def test_a_cluster_head_finalises_a_period_and_grants_an_unlock(
    tmp_path: Path, database: str
) -> None:
    async with served(tmp_path, database=database) as site, chromium(tmp_path) as browser:
        officer = site.users["officer"]
        await officer.send("/unlock 2025-H2")
        await officer.press("Bổ sung báo cáo còn thiếu")
        await site.h.collect()
        page = await browser.new_page()
        await page.goto(await site.link("head"))
        await page.click("#login")
        await page.wait_for_url("**/app/standings")

        await page.click("nav >> text=Chốt số liệu")
        await page.wait_for_url("**/app/finalize")
        await page.select_option("select[name=period]", "2026-H1")
        await page.click("form.filters button")
        await page.wait_for_url("**period=2026-H1**")
        assert "Không còn việc gì dang dở" in await page.inner_text("#open")
        await shoot(page, "finalize")
        # the button asks first (app.js), then the snapshot is stored
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#finalize button")
        finalised = await page.wait_for_selector("#finalised")
        assert finalised is not None and "Đã chốt ngày 10/03/2026" in await finalised.inner_text()
        assert await page.query_selector("#reopen") is None  # an admin's
        await page.click("text=tải bảng tổng hợp")
        await page.wait_for_url("**/app/standings?**")
        async with page.expect_download() as download:
            await page.click("#filed-minutes")
        assert (await download.value).suggested_filename == "thidua-cum1-2026-H1-bien-ban.docx"

        await page.click("nav >> text=Yêu cầu mở khóa")
        await page.wait_for_url("**/app/unlocks")
        assert "Bổ sung báo cáo còn thiếu" in await page.inner_text("table.unlocks")
        await shoot(page, "unlocks")
        await page.click("button.grant")
        said = await page.wait_for_selector("#said")
        assert said is not None and "Đã mở khóa" in await said.inner_text()
        assert "Hiện không có yêu cầu mở khóa nào" in await page.inner_text("#none")
        told = [s for s in await site.h.collect() if s.chat_id == officer.chat_id]
        assert len(told) == 1 and "đã đồng ý mở khóa" in told[0].text


@pytest.mark.both_backends
async def test_an_admin_reopens_a_period_and_sees_its_history(
    tmp_path: Path, database: str
) -> None:
    async with served(tmp_path, database=database) as site, chromium(tmp_path) as browser:
        head = site.users["head"]
        await head.send("/finalize 2026-H1")
        assert "Đã chốt" in (await head.press("Chốt số liệu"))[0].text
        site.h.clock.advance(hours=3)
        page = await browser.new_page()
        await page.goto(await site.link("admin"))
        await page.click("#login")
        await page.wait_for_url("**/app/standings")
        await page.goto(f"{site.url}/app/finalize?cluster=cum1&period=2026-H1")
        history = await page.locator("#history tbody tr").all_inner_texts()
        assert len(history) == 1 and "Người 13" in history[0] and "Chốt số liệu" in history[0]
        await page.fill("#reopen textarea[name=reason]", "Đống Đa <b>nhập sai</b> số liệu")
        await page.click("#reopen button")
        said = await page.wait_for_selector("#said")
        assert said is not None and "Đã mở lại" in await said.inner_text()
        history = await page.locator("#history tbody tr").all_inner_texts()
        assert [row.split("\t")[1:] for row in history] == [
            ["Người 16", "🔓 Mở lại", "Đống Đa <b>nhập sai</b> số liệu"],  # shown, not run
            ["Người 13", "🔒 Chốt số liệu", ""],
        ]
        assert history[0].startswith("12:00 10/03/2026")
        await shoot(page, "finalize-history")
