"""Closing periods on every channel: the unlock request and its grant, then finalising and the
finalised standings, pressed as buttons on Telegram and typed as numbers on Zalo and the
console (tests/channels.py).

One person does it all (the console is one terminal): an admin of Hai Bà Trưng (cum1), who
reports for their own unit, asks to unlock a closed period, is the one to decide it (no
cluster head is registered, so the admins decide), then finalises cum1's year.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, Person, Rig, rig


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def admin(on: Rig) -> Person:
    return await on.enrol(2001, "Trần Thị Bình", "hai_ba_trung", "admin")


async def new_unions_until_the_date(person: Person) -> None:
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Thành lập CĐCS", "Số CĐCS thành lập")
    await person.say("3", "Số đoàn viên")
    await person.choose("Bỏ qua", "Ngày thành lập")


async def test_unlock_then_finalise(on: Rig) -> None:
    person = await admin(on)
    await new_unions_until_the_date(person)
    refused = await person.say("10/12/2025", "đã khóa sổ")
    assert "/unlock 2025-H2" in refused
    if person.numbered:
        assert "1. 🔓 Xin mở khóa 6 tháng cuối năm 2025" in refused
    await person.choose("Xin mở khóa", "Vì sao cần mở khóa?")
    await person.choose("Bổ sung báo cáo còn thiếu", "Đã gửi yêu cầu mở khóa")
    request = await person.expect("(LĐLĐ quận Hai Bà Trưng) xin mở khóa 6 tháng cuối năm 2025")
    assert "Lý do: Bổ sung báo cáo còn thiếu" in request
    await person.choose("Đồng ý mở khóa", "Đã mở khóa 6 tháng cuối năm 2025")
    await person.expect("đã đồng ý mở khóa 6 tháng cuối năm 2025")
    await new_unions_until_the_date(person)
    await person.say("10/12/2025", "kiểm tra lại")
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    assert await on.scalar("SELECT occurred_on FROM reports") == "2025-12-10"
    assert await on.scalar("SELECT status FROM period_unlocks") == "granted"

    preview = await person.say("/finalize 2025", "Chốt số liệu cả năm 2025")
    assert "Còn dang dở:" in preview
    if person.numbered:
        assert preview.endswith("1. 🔒 Chốt số liệu  2. ❌ Hủy"), preview
    await person.choose("Chốt số liệu", "Đã chốt cả năm 2025 của Cụm thi đua số 1")
    shown = await person.say("/standings 2025", "Xếp hạng")
    assert "🔒 Đã chốt ngày 10/03/2026 (" in shown  # by whom, wrapped to 40 characters
    assert await on.count("SELECT COUNT(*) FROM finalised_periods") == 1
    await person.say("/finalize 2025", "đã được chốt lúc 09:00 10/03/2026 bởi")
