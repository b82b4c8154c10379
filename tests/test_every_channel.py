"""The core flows, each proven on every channel: Telegram, Zalo and the console demo.

One set of flows, parametrized over three rigs that each run the real App end to end
(tests/channels.py): Telegram through python-telegram-bot against FakeTelegramAPI, Zalo
through ZaloBotAPI against FakeZaloAPI, and the console channel. A choice is a pressed
button on Telegram and a typed number on Zalo and the console; the flows read the same.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, Person, Rig, rig

CARD_CHOICES = "1. ✅ Lưu  2. ✏️ Sửa  3. ❌ Hủy"
QUICK = "tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def registered(on: Rig, user_id: int = 1001, name: str = "Nguyễn Văn An") -> Person:
    person = on.person(user_id, name)
    await person.say(f"/start {await on.invite()}", "Chào mừng")
    return person


async def reports(on: Rig, where: str = "1") -> int:
    return await on.count(f"SELECT COUNT(*) FROM reports WHERE {where}")


def check_card(person: Person, card: str) -> None:
    assert "• Số suất quà: 20 suất" in card
    assert "• Giá trị mỗi suất: 500.000 đ" in card
    if person.numbered:
        assert card.endswith(CARD_CHOICES), card
    else:
        assert "1. " not in card  # buttons, not numbers


async def gifts_after_count(person: Person) -> str:
    """From "Giá trị mỗi suất" to the card: 500k, skip recipients, 8/3, a date, no photo."""
    await person.say("500k", "Đối tượng nhận quà")
    await person.choose("Bỏ qua", "Dịp tặng quà")
    await person.choose("8/3", "Ngày trao")
    await person.say("8/3", "Ảnh minh chứng")
    card = await person.choose("Bỏ qua", "vui lòng kiểm tra lại")
    check_card(person, card)
    return card


async def save(person: Person) -> str:
    saved = await person.choose("Lưu", "Đã lưu báo cáo #1")
    assert saved.startswith("✅ Đã lưu báo cáo #1: 🎁 Tặng quà · 20 suất · 500.000 đ · 8/3")
    await person.expect("Cảm ơn bạn")
    return saved


async def quick_report(person: Person) -> None:
    check_card(person, await person.say(QUICK, "kiểm tra lại"))
    await save(person)


async def test_registration_with_an_invite_code(on: Rig) -> None:
    person = on.person(1001, "Nguyễn Văn An")
    welcome = await person.say(f"/start {await on.invite()}", "Chào mừng")
    assert "LĐLĐ quận Hoàn Kiếm" in welcome
    assert await on.count("SELECT COUNT(*) FROM people WHERE unit_code = 'hoan_kiem'") == 1
    again = await person.say("/start", "đã đăng ký rồi")
    assert "Hoàn Kiếm" in again or "đã đăng ký rồi" in again
    assert await on.count("SELECT COUNT(*) FROM people") == 1
    assert await reports(on) == 0


async def test_full_gifts_report_with_choices(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    await gifts_after_count(person)
    await save(person)
    assert await reports(on) == 1
    values = json.loads(str(await on.scalar("SELECT values_json FROM reports")))
    assert values["count"] == 20 and values["value_per_gift"] == 500_000
    assert values["occasion"] == "women_day"
    assert await on.scalar("SELECT occurred_on FROM reports") == "2026-03-08"


async def test_a_gifts_report_with_a_photo(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    await person.say("500k", "Đối tượng nhận quà")
    await person.choose("Bỏ qua", "Dịp tặng quà")
    await person.choose("8/3", "Ngày trao")
    await person.say("8/3", "Ảnh minh chứng")
    await person.send_photo("Đã nhận 1 ảnh")
    check_card(person, await person.choose("Xong", "vui lòng kiểm tra lại"))
    await save(person)
    assert await reports(on) == 1
    assert await on.count("SELECT COUNT(*) FROM report_photos") == 1
    # downloaded in the background from the platform (the console's photos are placeholders)
    assert on.app.evidence is not None
    await on.app.evidence.run_due()
    state = "failed" if on.channel == "console" else "stored"
    assert await on.count(f"SELECT COUNT(*) FROM report_photos WHERE state = '{state}'") == 1
    shown = await person.say("/photos 1", "Ảnh minh chứng của báo cáo #1 (1 ảnh)")
    assert ("⚠️ Không tải được" if on.channel == "console" else "✅ Đã lưu") in shown


async def test_quick_report(on: Rig) -> None:
    person = await registered(on)
    await quick_report(person)
    assert await reports(on) == 1
    values = json.loads(str(await on.scalar("SELECT values_json FROM reports")))
    assert values["count"] == 20 and values["value_per_gift"] == 500_000


async def test_myreports_lists_the_saved_report(on: Rig) -> None:
    person = await registered(on)
    await quick_report(person)
    listing = await person.say("/myreports", "Báo cáo gần nhất")
    assert "500.000 đ" in listing
    if person.numbered:
        assert "1. ✏️ #1" in listing
    assert await reports(on) == 1


async def test_retract_own_report(on: Rig) -> None:
    person = await registered(on)
    await quick_report(person)
    await person.say("/myreports", "Báo cáo gần nhất")
    await person.choose("🗑 #1", "Rút báo cáo này?")
    await person.choose("Rút báo cáo", "Đã rút báo cáo #1")
    assert await reports(on) == 1
    assert await reports(on, "status = 'retracted'") == 1


async def test_a_bad_number_is_explained_and_the_form_goes_on(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    refused = await person.say("abc", "không phải là số")
    assert "“abc”" in refused
    await person.say("20", "Giá trị mỗi suất")
    await gifts_after_count(person)
    await save(person)
    assert await reports(on) == 1


async def test_cancel(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    cancelled = await person.say("/cancel", "Đã hủy")
    assert "Chưa có gì được lưu" in cancelled
    await person.say("/cancel", "Không có báo cáo nào đang nhập")
    assert await reports(on) == 0


async def test_a_number_typed_after_the_card_is_saved_is_plain_text(on: Rig) -> None:
    """Once the card became the receipt its choices are gone (Telegram removes the buttons)."""
    person = await registered(on)
    await quick_report(person)
    answer = await person.say("2", "")  # whatever comes next: fail fast, not by timeout
    assert "Bot chưa hiểu tin nhắn này" in answer, answer
    assert await reports(on) == 1
