"""Checks beyond one field on every channel: buttons on Telegram, numbered choices on Zalo
and the console (tests/channels.py runs the real App end to end on each)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, Person, Rig, rig


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def registered(on: Rig) -> Person:
    person = on.person(1001, "Nguyễn Văn An")
    await person.say(f"/start {await on.invite()}", "Chào mừng")
    return person


async def test_a_broken_rule_asks_which_value_to_fix(on: Rig) -> None:
    person = await registered(on)
    await person.say("hội nghị ngày 8/3 có 3 sự kiện, 2 người tham dự", "kiểm tra lại")
    refused = await person.choose("Lưu", "Chưa lưu được")
    assert "Số người tham dự phải ít nhất bằng số sự kiện" in refused
    if person.numbered:
        assert "1. Số người tham dự: 2 người  2. Số sự kiện: 3 sự kiện" in refused
        assert "Gõ số thứ tự của mục cần sửa" in refused
    assert await on.count("SELECT COUNT(*) FROM reports") == 0
    await person.choose("Số người tham dự", "Số người tham dự:")
    card = await person.say("150", "kiểm tra lại")
    assert "• Số người tham dự: 150 người" in card
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    values = json.loads(str(await on.scalar("SELECT values_json FROM reports")))
    assert values["participants"] == 150


async def test_an_unusual_value_asks_dung_or_sua_lai(on: Rig) -> None:
    person = await registered(on)
    await person.say("tặng 1 suất quà, mỗi suất 50 triệu nhân dịp 8/3", "kiểm tra lại")
    asked = await person.choose("Lưu", "Bạn chắc chắn?")
    assert (
        "Giá trị mỗi suất (Tặng quà): 50.000.000 đ cho 1 suất quà — "
        "cao hơn mức thường gặp (tối đa 5.000.000 đ cho 1 suất quà)" in asked
    )
    if person.numbered:
        assert "1. ✅ Đúng  2. ✏️ Sửa lại: Giá trị mỗi suất" in asked
    await person.choose("Sửa lại", "Giá trị mỗi suất:")
    await person.say("40tr", "kiểm tra lại")
    await person.choose("Lưu", "Bạn chắc chắn?")
    saved = await person.choose("Đúng", "Đã lưu báo cáo #1")
    assert "Lưu kèm 1 cảnh báo" in saved
    values = json.loads(str(await on.scalar("SELECT values_json FROM reports")))
    assert values["value_per_gift"] == 40_000_000
    assert await on.scalar("SELECT kind FROM report_warnings") == "soft_max"
