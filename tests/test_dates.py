"""Dates as officers type them: day first, yearless means the latest such day."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.dates import format_date, parse_date
from domain.errors import UserInputError

TODAY = date(2025, 8, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8/3", date(2025, 3, 8)),
        ("08/03", date(2025, 3, 8)),
        ("8-3", date(2025, 3, 8)),
        ("8.3", date(2025, 3, 8)),
        ("30/6/2025", date(2025, 6, 30)),
        ("30-6-2025", date(2025, 6, 30)),
        ("30.6.2025", date(2025, 6, 30)),
        ("30 / 6 / 2025", date(2025, 6, 30)),
        ("2025-06-30", date(2025, 6, 30)),
        ("30/6/25", date(2025, 6, 30)),
        ("ngày 8/3", date(2025, 3, 8)),
        ("Ngày 30/6/2025", date(2025, 6, 30)),
        ("ngay 8/3", date(2025, 3, 8)),
        ("ngày 8 tháng 3 năm 2025", date(2025, 3, 8)),
        ("8 thang 3", date(2025, 3, 8)),
        ("hôm nay", TODAY),
        ("Hôm nay", TODAY),
        ("hom nay", TODAY),
        ("nay", TODAY),
        ("today", TODAY),
        ("ngày hôm nay", TODAY),
        ("hôm qua", date(2025, 8, 14)),
        ("hom qua", date(2025, 8, 14)),
        ("yesterday", date(2025, 8, 14)),
        ("hôm kia", date(2025, 8, 13)),
        ("hom kia", date(2025, 8, 13)),
        ("15/8", TODAY),
        ("16/8", date(2024, 8, 16)),
        ("20/12", date(2024, 12, 20)),
        ("29/2/2024", date(2024, 2, 29)),
        ("29/2", date(2024, 2, 29)),
        ("  8/3.  ", date(2025, 3, 8)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("20/12", date(2026, 1, 5), date(2025, 12, 20)),
        ("31/12", date(2026, 1, 1), date(2025, 12, 31)),
        ("1/1", date(2026, 1, 1), date(2026, 1, 1)),
        ("hôm qua", date(2026, 1, 1), date(2025, 12, 31)),
        ("hôm kia", date(2024, 3, 1), date(2024, 2, 28)),
        ("29/2", date(2104, 2, 28), date(2096, 2, 29)),  # 2100 is not a leap year
    ],
)
def test_parse_date_relative_to_today(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    "text",
    ["31/2/2025", "29/2/2025", "31/20", "0/3", "32/1", "abc", "", "8/3/202", "1e5", "x" * 500],
)
def test_parse_date_bad(text: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_date(text, TODAY)
    assert caught.value.key == "err.bad_date"
    assert caught.value.params == {"text": text}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("16/8/2025", "16/08/2025"),
        ("2026-01-01", "01/01/2026"),
        ("1/9/25", "01/09/2025"),
        ("1/1/99", "01/01/2099"),  # two-digit years are always 20xx
    ],
)
def test_parse_date_future(text: str, shown: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_date(text, TODAY)
    assert caught.value.key == "err.future_date"
    assert caught.value.params == {"date": shown}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_format_date(lang: str) -> None:
    assert format_date(date(2025, 3, 8), lang) == "08/03/2025"


@settings(max_examples=250, deadline=None)
@given(st.dates(max_value=TODAY), st.sampled_from(["vi", "en"]))
def test_format_parse_round_trip(d: date, lang: str) -> None:
    assert parse_date(format_date(d, lang), TODAY) == d


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.dates())
def test_any_text_raises_only_user_errors(text: str, today: date) -> None:
    with contextlib.suppress(UserInputError):
        parse_date(text, today)
