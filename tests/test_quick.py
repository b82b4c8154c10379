"""Quick reports through the real dispatcher: what a line says, and only that, reaches the card."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from bot.channels import text_choices
from bot.config import load_config
from domain.quick import Loose, parse_quick
from tests.harness import EXAMPLE, Harness
from tests.test_flows import registered, report_count, texts

CONFIG = load_config(EXAMPLE)
TODAY = dt.date(2026, 3, 10)


# ---- the reading of a line (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "indicator", "values"),
    [
        # a date is a date, never a count nor a keyword
        ("ngày 8.3 kết nạp 5 đoàn viên", "new_members", {"people": 5, "date": "2026-03-08"}),
        ("8 tháng 3 kết nạp 5 đoàn viên", "new_members", {"people": 5, "date": "2026-03-08"}),
        ("hom qua tang qua 30 suat", "gifts", {"count": 30, "date": "2026-03-09"}),
        # "ngày 8/3" is the day; "nhân dịp 8/3" is the occasion
        ("ngày 8/3 tặng 20 suất quà", "gifts", {"count": 20, "date": "2026-03-08"}),
        ("tặng 20 suất quà nhân dịp 8/3", "gifts", {"count": 20, "occasion": "women_day"}),
        # "ký 3 bản" is a count, "kỳ 3" a period: both fold to "ky 3"
        ("ký 3 bản thỏa ước, đạt 75,2%", "cba", {"agreements": 3, "enterprise_rate": 75.2}),
        ("thăm hỏi 12 lượt, tổng 24 triệu", "support", {"visits": 12, "amount": 24_000_000}),
        ("phát triển đoàn viên được 35", "new_members", {"people": 35}),
        ("tổ chức hội thao cho 150 người", "events", {"participants": 150}),
        ("thành lập 3 CĐCS với 120 người", "new_unions", {"unions": 3, "members": 120}),
    ],
)
def test_lines_read_exactly(text: str, indicator: str, values: dict[str, Any]) -> None:
    parsed = parse_quick(text, CONFIG.indicators, TODAY)
    assert parsed is not None and parsed.indicator.code == indicator
    assert parsed.values == values
    assert (parsed.loose, parsed.unclear, parsed.errors) == ((), (), ())


@pytest.mark.parametrize(
    ("text", "loose"),
    [
        ("tặng quà 20 đoàn viên nữ", Loose("20", ("count", "value_per_gift"))),
        ("tặng 20 suất quà 500k", Loose("500k", ("value_per_gift",))),
        ("tặng 20 suất quà 2tr", Loose("2tr", ("value_per_gift",))),
    ],
)
def test_a_number_no_word_places_is_left_for_the_officer(text: str, loose: Loose) -> None:
    parsed = parse_quick(text, CONFIG.indicators, TODAY)
    assert parsed is not None and loose in parsed.loose
    assert "value_per_gift" not in parsed.values


def test_the_question_quotes_the_number_as_typed() -> None:
    parsed = parse_quick("Tặng 20 suất quà   1.250.000đ dịp Tết", CONFIG.indicators, TODAY)
    assert parsed is not None
    (loose,) = parsed.loose
    assert (loose.raw, loose.shown) == ("1.250.000d", "1.250.000đ")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("tặng 20 suất quà nhân dịp tết và trung thu", "occasion"),
        ("kết nạp 5 đoàn viên ngày 15", "date"),  # which month is not said
        ("kết nạp 5 đoàn viên ngày 2/3, ngày 3/3", "date"),
        ("tặng 20 suất quà và 30 suất quà", "count"),
    ],
)
def test_two_answers_for_one_field_are_asked(text: str, field: str) -> None:
    parsed = parse_quick(text, CONFIG.indicators, TODAY)
    assert parsed is not None and field in parsed.unclear and field not in parsed.values


def test_two_activities_are_not_read_until_one_is_chosen() -> None:
    text = "tặng 20 suất quà và kết nạp 5 đoàn viên"
    assert parse_quick(text, CONFIG.indicators, TODAY) is None
    gifts = CONFIG.indicator("gifts")
    members = CONFIG.indicator("new_members")
    assert gifts is not None and members is not None
    as_gifts = parse_quick(text, CONFIG.indicators, TODAY, indicator=gifts)
    assert as_gifts is not None and as_gifts.values == {"count": 20}
    assert as_gifts.elsewhere == ("5",)
    as_members = parse_quick(text, CONFIG.indicators, TODAY, indicator=members)
    assert as_members is not None and as_members.values == {"people": 5}
    assert as_members.elsewhere == ("20",)


def test_a_number_two_activities_claim_is_asked() -> None:
    """ "đoàn viên" counts both a new union's members and enrolled members."""
    text = "thành lập 3 CĐCS và phát triển 40 đoàn viên"
    unions = CONFIG.indicator("new_unions")
    assert unions is not None
    parsed = parse_quick(text, CONFIG.indicators, TODAY, indicator=unions)
    assert parsed is not None and parsed.values == {"unions": 3}
    assert parsed.loose == (Loose("40", ("members",)),)


# ---- through the dispatcher ---------------------------------------------------------------


async def saved_values(h: Harness) -> dict[str, Any]:
    raw = await h.scalar("SELECT values_json FROM reports ORDER BY id DESC LIMIT 1")
    return dict(json.loads(str(raw)))


def card_line(replies: list[Any], label: str) -> str:
    card = next(r for r in reversed(replies) if "kiểm tra lại" in r.text)
    return next(line for line in card.text.splitlines() if line.startswith(f"• {label}:"))


async def test_yesterday_is_a_date_not_a_gift_and_a_sports_day_is_an_event(h: Harness) -> None:
    user = await registered(h)
    replies = await user.send("hôm qua tổ chức hội thao cho 150 đoàn viên")
    assert "Tặng quà" not in texts(replies) and "Tổ chức sự kiện" in texts(replies)
    # "hội thao"/"hội thảo" fold alike: the kind is asked, not guessed
    assert "Loại sự kiện" in replies[-1].text
    card = await user.press("Thể thao")
    assert card_line(card, "Số người tham dự") == "• Số người tham dự: 150 người"
    assert card_line(card, "Ngày tổ chức") == "• Ngày tổ chức: 09/03/2026"
    assert card_line(card, "Số sự kiện") == "• Số sự kiện: 1 sự kiện (mặc định)"
    await user.press("Lưu")
    assert await saved_values(h) == {
        "kind": "sport",
        "count": 1,
        "participants": 150,
        "date": "2026-03-09",
    }


async def test_a_line_with_two_activities_asks_which_and_binds_nothing_across(
    h: Harness,
) -> None:
    user = await registered(h)
    replies = await user.send("tặng 20 suất quà và kết nạp 5 đoàn viên")
    assert "2 hoạt động" in replies[-1].text
    labels = [b.label for b in replies[-1].buttons]
    assert labels[:2] == ["🎁 Tặng quà", "👥 Phát triển đoàn viên"]
    assert await report_count(h) == 0
    card = await user.press("Phát triển đoàn viên")
    assert "Số 20 thuộc hoạt động khác" in texts(card)
    assert card_line(card, "Số đoàn viên kết nạp") == "• Số đoàn viên kết nạp: 5 người"
    await user.press("Lưu")
    assert (await saved_values(h))["people"] == 5

    again = await user.send("tặng 20 suất quà và kết nạp 5 đoàn viên")
    assert "2 hoạt động" in again[-1].text
    asked = await user.press("Tặng quà")
    assert "Số 5 thuộc hoạt động khác" in texts(asked)
    card = await user.press("Tết")
    assert card_line(card, "Số suất quà") == "• Số suất quà: 20 suất"
    assert card_line(card, "Giá trị mỗi suất") == "• Giá trị mỗi suất: —"


async def test_typed_choice_among_the_named_activities_counts_from_the_offer(h: Harness) -> None:
    user = await registered(h)
    await user.send("tặng 20 suất quà và kết nạp 5 đoàn viên")
    # A typed "2" is resolved by the text channel against the list on screen (the offer):
    # the second *offered* activity, not the second indicator.
    offer = user.last_with_buttons
    assert offer is not None
    chosen = text_choices.resolve("2", offer.buttons)
    assert chosen is not None
    card = await user.press_data(chosen.data, offer.message_id)
    assert card_line(card, "Số đoàn viên kết nạp") == "• Số đoàn viên kết nạp: 5 người"


async def test_a_date_in_the_line_is_used_and_a_filled_in_date_says_today(h: Harness) -> None:
    user = await registered(h)
    typed = await user.send("ngày 8/3 kết nạp 5 đoàn viên")
    assert card_line(typed, "Ngày kết nạp") == "• Ngày kết nạp: 08/03/2026"
    await user.press("Lưu")
    assert await saved_values(h) == {"people": 5, "date": "2026-03-08"}

    filled = await user.send("kết nạp 6 đoàn viên")
    assert card_line(filled, "Ngày kết nạp") == "• Ngày kết nạp: 10/03/2026 (hôm nay)"
    await user.press("Sửa")
    await user.press("Ngày kết nạp")
    card = await user.press("Hôm nay")  # chosen by the officer now: no longer marked
    assert card_line(card, "Ngày kết nạp") == "• Ngày kết nạp: 10/03/2026"


async def test_a_number_no_word_places_is_asked_not_guessed(h: Harness) -> None:
    user = await registered(h)
    asked = await user.send("tặng 20 suất quà 500k nhân dịp tết")
    assert "Số “500k” trong tin nhắn là mục nào?" in asked[-1].text
    assert next(b.label for b in asked[-1].buttons) == "Giá trị mỗi suất"
    wrong = await user.send("500000")  # a field is expected, not the number again
    assert "Bạn bấm chọn mục cho số “500k”" in wrong[-1].text
    assert "Số “500k” trong tin nhắn là mục nào?" in wrong[-1].text  # the question again
    card = await user.press("Giá trị mỗi suất")
    assert card_line(card, "Giá trị mỗi suất") == "• Giá trị mỗi suất: 500.000 đ"
    await user.press("Lưu")
    assert await saved_values(h) == {
        "count": 20,
        "value_per_gift": 500_000,
        "occasion": "tet",
        "date": "2026-03-10",
    }

    await user.send("tặng quà 20 đoàn viên nữ nhân dịp tết")  # 20 people, or 20 gifts?
    card = await user.press("Không ghi số này")
    assert "Số suất quà" in card[-1].text and "kiểm tra lại" not in card[-1].text
    card = await user.send("20")
    assert card_line(card, "Số suất quà") == "• Số suất quà: 20 suất"


async def test_two_numbers_for_one_field_are_asked_again(h: Harness) -> None:
    user = await registered(h)
    replies = await user.send("tặng 20 suất quà và 30 suất quà dịp tết")
    assert "hơn một giá trị cho: Số suất quà" in texts(replies)
    assert "Số suất quà" in replies[-1].text and "kiểm tra lại" not in replies[-1].text
    card = await user.send("50")
    assert card_line(card, "Số suất quà") == "• Số suất quà: 50 suất"


async def test_a_future_date_in_the_line_is_said_and_the_date_asked(h: Harness) -> None:
    user = await registered(h)
    replies = await user.send("kết nạp 5 đoàn viên ngày 20/3/2026")
    assert "20/03/2026" in texts(replies)
    assert "Ngày kết nạp" in replies[-1].text and "kiểm tra lại" not in replies[-1].text
    card = await user.send("hôm qua")
    assert card_line(card, "Ngày kết nạp") == "• Ngày kết nạp: 09/03/2026"
