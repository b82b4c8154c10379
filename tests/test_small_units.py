"""Pure pieces: invite codes, quick-report parsing, text choices, message splitting.

The catalogs against the code: tests/test_catalog.py."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import text_choices
from bot.config import load_config
from bot.i18n import load_catalog, placeholders
from domain.invites import ALPHABET, code_from_bytes, display, normalize
from domain.messages import Button, ChatAction, Reply
from domain.quick import detect_indicator, parse_quick
from handlers.report import Action, ReportButton
from runtime.dispatcher import split_text
from tests.harness import EXAMPLE
from usecases.invites import parse_duration

CONFIG = load_config(EXAMPLE)
TODAY = dt.date(2026, 3, 10)


# ---- invite codes -------------------------------------------------------------------------


@given(st.binary(min_size=10, max_size=10))
def test_invite_codes_carry_80_bits_and_survive_sloppy_typing(raw: bytes) -> None:
    code = code_from_bytes(raw)
    assert len(code) == 16 and set(code) <= set(ALPHABET)
    assert int("".join(str(ALPHABET.index(c)).zfill(2) for c in code)) >= 0
    sloppy = display(code).lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalize(sloppy) == code


def test_distinct_bytes_give_distinct_codes() -> None:
    assert code_from_bytes(bytes(10)) != code_from_bytes(bytes(9) + b"\x01")


@pytest.mark.parametrize(
    "typed", ["", "ABC", "AAAA-BBBB-CCCC-DDDU", "AAAA-BBBB-CCCC-DDDD-E", "🙂" * 16]
)
def test_impossible_codes_are_rejected_before_lookup(typed: str) -> None:
    assert normalize(typed) is None


@pytest.mark.parametrize(
    ("text", "days"), [("7d", 7), ("2w", 14), ("12h", 0.5), ("30m", 30 / 1440)]
)
def test_invite_durations(text: str, days: float) -> None:
    assert parse_duration(text) == dt.timedelta(days=days)


@pytest.mark.parametrize("text", ["7", "d", "7y", "-1d", "abc"])
def test_bad_invite_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# ---- quick reports ------------------------------------------------------------------------


def test_the_issue_sentence_becomes_a_gifts_report() -> None:
    parsed = parse_quick(
        "tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3", CONFIG.indicators, TODAY
    )
    assert parsed is not None and parsed.indicator.code == "gifts"
    assert parsed.values == {"count": 20, "value_per_gift": 500_000, "occasion": "women_day"}


@pytest.mark.parametrize(
    ("text", "indicator", "values"),
    [
        ("tang qua 400 suat, moi suat 1tr", "gifts", {"count": 400, "value_per_gift": 1_000_000}),
        (
            "trao 3.600 suất quà trị giá 500.000 đồng dịp Tết hôm qua",
            "gifts",
            {"count": 3600, "value_per_gift": 500_000, "occasion": "tet", "date": "2026-03-09"},
        ),
        ("phát triển 35 đoàn viên mới", "new_members", {"people": 35}),
        ("thanh lap 3 cong doan co so ngay 2/3", "new_unions", {"unions": 3, "date": "2026-03-02"}),
    ],
)
def test_quick_sentences(text: str, indicator: str, values: dict) -> None:
    parsed = parse_quick(text, CONFIG.indicators, TODAY)
    assert parsed is not None and parsed.indicator.code == indicator
    assert {k: parsed.values[k] for k in values} == values


@pytest.mark.parametrize("text", ["xin chào", "abc", "20", "'; DROP TABLE reports;--", ""])
def test_no_indicator_no_guess(text: str) -> None:
    assert detect_indicator(text, CONFIG.indicators) is None


@given(st.text(max_size=300))
def test_quick_parse_never_raises(text: str) -> None:
    parse_quick(text, CONFIG.indicators, TODAY)


# ---- text channels ------------------------------------------------------------------------


BUTTONS = [
    Button("🎁 Tặng quà", "f:i:gifts"),
    Button("📅 Tổ chức sự kiện", "f:i:events"),
    Button("⬅️ Quay lại", "f:b", nav=True),
    Button("❌ Hủy", "f:x", nav=True),
]


def test_numbered_rendering_keeps_navigation_as_words() -> None:
    text = text_choices.render(Reply("Chọn:", (tuple(BUTTONS),)))
    assert text == "Chọn:\n1. 🎁 Tặng quà  2. 📅 Tổ chức sự kiện\n(⬅️ Quay lại · ❌ Hủy)"


@pytest.mark.parametrize(
    ("typed", "data"),
    [
        ("1", "f:i:gifts"),
        ("2", "f:i:events"),
        ("tang qua", "f:i:gifts"),
        ("TỔ CHỨC SỰ KIỆN", "f:i:events"),
        ("huy", "f:x"),
        ("quay lai", "f:b"),
        ("7", None),
        ("0", None),
        ("abc", None),
    ],
)
def test_typed_answers_resolve_to_buttons(typed: str, data: str | None) -> None:
    chosen = text_choices.resolve(typed, BUTTONS)
    assert (chosen.data if chosen else None) == data


def test_a_name_shared_by_two_buttons_resolves_to_nothing() -> None:
    twins = [Button("Khác", "a"), Button("khac", "b")]
    assert text_choices.resolve("khác", twins) is None


CARD = Reply("card", ((Button("✅ Lưu", "c:s"), Button("✏️ Sửa", "c:e")),))
FIELDS = Reply("pick", ((Button("Số suất quà", "c:f1"),), (Button("⬅️", "c:b", nav=True),)))
HELP = Reply("help text")
CHART = Reply("chart", keeps_choices=True)


def test_the_newest_list_is_what_a_number_means() -> None:
    seen = text_choices.after(None, CARD)
    assert seen == CARD.choice_buttons
    assert text_choices.after(seen, CHART) == CARD.choice_buttons  # same answer: kept
    assert text_choices.after(seen, FIELDS) == FIELDS.choice_buttons  # a new list replaces
    assert text_choices.after(seen, HELP) == []  # a new answer without choices clears
    assert text_choices.after(None, CHART) is None  # not known: read the history instead
    typing = Reply("", action=ChatAction.TYPING)
    assert text_choices.after(seen, typing) == CARD.choice_buttons  # an indicator is no message


def test_the_history_gives_the_same_list_as_memory() -> None:
    """After a restart the list is rebuilt from the outbox (newest first) by the same rule."""
    histories = [[CARD], [CARD, CHART], [CARD, HELP], [CARD, FIELDS, CHART], [HELP, CARD], []]
    for history in histories:
        remembered: list[Button] | None = None
        for reply in history:
            remembered = text_choices.after(remembered, reply)
        assert text_choices.from_history(reversed(history)) == (remembered or []), history


async def test_choice_memory_reads_back_only_what_it_does_not_know() -> None:
    loads: list[str] = []

    async def load(chat_id: str) -> list[Button]:
        loads.append(chat_id)
        return CARD.choice_buttons

    memory = text_choices.ChoiceMemory(load, max_chats=1)
    memory.shown("a", CHART)  # keeps a list memory does not know: nothing decided yet
    assert await memory.current("a") == CARD.choice_buttons and loads == ["a"]
    memory.shown("a", HELP)
    assert await memory.current("a") == [] and loads == ["a"]
    memory.shown("b", FIELDS)  # over max_chats: "a" is dropped, then read back
    assert await memory.current("a") == CARD.choice_buttons and loads == ["a", "a"]


def test_reply_round_trips_its_choice_rule_and_action() -> None:
    for reply in (CHART, Reply("", action=ChatAction.UPLOAD_PHOTO), CARD):
        assert Reply.from_json(reply.to_json()) == reply
    old = '{"text": "x", "buttons": [], "menu": [], "edit_ref": "", "attachment": null}'
    assert Reply.from_json(old) == Reply("x")  # rows written before this change


def test_every_button_word_has_a_typed_variant() -> None:
    """Where choices are typed, no text says "bấm" (tap): each such message has a typed.<key>
    variant with the same placeholders, and the variants say what to type."""
    for lang, tap in (("vi", "bấm"), ("en", "tap")):
        catalog = load_catalog(lang)
        typed = {k.removeprefix("typed."): v for k, v in catalog.items() if k.startswith("typed.")}
        for key, text in typed.items():
            assert key in catalog, f"typed.{key} has no base message"
            assert placeholders(text) == placeholders(catalog[key]), key
            assert tap not in text.lower(), key
        tapping = {
            k
            for k, v in catalog.items()
            if tap in v.lower() and not k.startswith(("typed.", "btn.", "menu."))
        }
        assert tapping <= typed.keys(), sorted(tapping - typed.keys())


# ---- callback data, splitting ---------------------------------------------------


def test_callback_data_round_trip_and_limit() -> None:
    cb = ReportButton("abcdefgh", Action.EDIT_FIELD, "value_per_gift")
    assert ReportButton.unpack(cb.pack()) == cb
    assert ReportButton.unpack("abcdefgh:zz") is None  # the old format: refused
    assert ReportButton.unpack("rp:abcdefgh:zz") is None  # no such action
    with pytest.raises(ValueError):
        ReportButton("x", Action.CHOICE, "y" * 80).pack()


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12000), st.integers(50, 4096))
def test_split_text_respects_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
