"""Checks beyond one field in the report conversation, through the dispatcher: a broken
rule refuses at ✅ Lưu and asks which value to fix; an unusual value asks "Bạn chắc chắn?"
(Đúng saves it with a warning, Sửa lại goes back to that field); a rule that divides by
zero refuses too. Nothing is stored that the person did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import load_config
from domain.errors import UserInputError
from tests.harness import EXAMPLE, Harness, User, example_config
from usecases import reports
from usecases.access import OPERATOR, Caller, actor_of

pytestmark = pytest.mark.both_backends

EVENTS = "hội nghị ngày 8/3 có 3 sự kiện, 2 người tham dự"
GIFTS = "tặng 20 suất quà nhân dịp 8/3"


async def officer(h: Harness, user_id: int = 101) -> User:
    return await h.person(user_id, "hoan_kiem")


async def count(h: Harness, sql: str = "SELECT COUNT(*) FROM reports") -> int:
    return int(await h.scalar(sql))  # type: ignore[call-overload]


def text(replies: list) -> str:
    return "\n".join(r.text for r in replies)


async def test_a_broken_rule_refuses_and_asks_which_value_to_fix(h: Harness) -> None:
    user = await officer(h)
    card = await user.send(EVENTS)
    assert "• Số người tham dự: 2 người" in text(card)
    refused = await user.press("Lưu")
    assert refused[0].text.startswith(
        "⚠️ Chưa lưu được: Số người tham dự phải ít nhất bằng số sự kiện."
    )
    assert "Bạn muốn sửa mục nào?" in refused[0].text
    labels = [b.label for b in refused[0].buttons]
    assert labels[:2] == ["Số người tham dự: 2 người", "Số sự kiện: 3 sự kiện"]
    assert await count(h) == 0
    question = await user.press("Số người tham dự")
    assert "Số người tham dự:" in question[0].text
    card = await user.send("150")
    assert "• Số người tham dự: 150 người" in card[0].text  # straight back to the card
    saved = await user.press("Lưu")
    assert saved[0].text.startswith("✅ Đã lưu báo cáo #1")
    values = json.loads(str(await h.scalar("SELECT values_json FROM reports")))
    assert values["participants"] == 150 and values["count"] == 3
    assert await count(h, "SELECT COUNT(*) FROM report_warnings") == 0


async def test_the_cards_save_button_pressed_again_checks_again(h: Harness) -> None:
    user = await officer(h)
    await user.send(EVENTS)
    card, save = user.button("Lưu")
    await user.press_data(save.data, card.message_id)
    again = await user.press_data(save.data, card.message_id)
    assert again[0].text.startswith("⚠️ Chưa lưu được")
    assert await count(h) == 0


async def test_typed_answers_while_fixing_and_back_to_the_card(h: Harness) -> None:
    user = await officer(h)
    await user.send(EVENTS)
    await user.press("Lưu")
    unclear = await user.send("không biết")
    assert "Vui lòng bấm vào mục cần sửa" in unclear[0].text
    assert "Bạn muốn sửa mục nào?" in unclear[-1].text  # asked again, with its buttons
    card = await user.send("/back")
    assert "vui lòng kiểm tra lại" in card[0].text
    await user.press("Lưu")
    question = await user.send("so su kien")  # a field's name, without diacritics
    assert "Số sự kiện:" in question[0].text
    await user.send("2")
    saved = await user.press("Lưu")  # 2 events, 2 people: the rule holds
    assert saved[0].text.startswith(
        "✅ Đã lưu báo cáo #1: 📅 Tổ chức sự kiện · Hội nghị · 2 sự kiện"
    )


async def test_a_value_above_the_soft_maximum_asks_and_sua_lai_goes_back(h: Harness) -> None:
    user = await officer(h)
    await user.send("tặng 20 suất quà, mỗi suất 50 triệu nhân dịp 8/3")
    asked = await user.press("Lưu")
    assert asked[0].text.startswith("🤔 Bạn chắc chắn?")
    assert (
        "• Giá trị mỗi suất (Tặng quà): 50.000.000 đ cho 1 suất quà — "
        "cao hơn mức thường gặp (tối đa 5.000.000 đ cho 1 suất quà)"
    ) in asked[0].text
    assert [b.label for b in asked[0].buttons] == [
        "✅ Đúng",
        "✏️ Sửa lại: Giá trị mỗi suất",
        "❌ Hủy",
    ]
    assert await count(h) == 0
    question = await user.press("Sửa lại")
    assert "Giá trị mỗi suất:" in question[0].text
    await user.send("500k")
    saved = await user.press("Lưu")
    assert saved[0].text.startswith("✅ Đã lưu báo cáo #1")
    assert "cảnh báo" not in saved[0].text
    assert await count(h, "SELECT COUNT(*) FROM report_warnings") == 0


async def test_dung_saves_what_was_written_with_the_warning_kept(h: Harness) -> None:
    user = await officer(h)
    await user.send("tặng 1 suất quà, mỗi suất 50 triệu nhân dịp 8/3")
    await user.press("Lưu")
    saved = await user.press("Đúng")
    assert saved[0].text.startswith("✅ Đã lưu báo cáo #1: 🎁 Tặng quà · 1 suất · 50.000.000 đ")
    assert "⚠️ Lưu kèm 1 cảnh báo" in saved[0].text
    values = json.loads(str(await h.scalar("SELECT values_json FROM reports")))
    assert values["value_per_gift"] == 50_000_000  # as written, never changed
    rows = await h.rows(
        "SELECT report_id, version, field, kind, value, threshold FROM report_warnings"
    )
    assert rows == [(1, 1, "value_per_gift", "soft_max", 50_000_000.0, 5_000_000.0)]
    async with h.db.transaction() as tx:
        person = await tx.fetch_value("SELECT id FROM people")
        from storage import people

        found = await people.get(tx, int(person))
        caller = Caller(await actor_of(tx, found, 2026), 2026)
        (warning,) = await reports.warnings(tx, caller, 1)
        assert (warning.field, warning.value) == ("value_per_gift", 50_000_000.0)
        assert await reports.warnings(tx, OPERATOR, 1) == (warning,)


async def test_in_english_the_question_says_which_value_for_what(h: Harness) -> None:
    user = await officer(h)
    await user.send("/lang en")
    await user.send("tặng 20 suất quà, mỗi suất 50 triệu nhân dịp 8/3")
    asked = await user.press("Save")
    assert asked[0].text.startswith("🤔 Are you sure?")
    assert (
        "• Value per gift (Gifts): 50,000,000 VND for one gift — "
        "above the usual range (at most 5,000,000 VND for one gift)"
    ) in asked[0].text
    await user.press("Right")
    for _ in range(4):
        await user.send(GIFTS)
        await user.press("Save")
    await user.send(GIFTS.replace("20", "500"))
    asked = await user.press("Save")
    assert (
        "• Number of gifts (Gifts): 500 gifts — 25 times what LĐLĐ quận Hoàn Kiếm usually "
        "reports: 20 gifts (the median of its reports over the last 12 months)"
    ) in asked[0].text, asked[0].text


async def test_typed_dung_and_sua_lai(h: Harness) -> None:
    user = await officer(h)
    await user.send("tặng 20 suất quà, mỗi suất 50 triệu nhân dịp 8/3")
    await user.press("Lưu")
    again = await user.send("hmm")
    assert "Vui lòng bấm ✅ Đúng" in again[0].text
    question = await user.send("sua lai")
    assert "Giá trị mỗi suất:" in question[0].text
    await user.send("60tr")
    await user.press("Lưu")
    saved = await user.send("đúng")
    assert saved[0].text.startswith("✅ Đã lưu báo cáo #1")
    assert await h.scalar("SELECT value FROM report_warnings") == 60_000_000.0


async def test_far_above_the_units_usual_asks_with_the_median(h: Harness) -> None:
    user = await officer(h)
    for _ in range(5):
        await user.send(GIFTS)
        await user.press("Lưu")
    await user.send(GIFTS.replace("20", "500"))
    asked = await user.press("Lưu")
    assert asked[0].text.startswith("🤔 Bạn chắc chắn?")
    assert (
        "• Số suất quà (Tặng quà): 500 suất — gấp 25 lần mức LĐLĐ quận Hoàn Kiếm thường báo: "
        "20 suất (trung vị các báo cáo 12 tháng qua)"
    ) in asked[0].text
    await user.press("Đúng")
    assert await h.rows("SELECT report_id, field, kind, threshold FROM report_warnings") == [
        (6, "count", "usual", 20.0)
    ]
    # another unit's reports say nothing of this one's usual values
    other = await h.person(202, "ba_dinh")
    await other.send(GIFTS.replace("20", "500"))
    saved = await other.press("Lưu")
    assert saved[0].text.startswith("✅ Đã lưu báo cáo #7")


async def test_the_usual_values_window_is_the_one_configured(tmp_path: Path, database: str) -> None:
    """The median is said to be of the window [reporting] outlier_days sets, not a year."""
    config = example_config()
    reporting = config.reporting.model_copy(update={"outlier_days": 90})
    h = await Harness.create(
        tmp_path, database=database, config=config.model_copy(update={"reporting": reporting})
    )
    try:
        user = await officer(h)
        for _ in range(5):
            await user.send(GIFTS)
            await user.press("Lưu")
        await user.send(GIFTS.replace("20", "500"))
        asked = await user.press("Lưu")
        assert "20 suất (trung vị các báo cáo 90 ngày qua)" in asked[0].text, asked[0].text
    finally:
        await h.close()


async def test_a_broken_rule_is_refused_by_the_use_case_too(h: Harness) -> None:
    """Whoever calls (the chat asks first), a report breaking a rule is never saved."""
    user = await officer(h)
    await user.send("/help")
    settings = h.dispatcher.settings
    events = settings.indicator("events")
    assert events is not None
    async with h.db.transaction() as tx:
        person = await tx.fetch_value("SELECT id FROM people")
        from storage import people

        found = await people.get(tx, int(person))
        caller = Caller(await actor_of(tx, found, 2026), 2026)
        with pytest.raises(UserInputError) as refused:
            await reports.create(
                tx,
                caller,
                settings,
                unit="hoan_kiem",
                indicator=events,
                values={"kind": "conference", "count": 3, "participants": 2, "date": "2026-03-08"},
                photos=(),
                source_key="direct",
                now=h.clock.now(),
            )
    assert refused.value.key == "check.refused"
    assert refused.value.params["message"].startswith("Số người tham dự")
    assert await count(h) == 0


async def test_a_rule_dividing_by_zero_refuses_with_a_clear_message(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'expr = "participants >= count"', 'expr = "count / participants <= 1"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    h = await Harness.create(tmp_path, config=load_config(path))
    try:
        user = await officer(h)
        await user.send(EVENTS.replace("2 người", "0 người"))
        refused = await user.press("Lưu")
        assert refused[0].text.startswith(
            "⚠️ Chưa lưu được: không kiểm tra được điều kiện “count / participants <= 1” "
            "vì có phép chia cho 0."
        )
        assert "Bạn muốn sửa mục nào?" in refused[0].text
        await user.press("Số người tham dự")
        await user.send("30")
        saved = await user.press("Lưu")
        assert saved[0].text.startswith("✅ Đã lưu báo cáo #1")
    finally:
        await h.close()


async def test_editing_a_saved_report_is_checked_too(h: Harness) -> None:
    user = await officer(h)
    await user.send(EVENTS.replace("2 người", "200 người"))
    await user.press("Lưu")
    await user.send("/myreports")
    await user.press("✏️ #1")
    await user.press("Sửa")
    await user.press("Số người tham dự")
    await user.send("1")
    refused = await user.press("Lưu")
    assert "Chưa lưu được" in refused[0].text
    assert json.loads(str(await h.scalar("SELECT values_json FROM reports")))["participants"] == 200
    await user.press("Số người tham dự")
    await user.send("3")
    saved = await user.press("Lưu")
    assert "#1" in saved[0].text
    assert json.loads(str(await h.scalar("SELECT values_json FROM reports")))["participants"] == 3
