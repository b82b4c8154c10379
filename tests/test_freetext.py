"""Free text and typed fields as stored: only what the officer visibly wrote."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import UserInputError
from domain.fields import DateRules, parse_field
from domain.models import FieldDef, FieldType, LocalText
from domain.periods import PeriodKind
from domain.text import clean_text, has_visible
from tests.harness import Harness

RULES = DateRules(today=dt.date(2026, 3, 10), period_kind=PeriodKind.HALF, open_days=15)
TEXT = FieldDef(code="note", type=FieldType.TEXT, label=LocalText(vi="Ghi chú"), max_length=200)
COUNT = FieldDef(
    code="count",
    type=FieldType.INTEGER,
    label=LocalText(vi="Số suất quà"),
    unit=LocalText(vi="suất", en="gifts"),
)
UNIONS = FieldDef(
    code="unions",
    type=FieldType.INTEGER,
    label=LocalText(vi="Số CĐCS"),
    unit=LocalText(vi="CĐCS", en="unions"),
)


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b",
        "\u200b\u200c\u200d\u2060\ufeff",
        "\u3164",  # Hangul filler: a "letter" that draws nothing
        "\u3164\u3164 \u115f\u1160",
        "\u2800\u2800",  # braille blank
        "\u034f\u17b4",
        "\u0301\u0303",  # combining marks with nothing to sit on
        "\x1b[31m\x1b[0m",
        "\u202e\u202d",
    ],
)
def test_text_of_invisible_characters_is_refused(typed: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_field(TEXT, typed, "vi", RULES)
    assert caught.value.key in ("freetext.invisible", "err.empty")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\x1b[31mnữ đoàn viên\x1b[0m", "nữ đoàn viên"),
        ("nữ\x07 đoàn\x00 viên", "nữ đoàn viên"),
        ("\x1b]0;title\x07Hội nghị", "Hội nghị"),
        ("\x9b2JTập huấn", "Tập huấn"),
        ("abc\u202eedf", "abcedf"),
        ("dòng 1\ndòng 2", "dòng 1\ndòng 2"),
        ("nu\u0303 đoàn viên", "nũ đoàn viên"),  # NFC: the same letters compare equal
        ("👨\u200d👩\u200d👧 gia đình", "👨\u200d👩\u200d👧 gia đình"),  # ZWJ emoji stay
    ],
)
def test_control_characters_and_escapes_are_never_stored(typed: str, stored: str) -> None:
    assert parse_field(TEXT, typed, "vi", RULES) == stored


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_stored_text_is_visible_and_free_of_controls(typed: str) -> None:
    try:
        stored = parse_field(TEXT, typed, "vi", RULES)
    except UserInputError:
        return
    assert has_visible(stored)
    assert "\x1b" not in stored
    assert all(unicodedata.category(ch) != "Cc" or ch in "\n\t" for ch in stored)
    assert clean_text(stored) == stored


def test_number_fields_accept_their_own_unit_and_nothing_unknown() -> None:
    assert parse_field(COUNT, "20 suất", "vi", RULES) == 20
    assert parse_field(UNIONS, "12 CĐCS", "vi", RULES) == 12
    assert parse_field(UNIONS, "12 unions", "en", RULES) == 12
    with pytest.raises(UserInputError) as caught:
        parse_field(UNIONS, "12 hội viên", "vi", RULES)
    assert caught.value.key == "numbers.word"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("\x1b[31mNguyễn\x1b[0m Văn An", "Nguyễn Văn An"),
        ("Bình\u202e\u0007", "Bình"),
        ("Trần\n\tThị   Cúc", "Trần Thị Cúc"),
        ("\u3164\u3164", None),  # a name of fillers only: the default name instead
    ],
)
async def test_a_name_the_platform_sends_is_stored_clean(
    h: Harness, sent: str, stored: str | None
) -> None:
    user = h.user(301, sent)
    await user.register(await h.invite())
    name = await h.scalar("SELECT name FROM people")
    expected = stored if stored is not None else h.catalog("vi", "start.default_name")
    assert name == expected
