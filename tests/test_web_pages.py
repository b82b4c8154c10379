"""The targets, people and invites, and federation overview pages in a real browser (Debian's
chromium through Playwright) against the real server and the demo's sample year.

Screenshots at 390×844 and 1366×768 go to test-output/screenshots (not committed)."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from domain.invites import normalize
from tests.web_site import Site, chromium, served, shoot

BOT = "thidua_test_bot"
CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


async def _signed_in(site: Site, page: Page, who: str) -> None:
    await page.goto(await site.link(who))
    await page.click("#login")
    await page.wait_for_load_state()


def _csv(*lines: str) -> dict[str, object]:
    return {"name": "chi-tieu.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}


async def test_targets_upload_an_error_then_a_good_file_then_edit_one(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await _signed_in(site, page, "admin")
        await page.goto(f"{site.url}/app/targets?cluster=cum1")
        assert "Chỉ tiêu thi đua năm 2026" in await page.inner_text("h1")

        async with page.expect_download() as download:
            await page.click("#template")
        saved = tmp_path / "template.xlsx"
        await (await download.value).save_as(saved)
        assert saved.read_bytes()[:2] == b"PK"  # an .xlsx

        # one wrong row: every problem by row number, nothing imported
        await page.set_input_files(
            "input[name=file]",
            _csv(  # type: ignore[arg-type]
                "unit,measure,period,value",
                "long_bien,new_unions,2026,31",
                "nowhere,new_unions,2026,20",
                "ba_dinh,new_union,2026,-4",
            ),
        )
        async with page.expect_navigation() as navigation:
            await page.click("#upload")
        assert (await navigation.value).status == 400  # type: ignore[union-attr]
        problems = await page.inner_text(".problems")
        assert "Dòng 3: không có đơn vị “nowhere”" in problems
        assert "Dòng 4: không có chỉ số “new_union”; có phải “new_unions”?" in problems
        assert "Chưa nhập chỉ tiêu nào" in problems
        assert await site.h.scalar("SELECT COUNT(*) FROM targets WHERE source = 'import'") == 0
        await shoot(page, "targets-refused")

        # the good file: imported, shown, said
        await page.set_input_files(
            "input[name=file]",
            _csv(  # type: ignore[arg-type]
                "unit,measure,period,value",
                "long_bien,new_unions,2026,31",
                "ba_dinh,new_unions,2026-H1,12",
            ),
        )
        await page.click("#upload")
        await page.wait_for_selector(".ok")
        assert "Đã nhập 2 chỉ tiêu" in await page.inner_text(".ok")
        table = await page.inner_text("table.targets")
        assert "31" in table and "12" in table and "6 tháng đầu năm 2026" in table
        await shoot(page, "targets")

        # not a spreadsheet, and too big: refused politely, nothing imported
        await page.set_input_files(
            "input[name=file]",
            {"name": "chi-tieu.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"},
        )
        async with page.expect_navigation() as navigation:
            await page.click("#upload")
        assert (await navigation.value).status == 400  # type: ignore[union-attr]
        assert "không phải .xlsx hoặc .csv" in await page.inner_text(".problems")
        await page.set_input_files(
            "input[name=file]",
            {"name": "big.csv", "mimeType": "text/csv", "buffer": b"x" * 6_000_000},
        )
        async with page.expect_navigation() as navigation:
            await page.click("#upload")
        assert (await navigation.value).status == 413  # type: ignore[union-attr]
        assert "quá lớn" in await page.inner_text("main")
        assert await site.h.scalar("SELECT COUNT(*) FROM targets WHERE source = 'import'") == 2

        # one target edited
        await page.goto(f"{site.url}/app/targets?cluster=cum1")
        await page.select_option("#edit select[name=unit]", "hoan_kiem")
        await page.select_option("#edit select[name=measure]", "new_unions")
        await page.select_option("#edit select[name=period]", "2026")
        await page.fill("#edit input[name=value]", "17")
        await page.click("#edit button")
        await page.wait_for_selector(".ok")
        assert "hoan_kiem · new_unions · 2026 = 17" in await page.inner_text(".ok")
        assert await site.h.scalar(
            "SELECT value FROM targets WHERE unit_code = 'hoan_kiem' AND period_key = '2026' "
            "AND measure = 'new_unions'"
        ) == pytest.approx(17)


async def test_invites_in_bulk_printable_with_qr_codes_and_csv_shown_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        site.deps.invite_link = lambda code: f"https://t.me/{BOT}?start={code}"
        page = await browser.new_page()
        await _signed_in(site, page, "admin")
        await page.goto(f"{site.url}/app/people?cluster=cum1")
        assert "LĐLĐ quận Long Biên" in await page.inner_text("main")
        await shoot(page, "people")

        # deactivate someone (asked first), then reactivate them
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        row = page.locator("tr", has_text="Người 11")
        await row.locator("button", has_text="Khóa").click()
        await page.wait_for_selector(".ok")
        assert "Đã khóa" in await page.inner_text(".ok")
        assert "đã khóa" in await page.locator("tr", has_text="Người 11").inner_text()
        await page.locator("tr", has_text="Người 11").locator("button", has_text="Mở lại").click()
        await page.wait_for_selector(".ok")
        assert "Đã mở lại" in await page.inner_text(".ok")
        await page.click("#new-invites")
        await page.check("input[name=cluster][value=cum1]")
        await page.select_option("select[name=role]", "chair")
        await page.fill("input[name=uses]", "2")
        await page.click("#make")
        await page.wait_for_selector("article.invite")
        cards = await page.query_selector_all("article.invite")
        assert len(cards) == 6
        text = await page.inner_text(".invites")
        codes = CODE.findall(text)
        assert len(set(codes)) == 6
        assert "LĐLĐ quận Hoàn Kiếm" in text and "dùng được 2 lần" in text
        assert f"https://t.me/{BOT}?start={normalize(codes[0])}" in text
        assert f"/start {codes[0]}" in text  # Zalo: typed in the chat
        assert len(await page.query_selector_all("article.invite .qr svg path")) == 6
        await shoot(page, "invites")

        # the same codes as CSV, from the page itself (nothing is kept to fetch them again)
        href = await page.get_attribute("#csv", "href")
        assert href is not None and href.startswith("data:text/csv;charset=utf-8;base64,")
        table = base64.b64decode(href.split(",", 1)[1]).decode("utf-8-sig")
        assert table.splitlines()[0].startswith("Mã đơn vị,Đơn vị,Mã mời")
        assert set(CODE.findall(table)) == set(codes)

        # a code works in the chat: the unit's chair is registered
        welcome = await site.h.user(99, "Chủ tịch mới").register(codes[0])
        assert "Chào mừng" in welcome[0].text

        # the same form as a CSV file straight away
        await page.goto(f"{site.url}/app/invites")
        await page.click("details summary")  # single units
        await page.check("input[name=unit][value=tay_ho]")
        await page.select_option("select[name=format]", "csv")
        async with page.expect_download() as download:
            await page.click("#make")
        saved = tmp_path / "invites.csv"
        await (await download.value).save_as(saved)
        rows = saved.read_text(encoding="utf-8-sig").splitlines()
        assert len(rows) == 2 and rows[1].startswith("tay_ho,LĐLĐ quận Tây Hồ,")
        codes += CODE.findall(rows[1])

        # the codes were never logged
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert not any(c in logged or normalize(c) in logged for c in codes)


async def test_a_cluster_head_sees_only_their_cluster_and_no_overview(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await _signed_in(site, page, "head")
        await page.goto(f"{site.url}/app/people")
        main = await page.inner_text("main")
        assert "Cụm thi đua số 1" in main and "LĐLĐ quận Ba Đình" in main
        assert "Tây Hồ" not in main and "Khóa" not in main and "Tạo mã mời" not in main
        await page.goto(f"{site.url}/app/targets")
        assert "Tải lên" not in await page.inner_text("main")  # read only
        for url in (
            "/app/people?cluster=cum2",
            "/app/targets?cluster=cum2",
            "/app/overview",
            "/app/invites",
        ):
            response = await page.goto(site.url + url)
            assert response is not None and response.status == 403, url
            body = await page.inner_text("body")
            assert "Tây Hồ" not in body and "Cụm thi đua số 2" not in body
        await shoot(page, "people-forbidden")


async def test_the_federation_overview_for_an_admin(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await _signed_in(site, page, "admin")
        await page.goto(f"{site.url}/app/overview")
        table = await page.inner_text("table.overview")
        assert "Cụm thi đua số 1" in table and "Cụm thi đua số 2" in table
        assert "Dẫn đầu" in table
        await page.select_option("select[name=period]", "2026-H1")
        await page.wait_for_url("**period=2026-H1**")
        await shoot(page, "overview")
        response = await page.goto(f"{site.url}/app/overview?period=1999")
        assert response is not None and response.status == 400
