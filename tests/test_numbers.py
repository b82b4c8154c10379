"""Numbers as officers type them: thousands dots, decimal commas, money shorthand."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import AmbiguousNumber, UserInputError
from domain.numbers import (
    Amount,
    format_integer,
    format_money,
    format_number,
    format_percent,
    parse_integer,
    parse_money,
    parse_number,
    scan_amounts,
)
from domain.text import fold

# --- parse_integer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", 20),
        ("0", 0),
        ("  20  ", 20),
        ("20 suất", 20),
        ("20 người", 20),
        ("20 suất quà", 20),
        ("20suất", 20),
        ("20.", 20),
        ("1.500", 1500),
        ("1,500", 1500),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("3.600", 3600),
        ("6.257 đoàn viên", 6257),
        ("1 250 000", 1_250_000),
        ("2,0", 2),
        ("5 nghìn người", 5000),
        ("20 cụ", 20),  # elderly people, not "20 củ" (slang for 20 million)
        ("20 ti vi", 20),
        ("1000000000000000", 10**15),
        ("+7", 7),
        ("１２", 12),  # full-width digits from some phone keyboards
    ],
)
def test_parse_integer(text: str, expected: int) -> None:
    assert parse_integer(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("abc", "err.not_a_number"),
        ("", "err.not_a_number"),
        ("   ", "err.not_a_number"),
        ("🙂🙂", "err.not_a_number"),
        ("abc 20", "err.not_a_number"),
        ("1e5", "err.not_a_number"),
        ("10^15", "err.not_a_number"),
        ("8/3", "err.not_a_number"),
        ("20 30", "err.not_a_number"),
        ("1.2.3", "err.not_a_number"),
        ("50%", "err.not_a_number"),
        ("2 chục", "err.not_a_number"),
        ("1,5", "err.not_integer"),
        ("2,25", "err.not_integer"),
        ("0,5", "err.not_integer"),
        ("1.250.000,5", "err.not_integer"),
        ("-5", "err.negative"),
        ("- 5 người", "err.negative"),
        ("−5", "err.negative"),
        ("1" * 101, "err.too_long"),
        ("x" * 5000, "err.too_long"),
    ],
)
def test_parse_integer_errors(text: str, key: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_integer(text)
    assert caught.value.key == key
    assert caught.value.params == {"text": text}
    assert not isinstance(caught.value, AmbiguousNumber)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("1.5", (1500, 15)),
        ("2.25", (2250, 225)),
        ("20.0", (20, 20000)),
    ],
)
def test_parse_integer_ambiguous(text: str, options: tuple[int, ...]) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        parse_integer(text)
    assert caught.value.options == options
    assert caught.value.key == "err.ambiguous_number"
    assert caught.value.params == {"text": text}


# --- parse_number -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,5", 1.5),
        ("99,1", 99.1),
        ("99,1%", 99.1),
        ("70,37%", 70.37),
        ("70,37 %", 70.37),
        ("1.250.000", 1_250_000.0),
        ("1.250.000,5", 1_250_000.5),
        ("80,000.5", 80_000.5),
        ("1,250,000.5", 1_250_000.5),
        ("1 250 000,5", 1_250_000.5),
        ("0.5", 0.5),
        ("0,75", 0.75),
        ("1234.5", 1234.5),
        ("1,2345", 1.2345),
        ("42", 42.0),
        ("75,2% doanh nghiệp", 75.2),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("1.5", (1.5, 15)),
        ("1.500", (1500, 1.5)),
        ("1,500", (1500, 1.5)),
        ("52.5%", (52.5, 525)),
    ],
)
def test_parse_number_ambiguous(text: str, options: tuple[float, ...]) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        parse_number(text)
    assert caught.value.options == options


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("abc", "err.not_a_number"),
        ("-0,5", "err.negative"),
        ("30.6.2025", "err.not_a_number"),
        ("1.2,3.4", "err.not_a_number"),
        ("9" * 120, "err.too_long"),
    ],
)
def test_parse_number_errors(text: str, key: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_number(text)
    assert caught.value.key == key


# --- parse_money ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500k", 500_000),
        ("500K", 500_000),
        ("500 k", 500_000),
        ("500 nghìn", 500_000),
        ("500 nghin", 500_000),
        ("500 ngàn", 500_000),
        ("500 ngan", 500_000),
        ("2tr", 2_000_000),
        ("2 triệu", 2_000_000),
        ("2 trieu", 2_000_000),
        ("3 củ", 3_000_000),
        ("1 tỷ", 1_000_000_000),
        ("1 tỉ", 1_000_000_000),
        ("1 ty", 1_000_000_000),
        ("1tr5", 1_500_000),
        ("1tr2", 1_200_000),
        ("2tr50", 2_500_000),
        ("1tr250", 1_250_000),
        ("1 tỷ 2", 1_200_000_000),
        ("1 triệu rưỡi", 1_500_000),
        ("1 trieu ruoi", 1_500_000),
        ("2 tr rưỡi", 2_500_000),
        ("1 tỷ rưỡi", 1_500_000_000),
        ("1,5 triệu", 1_500_000),
        ("1.5tr", 1_500_000),
        ("2,25 tỷ", 2_250_000_000),
        ("1 tỷ 200 triệu", 1_200_000_000),
        ("2 triệu 500 nghìn đồng", 2_500_000),
        ("2tr500k", 2_500_000),
        ("500.000đ", 500_000),
        ("500.000 đ", 500_000),
        ("500.000 VNĐ", 500_000),
        ("500.000 VND", 500_000),
        ("500.000 vnđ", 500_000),
        ("500000 đồng", 500_000),
        ("500000 dong", 500_000),
        ("500000d", 500_000),
        ("₫500.000", 500_000),
        ("500.000₫", 500_000),
        ("80,000", 80_000),
        ("1.250.000", 1_250_000),
        ("1,250,000 VND", 1_250_000),
        ("40 triệu/căn", 40_000_000),
        ("500.000đ mỗi suất", 500_000),
        ("0", 0),
    ],
)
def test_parse_money(text: str, expected: int) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("1.5", (1_500_000, 1_500)),
        ("2,5", (2_500_000, 2_500)),
        ("2,25", (2_250_000, 2_250)),
        ("1.500 triệu", (1_500_000_000, 1_500_000)),
    ],
)
def test_parse_money_ambiguous(text: str, options: tuple[int, ...]) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        parse_money(text)
    assert caught.value.options == options
    assert caught.value.params == {"text": text}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("abc", "err.not_a_number"),
        ("🙂", "err.not_a_number"),
        ("đồng", "err.not_a_number"),
        ("1 rưỡi", "err.not_a_number"),
        ("5 trăm", "err.not_a_number"),
        ("2 triệu 20 suất", "err.not_a_number"),
        ("1tr5000", "err.not_a_number"),
        ("1,5tr5", "err.not_a_number"),
        ("50%", "err.not_a_number"),
        ("-500k", "err.negative"),
        ("1.250.000,5", "err.not_integer"),
        ("1,2345 k", "err.not_integer"),
        ("k" * 200, "err.too_long"),
    ],
)
def test_parse_money_errors(text: str, key: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_money(text)
    assert caught.value.key == key
    assert caught.value.params == {"text": text}


# --- scan_amounts -----------------------------------------------------------


def _values(text: str) -> list[tuple[float, bool]]:
    return [(a.value, a.is_money) for a in scan_amounts(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3", [(20, False), (500_000, True)]),
        ("tang 400 suat qua moi suat 1tr", [(400, False), (1_000_000, True)]),
        ("trao 3.600 suất quà trị giá 500.000 đồng", [(3600, False), (500_000, True)]),
        ("tổ chức 2 hội nghị với 150 người tham dự", [(2, False), (150, False)]),
        ("ngày 30/6/2025 phát triển 6.257 đoàn viên", [(6257, False)]),
        ("đạt 49/20 chỉ tiêu", []),
        ("tỷ lệ 70,37% doanh nghiệp", [(70.37, False)]),
        ("hỗ trợ 1 triệu rưỡi cho 3 hộ", [(1_500_000, True), (3, False)]),
        ("xây 2 mái ấm, mỗi căn 40 triệu", [(2, False), (40_000_000, True)]),
        ("tổng 1 tỷ 2, rất tốt", [(1_200_000_000, True)]),
        ("thăm 5 gia đình, mỗi gia đình 2 triệu 20 suất", [(5, False), (2e6, True), (20, False)]),
        ("quý 1 năm 2025 tặng 10 suất", [(10, False)]),
        ("đợt 1.1–30.6.2026 có 7 sáng kiến", [(7, False)]),
        ("nhân dịp 8-3 tặng 12 suất", [(12, False)]),
        ("lúc 8h30 họp 30 người, gọi 0912345678", [(30, False)]),
        ("₫500.000 x 3", [(500_000, True), (3, False)]),
        ("tặng 20 suất x500k", [(20, False), (500_000, True)]),
        ("thăm hỏi 20 cụ cao tuổi, mỗi cụ 500k", [(20, False), (500_000, True)]),
        ("tặng 20 ti vi cho 20 đ/c", [(20, False), (20, False)]),
        ("mã q1 h2 mp3", []),
        ("1" * 200, []),
        ("không có số nào", []),
        ("", []),
    ],
)
def test_scan_amounts(text: str, expected: list[tuple[float, bool]]) -> None:
    assert _values(text) == expected


def test_scan_amounts_positions_refer_to_folded_text() -> None:
    text = "Tặng  20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"
    folded = fold(text)
    amounts = scan_amounts(text)
    assert amounts == [
        Amount(start=5, end=7, value=20, is_money=False, raw="20"),
        Amount(start=27, end=35, value=500_000, is_money=True, raw="500.000d"),
    ]
    for amount in amounts:
        assert folded[amount.start : amount.end] == amount.raw


def test_scan_amounts_raw_reparses() -> None:
    # The value is the Vietnamese-convention reading; raw lets the caller ask.
    (amount,) = scan_amounts("hỗ trợ 1.5 cho mỗi hộ")
    assert amount.value == 1.5
    with pytest.raises(AmbiguousNumber):
        parse_money(amount.raw)


# --- formatting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "vi", "en"),
    [
        (0, "0", "0"),
        (999, "999", "999"),
        (1250, "1.250", "1,250"),
        (1_250_000, "1.250.000", "1,250,000"),
    ],
)
def test_format_integer(n: int, vi: str, en: str) -> None:
    assert format_integer(n, "vi") == vi
    assert format_integer(n, "en") == en


def test_format_money() -> None:
    assert format_money(1_250_000, "vi") == "1.250.000 đ"
    assert format_money(1_250_000, "en") == "1,250,000 VND"


@pytest.mark.parametrize(
    ("x", "vi", "en"),
    [
        (70.37, "70,37", "70.37"),
        (99.1, "99,1", "99.1"),
        (42.0, "42", "42"),
        (1250.5, "1.250,5", "1,250.5"),
        (2.345, "2,35", "2.35"),  # halves round up, as people expect
        (float("nan"), "—", "—"),
        (float("inf"), "—", "—"),
    ],
)
def test_format_number(x: float, vi: str, en: str) -> None:
    assert format_number(x, "vi") == vi
    assert format_number(x, "en") == en


@pytest.mark.parametrize(
    ("ratio", "vi", "en"),
    [
        (2.45, "245,0%", "245.0%"),
        (1.738, "173,8%", "173.8%"),
        (1.55, "155,0%", "155.0%"),
        (0.7037, "70,4%", "70.4%"),
        (0.0, "0,0%", "0.0%"),
        (12.0, "1.200,0%", "1,200.0%"),
        (float("inf"), "—", "—"),
    ],
)
def test_format_percent(ratio: float, vi: str, en: str) -> None:
    assert format_percent(ratio, "vi") == vi
    assert format_percent(ratio, "en") == en


def test_format_large_number_does_not_crash() -> None:
    assert format_number(1e300, "vi").startswith("1.000.000")


# --- properties -------------------------------------------------------------

_PARSERS = (parse_integer, parse_number, parse_money)
_NUMBERISH = st.lists(
    st.sampled_from(
        [
            "0",
            "1",
            "5",
            "20",
            "250",
            "000",
            ".",
            ",",
            " ",
            "-",
            "%",
            "/",
            "k",
            "tr",
            "triệu",
            "trieu",
            "tỷ",
            "ti",
            "củ",
            "nghìn",
            "ngan",
            "rưỡi",
            "ruoi",
            "đ",
            "đồng",
            "VNĐ",
            "₫",
            "suất",
            "e",
            "^",
            "trăm",
        ]
    ),
    max_size=12,
).map("".join)


def _only_user_errors(text: str) -> None:
    for parse in _PARSERS:
        with contextlib.suppress(UserInputError):
            parse(text)


@settings(max_examples=250, deadline=None)
@given(st.text(max_size=120))
def test_any_text_raises_only_user_errors(text: str) -> None:
    _only_user_errors(text)
    scan_amounts(text)


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH)
def test_numberish_text_raises_only_user_errors(text: str) -> None:
    _only_user_errors(text)
    for amount in scan_amounts(text):
        assert fold(text)[amount.start : amount.end] == amount.raw
        assert amount.value >= 0


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["vi", "en"]))
def test_integer_and_money_round_trip(n: int, lang: str) -> None:
    assert parse_integer(format_integer(n, lang)) == n
    assert parse_money(format_money(n, lang)) == n


_UNAMBIGUOUS_NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=999).map(float),
    # a non-zero decimal part: the comma can only be the decimal comma
    st.integers(min_value=0, max_value=10**11)
    .filter(lambda cents: cents % 100 != 0)
    .map(lambda cents: cents / 100),
)


@settings(max_examples=250, deadline=None)
@given(_UNAMBIGUOUS_NUMBERS)
def test_number_round_trip_vi(x: float) -> None:
    assert parse_number(format_number(x, "vi")) == x
