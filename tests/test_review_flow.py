"""Review in chat on every channel (issue 12 §1): buttons on Telegram, numbered choices on
Zalo and the console, through the real App end to end (tests/channels.py).

The console has room for one person, so the flows use one who may do both: an admin of
hai_ba_trung, with [review] by = "reviewer" and own_unit = true (the federation's staff
reviewing their own unit's reports). The officer's "returned" message goes to the same
chat, so the one tap to fix it is tested on every channel too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import AppConfig
from domain.review import Reviewers, ReviewRules
from tests.channels import CHANNELS, Person, Rig, rig

QUICK = "tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"


def reviewed(config: AppConfig) -> AppConfig:
    rules = ReviewRules(by=Reviewers.REVIEWER, own_unit=True)
    return config.model_copy(update={"review": rules})


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path, reviewed) as running:
        yield running
        await running.check_settled()


async def admin(on: Rig) -> Person:
    return await on.enrol(1001, "Trần Thị Bình", "hai_ba_trung", "admin")


async def quick(person: Person, number: int) -> None:
    await person.say(QUICK, "kiểm tra lại")
    await person.choose("Lưu", f"Đã lưu báo cáo #{number}")
    await person.expect("Cảm ơn bạn")


async def test_return_fix_and_accept_on_every_channel(on: Rig) -> None:
    person = await admin(on)
    await quick(person, 1)
    assert await on.scalar("SELECT review FROM reports WHERE id = 1") == "submitted"
    card = await person.say("/review", "Báo cáo #1 chờ duyệt")
    assert "Đơn vị: LĐLĐ quận Hai Bà Trưng" in card
    assert "Người gửi: " in card  # the console names its one person itself
    assert "• Số suất quà: 20 suất" in card and "• Giá trị mỗi suất: 500.000 đ" in card
    assert "Không có ảnh minh chứng" in card
    if person.numbered:
        assert card.endswith("1. ✅ Duyệt  2. ↩️ Trả lại  3. ⏭ Để sau"), card
    await person.choose("Trả lại", "vì sao?")
    await person.choose("Thiếu ảnh minh chứng", "Đã trả lại báo cáo #1")
    told = await person.expect("Báo cáo #1 của bạn đã được trả lại")
    assert "Lý do: Thiếu ảnh minh chứng" in told
    await person.expect("Không còn báo cáo nào chờ bạn duyệt")
    assert await on.scalar("SELECT review FROM reports WHERE id = 1") == "returned"
    # one tap (or a number) on the message opens the report to fix it; saving sends it back
    await person.choose("Sửa báo cáo #1", "kiểm tra lại")
    await person.choose("Lưu", "#1")
    assert await on.scalar("SELECT review FROM reports WHERE id = 1") == "submitted"
    await person.say("/review", "Báo cáo #1 chờ duyệt")
    await person.choose("Duyệt", "Đã duyệt báo cáo #1")
    await person.expect("Không còn báo cáo nào chờ bạn duyệt")
    assert await on.scalar("SELECT review FROM reports WHERE id = 1") == "accepted"
    trail = await on.scalar(
        "SELECT COUNT(*) FROM report_audit WHERE report_id = 1 "
        "AND action IN ('returned', 'resubmitted', 'accepted')"
    )
    assert trail == 3


async def test_a_typed_reason_later_and_accept_all_on_every_channel(on: Rig) -> None:
    person = await admin(on)
    await quick(person, 1)
    await quick(person, 2)
    await person.say("/review", "Báo cáo #1 chờ duyệt")
    await person.choose("Để sau", "Báo cáo #2 chờ duyệt")
    await person.choose("Trả lại", "vì sao?")
    await person.say("x" * 5000, "Lý do quá dài")
    await person.say("Ngày trao quà chưa khớp biên bản", "Đã trả lại báo cáo #2")
    await person.expect("Báo cáo #2 của bạn đã được trả lại")
    summary = await person.expect("Còn 1 báo cáo bạn để sau")
    assert "LĐLĐ quận Hai Bà Trưng: 1 báo cáo" in summary
    await person.choose("Duyệt tất cả 1 báo cáo", "Đã duyệt 1 báo cáo của LĐLĐ quận Hai Bà Trưng")
    await person.expect("Không còn báo cáo nào chờ bạn duyệt")
    rows = [await on.scalar(f"SELECT review FROM reports WHERE id = {i}") for i in (1, 2)]
    assert rows == ["accepted", "returned"]
    mine = await person.say("/myreports", "Báo cáo gần nhất")
    assert "↩️ Bị trả lại: Ngày trao quà chưa khớp biên bản" in mine
    assert "✅ Đã duyệt" in mine


async def _gifts_with_photo(person: Person, number: int) -> None:
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    await person.say("500k", "Đối tượng nhận quà")
    await person.choose("Bỏ qua", "Dịp tặng quà")
    await person.choose("8/3", "Ngày trao")
    await person.say("8/3", "Ảnh minh chứng")
    await person.send_photo("Đã nhận 1 ảnh")
    await person.choose("Xong", "vui lòng kiểm tra lại")
    await person.choose("Lưu", f"Đã lưu báo cáo #{number}")


async def test_the_card_sends_the_photos_and_flags_one_sent_twice(on: Rig) -> None:
    person = await admin(on)
    await _gifts_with_photo(person, 1)
    person.photos = 0  # the same photo again, on another report
    await _gifts_with_photo(person, 2)
    assert on.app.evidence is not None
    await on.app.evidence.run_due()

    card = await person.say("/review", "Báo cáo #1 chờ duyệt")

    assert "📷 1 ảnh minh chứng" in card
    if on.channel == "console":  # its photos are placeholders: nothing to download
        assert "1. ⚠️ Không tải được" in card
        return
    assert "⚠️ Trùng ảnh của báo cáo #2 (cùng đơn vị)" in card
    if on.channel == "telegram":  # the photo itself, just before the card
        [photo] = person.fake.calls_of("sendPhoto")  # type: ignore[union-attr]
        assert photo.ok and "caption" not in photo.params
    else:  # Zalo without a public address: a line for it
        assert card.startswith("📷 1/1 · ")
