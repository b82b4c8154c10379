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
        ("15/6/95", date(1995, 6, 15)),  # the nearest past year, never 2095
        ("1/1/99", date(1999, 1, 1)),
        ("1/1/00", date(2000, 1, 1)),
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
        ("29/2", date(2024, 3, 1), date(2024, 2, 29)),
        ("29/2", date(2025, 1, 10), date(2024, 2, 29)),
        ("15/6/26", date(2026, 12, 1), date(2026, 6, 15)),
        ("15/6/27", date(2026, 12, 1), date(1927, 6, 15)),  # 2027 is not past yet
    ],
)
def test_parse_date_relative_to_today(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    "text",
    ["abc", "", "8/3/202", "1e5", "x" * 500],
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
    ],
)
def test_parse_date_future(text: str, shown: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_date(text, TODAY)
    assert caught.value.key == "err.future_date"
    assert caught.value.params == {"date": shown}


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("31/4", "dates.no_day", {"day": 31, "month": 4, "days": 30}),
        ("31/4/2025", "dates.no_day", {"day": 31, "month": 4, "days": 30}),
        ("31/2/2025", "dates.no_day", {"day": 31, "month": 2, "days": 28}),
        ("0/3", "dates.no_day", {"day": 0, "month": 3, "days": 31}),
        ("32/1", "dates.no_day", {"day": 32, "month": 1, "days": 31}),
        ("29/2/2025", "dates.not_leap", {"year": 2025}),
        ("29/2", "dates.not_leap", {"year": 2025}),  # this year's 29/2, not 2024's
        ("31/20", "dates.no_month", {"month": 20}),
        ("8/13/2025", "dates.no_month", {"month": 13}),
        ("1/1/0001", "dates.bad_year", {"year": "0001"}),
        ("0001-01-01", "dates.bad_year", {"year": "0001"}),
        ("ngày 1 tháng 1 năm 0001", "dates.bad_year", {"year": "0001"}),
    ],
)
def test_impossible_dates_say_why(text: str, key: str, params: dict[str, object]) -> None:
    """A day that cannot exist is named as such, with examples, never "closed" or another day."""
    with pytest.raises(UserInputError) as caught:
        parse_date(text, TODAY)
    assert (caught.value.key, caught.value.params) == (key, params)
    assert caught.value.hint_key == "dates.examples"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 99), st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)))
def test_two_digit_year_is_the_nearest_past_year(yy: int, today: date) -> None:
    try:
        parsed = parse_date(f"1/1/{yy:02d}", today)
    except UserInputError as refusal:
        # only "not yet": 1/1 of this very year can still lie ahead of nothing
        raise AssertionError(refusal.key) from None
    assert parsed.year % 100 == yy
    assert parsed.year <= today.year
    assert today.year - parsed.year < 100


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_format_date(lang: str) -> None:
    assert format_date(date(2025, 3, 8), lang) == "08/03/2025"


@settings(max_examples=250, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY), st.sampled_from(["vi", "en"]))
def test_format_parse_round_trip(d: date, lang: str) -> None:
    assert parse_date(format_date(d, lang), TODAY) == d


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.dates())
def test_any_text_raises_only_user_errors(text: str, today: date) -> None:
    with contextlib.suppress(UserInputError):
        parse_date(text, today)
