"""Validation of one form field's input: typed text in, a stored value out.

Values are stored as JSON: integers and money as int (đồng), numbers as float,
dates as ISO strings, choices as the choice code, text verbatim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from domain.dates import format_date, parse_date
from domain.errors import UserInputError
from domain.models import Choice, FieldDef, FieldType
from domain.numbers import MAX_INPUT_CHARS as NUMBER_MAX_CHARS
from domain.numbers import (
    format_integer,
    format_money,
    format_number,
    parse_integer,
    parse_money,
    parse_number,
)
from domain.periods import PeriodKind, closes_on, is_closed, period_of
from domain.text import INVISIBLE_GLYPHS, clean_text, fold, has_visible


@dataclass(frozen=True, slots=True)
class DateRules:
    """What makes a date acceptable: not in the future, not in a closed period."""

    today: dt.date
    period_kind: PeriodKind
    open_days: int
    #: Closed periods (keys) the unit was granted an unlock for, still running.
    unlocked: frozenset[str] = frozenset()


def match_choice(field: FieldDef, text: str, lang: str) -> Choice | None:
    """A choice by number (1-based, as shown on text-only channels), code, label or alias."""
    wanted = fold(text).strip(" .")
    if not wanted:
        return None
    if wanted.isdigit():
        index = int(wanted) - 1
        return field.choices[index] if 0 <= index < len(field.choices) else None
    for choice in field.choices:
        names = {choice.code, fold(choice.label.vi), fold(choice.label.get(lang))}
        names.update(fold(a) for a in choice.aliases)
        if wanted in names:
            return choice
    return None


def input_limit(field: FieldDef) -> int:
    """The one length limit of a field's typed answer: what its question and its error state.

    The field's `max_length` (one default for all fields); a number is never
    longer than the number parser reads.
    """
    if field.type in (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER):
        return min(field.max_length, NUMBER_MAX_CHARS)
    return field.max_length


def _check_length(field: FieldDef, text: str) -> None:
    limit = input_limit(field)
    if len(text) > limit:
        raise UserInputError("err.text_too_long", max=limit, length=len(text))


def _check_bounds(field: FieldDef, value: float, shown: str) -> None:
    if value < 0 and (field.min is None or field.min >= 0):
        raise UserInputError("err.negative", text=shown)
    if field.min is not None and value < field.min:
        raise UserInputError("err.below_min", value=shown, min=_bound(field, field.min))
    if field.max is not None and value > field.max:
        raise UserInputError("err.above_max", value=shown, max=_bound(field, field.max))


def _bound(field: FieldDef, bound: float) -> str:
    if field.type == FieldType.MONEY:
        return format_money(int(bound), "vi")
    if field.type == FieldType.INTEGER:
        return format_integer(int(bound), "vi")
    return format_number(bound, "vi")


def check_value(field: FieldDef, value: Any) -> Any:
    """Re-check a value that came from elsewhere (quick report, ambiguity answer)."""
    if field.type == FieldType.TEXT:
        _check_length(field, str(value))
    if field.type in (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER):
        _check_bounds(field, float(value), str(value))
    return value


def unit_words(field: FieldDef) -> tuple[str, ...]:
    """The field's own unit ("suất", "người"), allowed after its number: "20 suất"."""
    return (field.unit.vi, field.unit.en) if field.unit else ()


def parse_field(field: FieldDef, text: str, lang: str, rules: DateRules) -> Any:
    """Turn typed text into the field's value or raise a UserInputError saying why."""
    text = text.strip()
    if not text:
        raise UserInputError("err.empty")
    _check_length(field, text)
    match field.type:
        case FieldType.INTEGER:
            number: float = parse_integer(text, unit_words(field))
            _check_bounds(field, number, text)
            return int(number)
        case FieldType.MONEY:
            money = parse_money(text, unit_words(field))
            _check_bounds(field, money, text)
            return money
        case FieldType.NUMBER:
            number = parse_number(text, unit_words(field))
            _check_bounds(field, number, text)
            return number
        case FieldType.TEXT:
            return _free_text(field, text)
        case FieldType.DATE:
            day = parse_date(text, rules.today)
            return check_date(day, rules).isoformat()
        case FieldType.CHOICE:
            choice = match_choice(field, text, lang)
            if choice is None:
                options = ", ".join(c.label.get(lang) for c in field.choices)
                raise UserInputError("err.bad_choice", options=options)
            return choice.code
        case FieldType.PHOTO:
            raise UserInputError("err.photo_expected")
    raise AssertionError(field.type)


def _free_text(field: FieldDef, text: str) -> str:
    """Text as it will be stored: visible, without control characters or escapes."""
    cleaned = clean_text(text)
    if not has_visible(cleaned):
        raise UserInputError("freetext.invisible")
    if not any(ch.isalnum() and ch not in INVISIBLE_GLYPHS for ch in cleaned):
        raise UserInputError("err.text_meaningless")
    return cleaned


def check_date(day: dt.date, rules: DateRules) -> dt.date:
    if day > rules.today:
        raise UserInputError("err.future_date", date=format_date(day, "vi"))
    period = period_of(day, rules.period_kind)
    if period.key not in rules.unlocked and is_closed(period, rules.today, rules.open_days):
        raise UserInputError(
            "err.period_closed",
            date=format_date(day, "vi"),
            period=period,
            closed=format_date(closes_on(period, rules.open_days), "vi"),
            period_key=period.key,
        )
    return day


def default_value(field: FieldDef, today: dt.date) -> Any:
    """The field's configured default as a stored value ("today" for dates)."""
    if field.default is None:
        return None
    if field.type == FieldType.DATE and field.default == "today":
        return today.isoformat()
    return field.default


def format_value(field: FieldDef, value: Any, lang: str) -> str:
    """A stored value the way a Vietnamese officer writes it: 1.250.000 đ, 08/03/2026."""
    match field.type:
        case FieldType.INTEGER:
            shown = format_integer(int(value), lang)
            return f"{shown} {field.unit.get(lang)}" if field.unit else shown
        case FieldType.MONEY:
            return format_money(int(value), lang)
        case FieldType.NUMBER:
            shown = format_number(float(value), lang)
            return f"{shown} {field.unit.get(lang)}" if field.unit else shown
        case FieldType.DATE:
            return format_date(dt.date.fromisoformat(str(value)), lang)
        case FieldType.CHOICE:
            choice = field.choice(str(value))
            return choice.label.get(lang) if choice else str(value)
        case _:
            return str(value)
