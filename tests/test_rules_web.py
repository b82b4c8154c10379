"""The reviewer sees the warning on the dashboard too: a report saved after "Bạn chắc chắn?"
→ Đúng shows its unusual value and why on its page (Debian's chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path

from tests.web_site import chromium, served, shoot


async def test_a_confirmed_unusual_value_is_shown_on_the_report_page(tmp_path: Path) -> None:
    async with served(tmp_path, sample=False) as site, chromium(tmp_path) as browser:
        officer = site.users["officer"]  # ba_dinh, Cluster 1
        await officer.send("tặng 1 suất quà, mỗi suất 50 triệu nhân dịp 8/3")
        await officer.press("Lưu")
        saved = await officer.press("Đúng")
        assert saved[0].text.startswith("✅ Đã lưu báo cáo #1")
        await officer.send("tặng 20 suất quà, mỗi suất 500k nhân dịp 8/3")
        await officer.press("Lưu")  # an ordinary one: saved at once, no warning
        page = await browser.new_page()
        await page.goto(await site.link("head"))  # long_bien heads Cluster 1
        await page.click("#login")
        await page.wait_for_load_state()
        await page.goto(f"{site.url}/app/reports/1")
        main = await page.inner_text("main")
        assert "Số liệu bất thường (người gửi đã xác nhận là đúng)" in main
        assert (
            "Giá trị mỗi suất (Tặng quà): 50.000.000 đ cho 1 suất quà — "
            "cao hơn mức thường gặp (tối đa 5.000.000 đ cho 1 suất quà)" in main
        )
        await shoot(page, "report-with-warning")
        await page.goto(f"{site.url}/app/reports/2")
        assert "Số liệu bất thường" not in await page.inner_text("main")
