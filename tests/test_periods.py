"""Years, emulation periods (đợt), quarters and months."""

from __future__ import annotations

import contextlib
from datetime import date
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import Catalog
from domain.errors import UserInputError
from domain.periods import (
    Period,
    PeriodKind,
    closes_on,
    is_closed,
    parse_period,
    period_of,
)

TODAY = date(2025, 8, 15)
CATALOG = Catalog()
Y, H, Q, M = PeriodKind.YEAR, PeriodKind.HALF, PeriodKind.QUARTER, PeriodKind.MONTH


@pytest.mark.parametrize(
    ("period", "start", "end", "vi", "en", "key"),
    [
        (
            Period(Y, 2025, 1),
            date(2025, 1, 1),
            date(2025, 12, 31),
            "cả năm 2025",
            "full year 2025",
            "2025",
        ),
        (
            Period(H, 2025, 1),
            date(2025, 1, 1),
            date(2025, 6, 30),
            "6 tháng đầu năm 2025",
            "first half of 2025",
            "2025-H1",
        ),
        (
            Period(H, 2025, 2),
            date(2025, 7, 1),
            date(2025, 12, 31),
            "6 tháng cuối năm 2025",
            "second half of 2025",
            "2025-H2",
        ),
        (
            Period(Q, 2025, 1),
            date(2025, 1, 1),
            date(2025, 3, 31),
            "quý 1/2025",
            "Q1 2025",
            "2025-Q1",
        ),
        (
            Period(Q, 2025, 3),
            date(2025, 7, 1),
            date(2025, 9, 30),
            "quý 3/2025",
            "Q3 2025",
            "2025-Q3",
        ),
        (
            Period(Q, 2025, 4),
            date(2025, 10, 1),
            date(2025, 12, 31),
            "quý 4/2025",
            "Q4 2025",
            "2025-Q4",
        ),
        (
            Period(M, 2025, 6),
            date(2025, 6, 1),
            date(2025, 6, 30),
            "tháng 6/2025",
            "June 2025",
            "2025-06",
        ),
        (
            Period(M, 2024, 2),
            date(2024, 2, 1),
            date(2024, 2, 29),
            "tháng 2/2024",
            "February 2024",
            "2024-02",
        ),
        (
            Period(M, 2025, 2),
            date(2025, 2, 1),
            date(2025, 2, 28),
            "tháng 2/2025",
            "February 2025",
            "2025-02",
        ),
    ],
)
def test_period_shape(period: Period, start: date, end: date, vi: str, en: str, key: str) -> None:
    assert period.start == start
    assert period.end == end
    assert period.name(partial(CATALOG, "vi")) == vi
    assert period.name(partial(CATALOG, "en")) == en
    assert period.key == key
    assert Period.from_key(key) == period


@pytest.mark.parametrize(
    ("d", "kind", "expected"),
    [
        (date(2025, 6, 30), H, Period(H, 2025, 1)),
        (date(2025, 7, 1), H, Period(H, 2025, 2)),
        (date(2025, 1, 1), Q, Period(Q, 2025, 1)),
        (date(2025, 3, 31), Q, Period(Q, 2025, 1)),
        (date(2025, 4, 1), Q, Period(Q, 2025, 2)),
        (date(2025, 12, 31), Q, Period(Q, 2025, 4)),
        (date(2025, 8, 15), M, Period(M, 2025, 8)),
        (date(2025, 8, 15), Y, Period(Y, 2025, 1)),
    ],
)
def test_period_of(d: date, kind: PeriodKind, expected: Period) -> None:
    assert period_of(d, kind) == expected


def test_closing() -> None:
    half = Period(H, 2025, 1)
    assert closes_on(half, 10) == date(2025, 7, 10)
    assert closes_on(half, 0) == date(2025, 6, 30)
    assert not is_closed(half, date(2025, 7, 10), 10)
    assert is_closed(half, date(2025, 7, 11), 10)
    assert not is_closed(half, date(2025, 6, 30), 0)
    assert is_closed(half, date(2025, 7, 1), 0)
    # across the year boundary
    assert closes_on(Period(M, 2025, 12), 15) == date(2026, 1, 15)


@pytest.mark.parametrize(
    ("bad", "exc"),
    [
        ((H, 2025, 3), ValueError),
        ((Q, 2025, 0), ValueError),
        ((M, 2025, 13), ValueError),
        ((Y, 2025, 2), ValueError),
        ((Y, 0, 1), ValueError),
    ],
)
def test_period_validation(bad: tuple[PeriodKind, int, int], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        Period(*bad)


@pytest.mark.parametrize("key", ["", "25", "2025-H3", "2025-Q5", "2025-13", "2025-6", "abcd"])
def test_from_key_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        Period.from_key(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025", Period(Y, 2025, 1)),
        ("năm 2024", Period(Y, 2024, 1)),
        ("đợt 1", Period(H, 2025, 1)),
        ("Đợt 2", Period(H, 2025, 2)),
        ("dot 2 2025", Period(H, 2025, 2)),
        ("đợt 1/2025", Period(H, 2025, 1)),
        ("đợt II/2024", Period(H, 2024, 2)),
        ("Quý 1", Period(Q, 2025, 1)),
        ("quy 4", Period(Q, 2025, 4)),
        ("Q1", Period(Q, 2025, 1)),
        ("q3/2025", Period(Q, 2025, 3)),
        ("Quý III/2024", Period(Q, 2024, 3)),
        ("Q3 2024", Period(Q, 2024, 3)),
        ("tháng 6", Period(M, 2025, 6)),
        ("thang 6/2025", Period(M, 2025, 6)),
        ("Tháng 12/2024", Period(M, 2024, 12)),
        ("6/2025", Period(M, 2025, 6)),
        ("06/2025", Period(M, 2025, 6)),
        ("June 2025", Period(M, 2025, 6)),
        ("jun", Period(M, 2025, 6)),
        ("2025-H1", Period(H, 2025, 1)),
        ("2025-q3", Period(Q, 2025, 3)),
        ("2025-06", Period(M, 2025, 6)),
        ("tháng này", Period(M, 2025, 8)),
        ("tháng trước", Period(M, 2025, 7)),
        ("quý này", Period(Q, 2025, 3)),
        ("quý trước", Period(Q, 2025, 2)),
        ("đợt trước", Period(H, 2025, 1)),
        ("năm nay", Period(Y, 2025, 1)),
        ("năm ngoái", Period(Y, 2024, 1)),
        ("nay", Period(H, 2025, 2)),
        ("1", Period(H, 2025, 1)),
        ("6 tháng đầu năm 2026", Period(H, 2026, 1)),
        ("6 thang cuoi nam", Period(H, 2025, 2)),
        ("6 tháng cuối 2024", Period(H, 2024, 2)),
        ("sáu tháng đầu năm", Period(H, 2025, 1)),
        ("first half of 2026", Period(H, 2026, 1)),
        ("cả năm 2025", Period(Y, 2025, 1)),
        ("ca nam", Period(Y, 2025, 1)),
        ("Q3/2025", Period(Q, 2025, 3)),
        ("T11/2025", Period(M, 2025, 11)),
        ("t11", Period(M, 2025, 11)),
    ],
)
def test_parse_period(text: str, expected: Period) -> None:
    assert parse_period(text, TODAY) == expected


def test_parse_period_default_kind() -> None:
    assert parse_period("3", TODAY, default_kind=Q) == Period(Q, 2025, 3)
    assert parse_period("nay", TODAY, default_kind=M) == Period(M, 2025, 8)
    assert parse_period("trước", date(2025, 1, 10), default_kind=M) == Period(M, 2024, 12)
    assert parse_period("2024", TODAY, default_kind=M) == Period(Y, 2024, 1)


@pytest.mark.parametrize(
    "text",
    ["đợt 3", "dot 0", "quý 5", "Q0", "tháng 13", "13/2025", "năm 1", "abc", "", "5", "x" * 300],
)
def test_parse_period_bad(text: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_period(text, TODAY)
    assert caught.value.key == "err.bad_period"
    assert caught.value.params == {"text": text}


_PERIODS = st.one_of(
    st.builds(Period, st.just(Y), st.integers(1000, 9999), st.just(1)),
    st.builds(Period, st.just(H), st.integers(1000, 9999), st.integers(1, 2)),
    st.builds(Period, st.just(Q), st.integers(1000, 9999), st.integers(1, 4)),
    st.builds(Period, st.just(M), st.integers(1000, 9999), st.integers(1, 12)),
)


@settings(max_examples=250, deadline=None)
@given(_PERIODS, st.sampled_from(["vi", "en"]))
def test_label_and_key_round_trip(period: Period, lang: str) -> None:
    """Every name the catalogs give a period, long and short, reads back as that period."""
    for short in (False, True):
        assert parse_period(period.name(partial(CATALOG, lang), short), TODAY) == period
    assert Period.from_key(period.key) == period
    assert period_of(period.start, period.kind) == period
    assert period_of(period.end, period.kind) == period


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_raises_only_user_errors(text: str) -> None:
    with contextlib.suppress(UserInputError):
        parse_period(text, TODAY)


def test_a_period_passed_to_any_message_is_named_in_its_language() -> None:
    """Code anywhere passes a Period; the catalog names it ("6 tháng đầu năm 2026")."""
    closed = CATALOG(
        "vi",
        "err.period_closed",
        date="01/06/2025",
        period=Period(H, 2025, 1),
        closed="15/07",
        period_key="2025-H1",
    )
    assert "6 tháng đầu năm 2025" in closed
    assert "first half of 2025" in CATALOG(
        "en", "err.period_closed", date="x", period=Period(H, 2025, 1), closed="y", period_key="k"
    )
