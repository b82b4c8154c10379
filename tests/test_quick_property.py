"""Property: a quick line's numbers reach exactly their own fields, and nothing else does.

For every indicator of config.example.toml, sentences are built the way
officers write them — a verb phrase, each number next to its field's hint or
unit word, Vietnamese number notation (1.250.000, 500k, 2tr, 1tr5, 75,2%),
an optional date, filler words, with or without diacritics — and the reading
must hold exactly the sentence's values, each in its field, with nothing left
loose, unclear or guessed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import load_config
from domain.models import FieldDef, FieldType, IndicatorDef
from domain.quick import parse_quick
from domain.text import fold
from tests.harness import EXAMPLE

CONFIG = load_config(EXAMPLE)
TODAY = dt.date(2026, 3, 10)

# How the config's folded hint words are written with diacritics.
ACCENTED = {
    "suat": "suất",
    "phan": "phần",
    "qua": "quà",
    "moi suat": "mỗi suất",
    "moi phan": "mỗi phần",
    "tri gia": "trị giá",
    "gia tri": "giá trị",
    "su kien": "sự kiện",
    "buoi": "buổi",
    "nguoi": "người",
    "dai bieu": "đại biểu",
    "doan vien": "đoàn viên",
    "cdcs": "CĐCS",
    "cong doan": "công đoàn",
    "ban": "bản",
    "thoa uoc": "thỏa ước",
    "phan tram": "phần trăm",
    "thoa thuan": "thỏa thuận",
    "chuong trinh": "chương trình",
    "luot": "lượt",
    "tong": "tổng",
    "so tien": "số tiền",
    "tong tien": "tổng tiền",
    "sang kien": "sáng kiến",
    # keywords
    "tang qua": "tặng quà",
    "trao qua": "trao quà",
    "suat qua": "suất quà",
    "phan qua": "phần quà",
    "to chuc su kien": "tổ chức sự kiện",
    "hoi thao": "tổ chức hội thao",
    "hoi thi": "tổ chức hội thi",
    "phat trien doan vien": "phát triển đoàn viên",
    "ket nap doan vien": "kết nạp đoàn viên",
    "doan vien moi": "đoàn viên mới",
    "ket nap": "kết nạp",
    "thanh lap cdcs": "thành lập CĐCS",
    "thanh lap cong doan co so": "thành lập công đoàn cơ sở",
    "thanh lap cong doan": "thành lập công đoàn",
    "cdcs moi": "CĐCS mới",
    "thoa uoc lao dong tap the": "ký thỏa ước lao động tập thể",
    "tuldtt": "ký TƯLĐTT",
    "phuc loi doan vien": "phúc lợi đoàn viên",
    "phuc loi": "phúc lợi",
    "uu dai doan vien": "ưu đãi đoàn viên",
    "uu dai": "ưu đãi",
    "tham hoi tro cap": "thăm hỏi trợ cấp",
    "tham hoi": "thăm hỏi",
    "tro cap": "trợ cấp",
    "ho tro": "hỗ trợ",
    "cai tien ky thuat": "cải tiến kỹ thuật",
}
FILLERS = ["", "đã ", "vừa ", "trong đợt này đã ", "đơn vị đã "]
SEPARATORS = [", ", " và ", "; ", " , "]
DATES: list[tuple[str, str | None]] = [
    ("", None),
    ("hôm qua", "2026-03-09"),
    ("hôm nay", "2026-03-10"),
    ("ngày 8/3", "2026-03-08"),
    ("ngày 2/3/2026", "2026-03-02"),
    ("ngày 15-2", "2026-02-15"),
]
NUMERIC = (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER)


def accented(word: str) -> str:
    return ACCENTED.get(word, word)


def verbs(indicator: IndicatorDef) -> list[str]:
    """The label and the keywords, except those that also name a choice (a value of their own)."""
    names = {
        fold(n)
        for f in indicator.fields
        for c in f.choices
        for n in (c.label.vi, c.label.en, *c.aliases)
    }
    return [indicator.label.vi] + [accented(k) for k in indicator.keywords if k not in names]


def words_after(f: FieldDef) -> list[str]:
    """Words that may follow the number: the hints and the unit."""
    words = [accented(h) for h in f.hints]
    if f.unit is not None:
        words.append(f.unit.vi)
    return [w for w in words if fold(w) not in ("dong", "vnd")]


@st.composite
def integer_phrase(draw: st.DrawFn, f: FieldDef) -> tuple[str, int]:
    low, high = int(f.min or 0), int(min(f.max or 50_000, 50_000))
    value = draw(st.integers(max(low, 1), high))
    digits = f"{value:,}".replace(",", ".") if value >= 1000 and draw(st.booleans()) else str(value)
    if f.hints and draw(st.booleans()):
        return f"{accented(draw(st.sampled_from(f.hints)))} {digits}", value
    return f"{digits} {draw(st.sampled_from(words_after(f)))}", value


@st.composite
def money_phrase(draw: st.DrawFn, f: FieldDef) -> tuple[str, int]:
    high = int(f.max or 10**9)
    form = draw(st.sampled_from(["k", "tr", "trieu", "tr5", "dotted", "dotted_d", "dong"]))
    if form == "k":
        n = draw(st.integers(1, min(999, high // 1000)))
        written, value = f"{n}k", n * 1000
    elif form in ("tr", "trieu", "tr5"):
        n = draw(st.integers(1, min(99, high // 1_000_000 - 1)))
        unit = {"tr": "tr", "trieu": " triệu", "tr5": "tr5"}[form]
        written, value = f"{n}{unit}", n * 1_000_000 + (500_000 if form == "tr5" else 0)
    else:
        value = draw(st.integers(1, min(high, 10**9) // 1000)) * 1000
        grouped = f"{value:,}".replace(",", ".")
        suffix = {"dotted": "", "dotted_d": "đ", "dong": " đồng"}[form]
        written = grouped + suffix
    return f"{accented(draw(st.sampled_from(f.hints)))} {written}", value


@st.composite
def number_phrase(draw: st.DrawFn, f: FieldDef) -> tuple[str, float]:
    whole = draw(st.integers(int(f.min or 0), int(f.max or 100) - 1))
    tenth = draw(st.integers(0, 9))
    written = f"{whole},{tenth}" if tenth else str(whole)
    value = whole + tenth / 10
    after = draw(st.sampled_from(["%", " %", " phần trăm"]))
    return f"{written}{after}", value


@st.composite
def activity(draw: st.DrawFn, indicator: IndicatorDef) -> tuple[str, dict[str, Any]]:
    """One activity: its verb phrase and its numbers, each next to its field's words."""
    numeric = [f for f in indicator.fields if f.type in NUMERIC]
    chosen = draw(st.lists(st.sampled_from(numeric), unique_by=lambda f: f.code)) if numeric else []
    expected: dict[str, Any] = {}
    phrases: list[str] = []
    for f in chosen:
        if f.type == FieldType.INTEGER:
            phrase, value = draw(integer_phrase(f))
        elif f.type == FieldType.MONEY:
            phrase, value = draw(money_phrase(f))
        else:
            phrase, value = draw(number_phrase(f))
        phrases.append(phrase)
        expected[f.code] = value
    body = draw(st.sampled_from(FILLERS)) + draw(st.sampled_from(verbs(indicator)))
    if phrases:
        joined = phrases[0]
        for phrase in phrases[1:]:
            joined += draw(st.sampled_from(SEPARATORS)) + phrase
        body += " " + joined
    return body, expected


def dressed(draw: st.DrawFn, body: str) -> str:
    """Without diacritics half of the time, sometimes capitalised."""
    if draw(st.booleans()):
        body = fold(body)  # typed without diacritics
    if draw(st.booleans()):
        body = body[:1].upper() + body[1:]
    return body


@st.composite
def sentences(draw: st.DrawFn) -> tuple[str, IndicatorDef, dict[str, Any]]:
    indicator = draw(st.sampled_from(CONFIG.indicators))
    body, expected = draw(activity(indicator))
    date_text, date_value = draw(st.sampled_from(DATES))
    if date_value is not None and indicator.date_field is not None:
        expected[indicator.date_field.code] = date_value
    if date_text:
        body = f"{date_text} {body}" if draw(st.booleans()) else f"{body}, {date_text}"
    return dressed(draw, body), indicator, expected


@settings(max_examples=400, deadline=None)
@given(sentences())
def test_a_typical_line_gives_exactly_its_numbers_each_in_its_field(
    case: tuple[str, IndicatorDef, dict[str, Any]],
) -> None:
    text, indicator, expected = case
    parsed = parse_quick(text, CONFIG.indicators, TODAY)
    assert parsed is not None, text
    assert parsed.indicator.code == indicator.code, text
    assert parsed.values == expected, text
    assert (parsed.loose, parsed.unclear, parsed.errors, parsed.ambiguous) == ((), (), (), ())
    assert parsed.elsewhere == ()


@st.composite
def two_activities(
    draw: st.DrawFn,
) -> tuple[str, tuple[IndicatorDef, IndicatorDef], tuple[dict[str, Any], dict[str, Any]]]:
    first, second = draw(
        st.lists(st.sampled_from(CONFIG.indicators), min_size=2, max_size=2, unique=True)
    )
    text_1, expected_1 = draw(activity(first))
    text_2, expected_2 = draw(activity(second))
    joiner = draw(st.sampled_from([" và ", ", ", "; đồng thời "]))
    return dressed(draw, text_1 + joiner + text_2), (first, second), (expected_1, expected_2)


@settings(max_examples=300, deadline=None)
@given(two_activities())
def test_a_line_with_two_activities_is_asked_and_never_binds_across(
    case: tuple[str, tuple[IndicatorDef, IndicatorDef], tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """Which activity is asked; read for either, a bound value is one written for it."""
    text, indicators, expected = case
    assert parse_quick(text, CONFIG.indicators, TODAY) is None, text
    for indicator, wanted in zip(indicators, expected, strict=True):
        parsed = parse_quick(text, CONFIG.indicators, TODAY, indicator=indicator)
        assert parsed is not None
        for code, value in parsed.values.items():
            assert wanted.get(code) == value, (text, indicator.code, code)
