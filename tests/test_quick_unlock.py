"""A one-line quick report whose date falls in a closed period: refused with the same
🔓 Xin mở khóa offer as the guided flow (a button on Telegram, a numbered choice on Zalo and
the console), and the unlock request it starts reaches the decider; the rest of the line
is kept and only the date is asked again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, Rig, rig


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def test_a_quick_line_with_a_closed_date_offers_the_unlock(on: Rig) -> None:
    person = await on.enrol(2001, "Trần Thị Bình", "hai_ba_trung", "admin")

    line = "thành lập 3 CĐCS với 45 đoàn viên ngày 10/12/2025"
    refused = await person.say(line, "đã khóa sổ")
    assert "Xin mở khóa bên dưới, hoặc gõ /unlock 2025-H2" in refused
    await person.expect("Bot hiểu là: 🏢 Thành lập CĐCS · 3 CĐCS · 45 người")
    question = await person.expect("Ngày thành lập")  # only the date is asked again
    if person.numbered:
        assert "1. 🔓 Xin mở khóa 6 tháng cuối năm 2025" in question, question
    await person.choose("Xin mở khóa", "Vì sao cần mở khóa?")
    await person.choose("Bổ sung báo cáo còn thiếu", "Đã gửi yêu cầu mở khóa")
    request = await person.expect("(LĐLĐ quận Hai Bà Trưng) xin mở khóa 6 tháng cuối năm 2025")
    assert "Lý do: Bổ sung báo cáo còn thiếu" in request
    await person.choose("Đồng ý mở khóa", "Đã mở khóa 6 tháng cuối năm 2025")
    await person.expect("đã đồng ý mở khóa 6 tháng cuối năm 2025")

    await person.say(line, "kiểm tra lại")  # the same line, now taken whole
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    assert await on.scalar("SELECT occurred_on FROM reports") == "2025-12-10"
