"""The reports table's unit filter at a federation's size: more units than a <select> should
carry (web.pages.reports.SELECT_AT_MOST, set low here: the sample has 12 units) and the
filter is a typed field, a unit's code or words of its name, matched on the server (so it
works without JavaScript) among the units the person may see; the browser's suggestions
are fetched once the field is used. Over HTTP and in Chromium, against the real server."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.web_site import Site, chromium, client, served, shoot, sign_in
from web.pages import reports as reports_page


@pytest.fixture(autouse=True)
def many_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports_page, "SELECT_AT_MOST", 5)


pytestmark = pytest.mark.both_backends


@pytest.fixture
async def site(tmp_path: Path, database: str):
    async with served(tmp_path, database=database) as found:
        yield found


def _units_shown(body: str) -> set[str]:
    """The unit column of the reports table."""
    rows = re.findall(r"<tr>\s*<td><a href=\"/app/reports/\d+\">[\s\S]*?</tr>", body)
    return {html.unescape(re.findall(r"<td>(.*?)</td>", row)[1]) for row in rows}


async def test_an_admin_types_words_of_a_unit_s_name(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("admin"))
        async with browser.get(f"{site.url}/app/reports?period=2026") as page:
            body = await page.text()
        assert '<input type="search" name="unit"' in body and '<select name="unit"' not in body
        # words without diacritics find the unit; the field shows its name, paging its code
        cursor = "after=2026-12-31~99999999"  # a later page: its links keep the filter
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=dong+da&{cursor}") as page:
            body = await page.text()
        assert page.status == 200 and _units_shown(body) == {"LĐLĐ quận Đống Đa"}
        assert 'value="LĐLĐ quận Đống Đa"' in body
        first = re.search(r'<nav class="pager">\s*<a href="([^"]+)"', body)
        assert first and "unit=dong_da" in first.group(1)
        # its full name (what a suggestion fills in) and its code give the same
        for asked in ("LĐLĐ+quận+Đống+Đa", "dong_da"):
            async with browser.get(f"{site.url}/app/reports?period=2026&unit={asked}") as page:
                assert _units_shown(await page.text()) == {"LĐLĐ quận Đống Đa"}
        # words naming several: which one, before any reports
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=tu+liem") as page:
            body = await page.text()
        picks = re.search(r'<section id="unit-picks">([\s\S]*?)</section>', body)
        assert picks and "Có nhiều đơn vị khớp “tu liem”" in picks.group(1)
        assert re.findall(r">([^<>]+)</a></li>", picks.group(1)) == [
            "LĐLĐ quận Bắc Từ Liêm",
            "LĐLĐ quận Nam Từ Liêm",
        ]
        assert 'class="reports"' not in body and "unit=bac_tu_liem" in body
        # words naming none: said politely, with what to type
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=nowhere") as page:
            body = await page.text()
        assert page.status == 200 and "Không có đơn vị nào khớp “nowhere”" in body
        assert "ba dinh" in body and 'class="reports"' not in body
        # the suggestions: every unit's name, for the admin
        async with browser.get(f"{site.url}/app/reports/units.json?period=2026") as answer:
            names = json.loads(await answer.text())
        assert len(names) == 12 and "LĐLĐ quận Tây Hồ" in names


async def test_a_cluster_head_s_words_match_only_their_cluster(site: Site) -> None:
    async with client() as browser:
        await sign_in(site, browser, await site.link("head"))
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=tay+ho") as page:
            body = await page.text()
        assert page.status == 200 and "Không có đơn vị nào khớp" in body  # cum2's: not theirs
        assert 'class="reports"' not in body
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=ba+dinh") as page:
            assert _units_shown(await page.text()) == {"LĐLĐ quận Ba Đình"}
        async with browser.get(f"{site.url}/app/reports?period=2026&unit=tay_ho") as page:
            assert page.status == 403  # another cluster's code: refused as before
        async with browser.get(f"{site.url}/app/reports/units.json?period=2026") as answer:
            names = json.loads(await answer.text())
        assert len(names) == 6 and "LĐLĐ quận Tây Hồ" not in names


async def test_the_typed_filter_in_a_browser(tmp_path: Path) -> None:
    async with served(tmp_path) as site, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await page.goto(await site.link("admin"))
        await page.click("#login")
        await page.wait_for_url("**/app/standings")
        await page.goto(f"{site.url}/app/reports?period=2026")
        field = page.locator("#unit-typed")
        await field.click()  # the suggestions come once the field is used
        await page.locator("#unit-names option").nth(11).wait_for(state="attached")
        assert await page.locator("#unit-names option").count() == 12
        await field.fill("hoan kiem")
        await field.press("Enter")
        await page.wait_for_url("**unit=hoan+kiem**")
        rows = await page.locator("table.reports tbody tr").all_inner_texts()
        assert rows and all("LĐLĐ quận Hoàn Kiếm" in row for row in rows)
        assert await field.input_value() == "LĐLĐ quận Hoàn Kiếm"
        await shoot(page, "reports-typed-unit")
        await field.fill("quan")
        await field.press("Enter")
        await page.wait_for_selector("#unit-picks")
        await page.click("#unit-picks >> text=LĐLĐ quận Cầu Giấy")
        await page.wait_for_url("**unit=cau_giay**")
        assert await field.input_value() == "LĐLĐ quận Cầu Giấy"
