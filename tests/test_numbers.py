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
        ("abc", "numbers.not_a_number"),
        ("", "numbers.not_a_number"),
        ("   ", "numbers.not_a_number"),
        ("🙂🙂", "numbers.not_a_number"),
        ("abc 20", "numbers.lead"),
        ("1e5", "numbers.two_numbers"),
        ("10^15", "numbers.separator"),
        ("8/3", "numbers.two_numbers"),
        ("20 30", "numbers.two_numbers"),
        ("1.2.3", "numbers.grouping"),
        ("50%", "numbers.percent"),
        ("2 chục", "numbers.word"),
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
    assert caught.value.params["text"] == text
    assert caught.value.hint_key == "numbers.examples.integer"
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
        ("abc", "numbers.not_a_number"),
        ("-0,5", "err.negative"),
        ("30.6.2025", "numbers.grouping"),
        ("1.2,3.4", "numbers.grouping"),
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
        ("abc", "numbers.not_a_number"),
        ("🙂", "numbers.not_a_number"),
        ("đồng", "numbers.not_a_number"),
        ("1 rưỡi", "numbers.word"),
        ("5 trăm", "numbers.word"),
        ("2 triệu 20 suất", "numbers.two_numbers"),
        ("1tr5000", "numbers.two_numbers"),
        ("1,5tr5", "numbers.not_a_number"),
        ("50%", "numbers.percent"),
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
    assert caught.value.params["text"] == text
    assert caught.value.hint_key == "numbers.examples.money"


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


# --- the whole answer is understood, or refused saying why -------------------

_PARSE = {"integer": parse_integer, "number": parse_number, "money": parse_money}


@pytest.mark.parametrize(
    ("kind", "text", "key", "params"),
    [
        # what outsiders typed, and got saved as something else
        ("money", "2 trieeuj", "numbers.unit_suggest", {"word": "trieeuj", "suggestion": "triệu"}),
        ("money", "500 USD", "numbers.currency", {"unit": "USD"}),
        ("money", "5OO.OOO", "numbers.lookalike_zero", {"letter": "O"}),
        ("money", "1_000_000", "numbers.separator", {"char": "_"}),
        ("integer", "12-", "numbers.extra", {"part": "-", "number": "12"}),
        ("integer", "①②", "numbers.foreign_digit", {"char": "①"}),
        # the same kinds of mistake, otherwise written
        ("money", "$500", "numbers.currency", {"unit": "$"}),
        ("money", "US$ 500", "numbers.currency", {"unit": "US$"}),
        ("money", "500 đô", "numbers.currency", {"unit": "đô"}),
        ("money", "500k USD", "numbers.currency", {"unit": "USD"}),
        ("money", "500 €", "numbers.currency", {"unit": "€"}),
        ("money", "100 euro", "numbers.currency", {"unit": "euro"}),
        ("money", "2 trieu dong la", "numbers.word", {"word": "la"}),
        ("money", "500 nghin", "ok", {}),
        ("money", "2 tyr", "numbers.unit_suggest", {"word": "tyr", "suggestion": "tỷ"}),
        ("money", "5 trăm", "numbers.word", {"word": "trăm", "number": "5"}),
        ("integer", "2 chục", "numbers.word", {"word": "chục"}),
        ("integer", "20 hội viên", "numbers.word", {"word": "hội"}),
        ("integer", "20 suất do công đoàn tặng", "numbers.word", {"word": "do"}),
        ("integer", "10lít", "numbers.word", {"word": "lít"}),
        ("integer", "l00", "numbers.lookalike_one", {"letter": "l"}),
        ("integer", "1O", "numbers.lookalike_zero", {"letter": "O"}),
        ("integer", "2О", "numbers.lookalike_zero", {"letter": "О"}),  # Cyrillic О
        ("money", "5ook", "numbers.lookalike_zero", {"letter": "o"}),
        ("integer", "٣", "numbers.foreign_digit", {"char": "٣"}),
        ("integer", "5²", "numbers.foreign_digit", {"char": "²"}),
        ("integer", "Ⅻ", "numbers.foreign_digit", {"char": "Ⅻ"}),
        ("number", "½", "numbers.foreign_digit", {"char": "½"}),
        ("integer", "1'000", "numbers.separator", {"char": "'"}),
        ("integer", "12 -", "numbers.extra", {"part": "-"}),
        ("integer", "12?", "numbers.extra", {"part": "?"}),
        ("integer", "12 suất ;)", "numbers.extra", {"part": ";)"}),
        ("integer", "khoảng 20", "numbers.lead", {"part": "khoảng"}),
        ("integer", "từ 20", "numbers.lead", {"part": "từ"}),
        ("integer", "tầm 20", "numbers.lead", {"part": "tầm"}),
        ("integer", "10 đến 15 đến 20", "numbers.range", {}),
        ("money", "1.5 - 2", "numbers.range", {}),  # one end is itself unclear
        ("integer", "20 30", "numbers.two_numbers", {}),
        ("money", "2 triệu 20 suất", "numbers.two_numbers", {}),
        ("integer", "20%", "numbers.percent", {}),
        ("integer", "500.000đ", "numbers.money_here", {}),  # money typed as a count
        ("number", "20 VNĐ", "numbers.money_here", {}),
        ("money", "20 suất", "numbers.count_here", {}),  # a count typed as money
        ("money", "20 suất quà", "numbers.count_here", {}),
        ("integer", "2\u31640", "numbers.two_numbers", {}),  # a filler shows as a gap
        ("integer", "2\u200b0", "ok", {}),  # a zero-width space shows nothing
    ],
)
def test_answer_is_read_whole_or_refused_with_the_reason(
    kind: str, text: str, key: str, params: dict[str, str]
) -> None:
    """Nothing after (or before) the number is ever dropped: the refusal names it."""
    if key == "ok":
        _PARSE[kind](text)
        return
    with pytest.raises(UserInputError) as caught:
        _PARSE[kind](text)
    refusal = caught.value
    assert not isinstance(refusal, AmbiguousNumber)
    assert refusal.key == key
    assert refusal.params["text"] == text
    assert params.items() <= refusal.params.items()
    assert refusal.hint_key == f"numbers.examples.{kind}"


@pytest.mark.parametrize(
    ("kind", "text", "options"),
    [
        ("money", "1tr5k", (1_005_000, 1_500_000)),  # saved as 1.005.000 before
        ("money", "2tr50k", (2_050_000, 2_500_000)),
        ("money", "1tỷ2tr", (1_002_000_000, 1_200_000_000)),
        ("integer", "1.5", (1500, 15)),
    ],
)
def test_glued_short_terms_are_asked(kind: str, text: str, options: tuple[int, ...]) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        _PARSE[kind](text)
    assert caught.value.options == options
    assert len(set(caught.value.options)) == len(caught.value.options)


@pytest.mark.parametrize(
    ("kind", "text", "options"),
    [
        ("integer", "10 đến 15", (10, 15)),  # saved as 10 before
        ("integer", "từ 10 đến 15 suất", (10, 15)),
        ("integer", "khoảng 10 đến 15", (10, 15)),
        ("integer", "tầm 10-15 người", (10, 15)),
        ("integer", "10-15", (10, 15)),
        ("integer", "10 – 15 người", (10, 15)),
        ("integer", "10 hoặc 15", (10, 15)),
        ("money", "1-2 triệu", (1_000_000, 2_000_000)),
        ("money", "500k đến 1tr", (500_000, 1_000_000)),
        ("number", "10-15%", (10, 15)),
    ],
)
def test_a_range_is_asked_never_one_end_taken(
    kind: str, text: str, options: tuple[int, ...]
) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        _PARSE[kind](text)
    assert caught.value.options == options
    assert caught.value.key == "numbers.range"
    assert caught.value.prompt_key == "numbers.range_prompt"


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("money", "0,0", 0),  # asked "0 đ hay 0 đ?" before
        ("money", "0,00 đ", 0),
        ("integer", "0.0", 0),
        ("integer", "10 đến 10", 10),
    ],
)
def test_readings_that_agree_are_not_asked(kind: str, text: str, expected: int) -> None:
    assert _PARSE[kind](text) == expected


def test_the_fields_own_unit_may_follow_its_number() -> None:
    with pytest.raises(UserInputError):
        parse_integer("12 hội viên")
    assert parse_integer("12 hội viên", ["hội viên"]) == 12
    assert parse_integer("12 CĐCS", ["CĐCS", "unions"]) == 12
    assert parse_number("3 Hội Viên", ["hội viên"]) == 3


# --- properties of the whole-answer reading ----------------------------------

_CURRENCY_SUFFIX = st.sampled_from(["", "đ", " đ", " đồng", " dong", " VNĐ", " vnd", "₫"])
_NOUN_TAIL = st.sampled_from(["", " mỗi suất", "/căn", " cho mỗi người", " / người"])
_UNIT_WORDS = [
    ("k", 10**3),
    ("K", 10**3),
    (" k", 10**3),
    (" nghìn", 10**3),
    (" nghin", 10**3),
    (" ngàn", 10**3),
    ("tr", 10**6),
    (" tr", 10**6),
    (" triệu", 10**6),
    (" TRIỆU", 10**6),
    (" củ", 10**6),
    (" tỷ", 10**9),
    (" tỉ", 10**9),
]
# (what an officer types, the amount it denotes) in every documented notation
_MONEY_NOTATIONS = st.one_of(
    st.integers(0, 10**12).map(lambda n: (str(n), n)),
    st.integers(1000, 10**12).map(lambda n: (format_integer(n, "vi"), n)),
    st.integers(1000, 10**12).map(lambda n: (format_integer(n, "en"), n)),
    st.integers(1000, 10**12).map(lambda n: (f"{n:,}".replace(",", " "), n)),
    st.tuples(st.integers(1, 999), st.sampled_from(_UNIT_WORDS)).map(
        lambda t: (f"{t[0]}{t[1][0]}", t[0] * t[1][1])
    ),
    st.tuples(st.integers(1, 999), st.integers(1, 9)).map(
        lambda t: (f"{t[0]}tr{t[1]}", t[0] * 10**6 + t[1] * 10**5)
    ),
    st.tuples(st.integers(1, 999), st.integers(100, 999)).map(
        lambda t: (f"{t[0]}tr{t[1]}k", t[0] * 10**6 + t[1] * 10**3)
    ),
    st.tuples(st.integers(1, 99), st.integers(100, 999)).map(
        lambda t: (f"{t[0]} tỷ {t[1]} triệu", t[0] * 10**9 + t[1] * 10**6)
    ),
    st.integers(1, 999).map(lambda n: (f"{n} triệu rưỡi", n * 10**6 + 5 * 10**5)),
    st.integers(1, 999).map(lambda n: (f"{n}tr rưỡi", n * 10**6 + 5 * 10**5)),
)


@settings(max_examples=400, deadline=None)
@given(_MONEY_NOTATIONS, _CURRENCY_SUFFIX, _NOUN_TAIL)
def test_every_documented_money_notation_reads_back_exactly(
    notation: tuple[str, int], currency: str, tail: str
) -> None:
    text, denoted = notation
    assert parse_money(f"{text}{currency}{tail}") == denoted


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.sampled_from(["", " suất", " người", " đoàn viên", " suất quà"]))
def test_every_count_reads_back_exactly(n: int, noun: str) -> None:
    assert parse_integer(f"{format_integer(n, 'vi')}{noun}") == n
    assert parse_integer(f"{n}{noun}.") == n


# Words a refusal must not be fooled by: anything not a unit, currency or known noun
# ("kd" is kđ, nghìn đồng, once folded).
_KNOWN_WORDS = {
    "k", "tr", "trieu", "nghin", "ngan", "ty", "ti", "cu", "d", "dong", "vnd", "ruoi",
    "kd", "suat", "xuat", "phan", "qua", "nguoi", "luot", "dv", "nld", "cnld", "nu", "cai",
    "chiec", "can", "nha", "ho", "lan", "buoi", "cuoc", "dot", "giai", "tran", "cdcs",
    "cd", "ban", "dn", "em", "chau", "tivi", "tv", "xe", "moi", "tren", "per",
    "each", "people", "person", "persons", "gift", "gifts", "event", "events", "member",
    "members", "union", "unions", "times", "pcs", "house", "houses", "visit", "visits",
    "agreement", "agreements", "initiative", "initiatives", "worker", "workers",
    "family", "families", "tu", "khoang", "den", "toi", "hoac", "hay", "or", "to",
}  # fmt: skip
_GARBAGE_WORD = st.from_regex(r"[a-zA-ZđĐơưăâêôạảấầẩẫậệ]{1,9}", fullmatch=True).filter(
    lambda w: fold(w) not in _KNOWN_WORDS
)
_GARBAGE_SYMBOL = st.sampled_from(list("-_#@*?=+<>|\\~^&;:)(\"'[]{}`$€£¥"))
_CLEAR_MONEY = _MONEY_NOTATIONS.filter(lambda t: not t[0].startswith("0") or t[0] == "0")


@settings(max_examples=400, deadline=None)
@given(_CLEAR_MONEY, _GARBAGE_WORD, st.sampled_from([" ", ""]), st.booleans())
def test_an_unknown_word_before_or_after_is_refused_never_dropped(
    notation: tuple[str, int], word: str, space: str, before: bool
) -> None:
    text = f"{word} {notation[0]}" if before else f"{notation[0]}{space}{word}"
    with pytest.raises(UserInputError) as caught:
        parse_money(text)
    assert not isinstance(caught.value, AmbiguousNumber) or caught.value.options
    assert caught.value.key != "numbers.not_a_number" or before


@settings(max_examples=300, deadline=None)
@given(_CLEAR_MONEY, _GARBAGE_SYMBOL, st.sampled_from([" ", ""]))
def test_a_stray_symbol_after_is_refused(
    notation: tuple[str, int], symbol: str, space: str
) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_money(f"{notation[0]}{space}{symbol}")
    assert not isinstance(caught.value, AmbiguousNumber)


_OTHER_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(
    lambda ch: not ("0" <= ch <= "9" or "０" <= ch <= "９")
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), _OTHER_DIGITS, st.sampled_from(["before", "after", "alone"]))
def test_other_scripts_digits_are_refused_by_name(n: int, digit: str, where: str) -> None:
    text = {"before": f"{digit}{n}", "after": f"{n}{digit}", "alone": digit}[where]
    for parse in _PARSERS:
        with pytest.raises(UserInputError) as caught:
            parse(text)
        assert caught.value.key == "numbers.foreign_digit"
        assert caught.value.params["char"] == digit


@settings(max_examples=300, deadline=None)
@given(
    st.integers(10, 10**9).filter(lambda n: "0" in str(n)[1:]),
    st.sampled_from(["O", "o", "О", "Ο"]),
    st.data(),
)
def test_letter_o_for_zero_is_named(n: int, letter: str, data: st.DataObject) -> None:
    shown = format_integer(n, "vi")
    zeros = [i for i, ch in enumerate(shown) if ch == "0"]
    at = data.draw(st.sampled_from(zeros))
    text = shown[:at] + letter + shown[at + 1 :]
    with pytest.raises(UserInputError) as caught:
        parse_money(text)
    assert (caught.value.key, caught.value.params["letter"]) == ("numbers.lookalike_zero", letter)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from([" đến ", "-", " - ", " tới ", " hoặc ", "–", " ~ "]),
)
def test_any_range_is_asked_with_both_ends(low: int, high: int, sep: str) -> None:
    text = f"{low}{sep}{high}"
    if low == high:
        assert parse_integer(text) == low
        return
    with pytest.raises(AmbiguousNumber) as caught:
        parse_integer(text)
    assert caught.value.options == (low, high)


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH)
def test_an_accepted_answer_offers_or_stores_only_distinct_readings(text: str) -> None:
    for parse in _PARSERS:
        try:
            parse(text)
        except AmbiguousNumber as asked:
            assert len(set(asked.options)) == len(asked.options) >= 2
        except UserInputError as refused:
            assert refused.hint_key.startswith("numbers.examples.") or refused.key == "err.too_long"


def test_formatting_kept_by_value_says_what_babel_says() -> None:
    """format_decimal_as keeps its texts by the value's exact text: asked twice, every
    value (a negative zero, trailing zeros, beyond 28 digits) reads as Babel words it."""
    from decimal import Decimal, localcontext

    from babel.numbers import format_decimal

    from domain.numbers import _WIDE, format_decimal_as

    values: list[Decimal | int] = [
        Decimal("-0.00"),
        Decimal("0"),
        Decimal("1.50"),
        Decimal("1.5"),
        Decimal("-1234567.891"),
        Decimal("12345678901234567890123456789.25"),
        10**30,
        -5,
    ]
    for value in values:
        for pattern in ("#,##0", "#,##0.##", "#,##0.0"):
            for lang in ("vi", "en"):
                with localcontext(_WIDE):
                    expected = format_decimal(value, format=pattern, locale=lang)
                    assert format_decimal_as(value, pattern, lang) == expected
                    assert format_decimal_as(value, pattern, lang) == expected
