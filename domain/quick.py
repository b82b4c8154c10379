"""Quick reports: one free sentence → an indicator and the field values it states.

"tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3" → gifts, count 20,
value_per_gift 500.000, occasion 8/3. Guided by config only: indicator
keywords, field hints and choice aliases; nothing here knows about gifts.
Whatever the sentence leaves out is asked for afterwards, and nothing is saved
without the officer's ✅.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from domain.dates import parse_date
from domain.errors import UserInputError
from domain.models import FieldDef, FieldType, IndicatorDef
from domain.numbers import Amount, scan_amounts
from domain.text import fold

_DATE_PHRASE = re.compile(
    r"\b(hom nay|hom qua|hom kia|ngay \d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?)\b"
)
_WORD = re.compile(r"[a-z0-9]+")
_NUMBERS = re.compile(r"(?<![a-z0-9])[0-9][0-9.,]*(?![a-z0-9/])")
CONTEXT_WORDS = 3


@dataclass(frozen=True, slots=True)
class QuickParse:
    indicator: IndicatorDef
    values: dict[str, Any] = field(default_factory=dict)


def _contains(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", haystack) is not None


def detect_indicator(text: str, indicators: tuple[IndicatorDef, ...]) -> IndicatorDef | None:
    """The indicator whose longest keyword occurs in the text (ties: config order).

    Numbers are taken out first, so "thành lập 3 công đoàn cơ sở" still names
    "thanh lap cong doan co so".
    """
    folded = _NUMBERS.sub(" ", fold(text))
    folded = " ".join(folded.split())
    best: tuple[int, int] | None = None
    found: IndicatorDef | None = None
    for order, indicator in enumerate(indicators):
        for keyword in indicator.keywords:
            kw = fold(keyword)
            if kw and _contains(folded, kw):
                score = (len(kw), -order)
                if best is None or score > best:
                    best, found = score, indicator
    return found


def _words_before(folded: str, amount: Amount) -> str:
    return " ".join(_WORD.findall(folded[: amount.start])[-CONTEXT_WORDS:])


def _words_after(folded: str, amount: Amount) -> str:
    return " ".join(_WORD.findall(folded[amount.end :])[:CONTEXT_WORDS])


def _hint_score(f: FieldDef, before: str, after: str) -> int:
    score = 0
    for hint in (fold(h) for h in f.hints):
        if hint and _contains(before, hint):
            score = max(score, 2 + len(hint))
        if hint and _contains(after, hint):
            score = max(score, 1 + len(hint))
    return score


def parse_quick(
    text: str, indicators: tuple[IndicatorDef, ...], today: dt.date
) -> QuickParse | None:
    """Best-effort reading of a one-line report; None when no indicator is named."""
    indicator = detect_indicator(text, indicators)
    if indicator is None:
        return None
    folded = fold(text)
    values: dict[str, Any] = {}

    date_field = indicator.date_field
    date_match = _DATE_PHRASE.search(folded)
    if date_field is not None and date_match is not None:
        with contextlib.suppress(UserInputError):  # a bad date is simply asked for later
            values[date_field.code] = parse_date(date_match.group(1), today).isoformat()

    for f in indicator.fields:
        if f.type != FieldType.CHOICE:
            continue
        for choice in f.choices:
            names = [choice.label.vi, choice.label.en, *choice.aliases]
            if any(fold(n) and _contains(folded, fold(n)) for n in names):
                values[f.code] = choice.code
                break

    numeric = [
        f
        for f in indicator.fields
        if f.type in (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER)
    ]
    for amount in scan_amounts(text):
        if date_match and date_match.start() <= amount.start < date_match.end():
            continue
        before, after = _words_before(folded, amount), _words_after(folded, amount)
        wanted = FieldType.MONEY if amount.is_money else None
        candidates = [
            f
            for f in numeric
            if f.code not in values
            and ((f.type == FieldType.MONEY) == (wanted == FieldType.MONEY))
            and (f.type != FieldType.INTEGER or float(amount.value).is_integer())
        ]
        if not candidates:
            continue
        scored = sorted(candidates, key=lambda f: -_hint_score(f, before, after))
        chosen = scored[0]
        if _hint_score(chosen, before, after) == 0:
            required = [f for f in candidates if f.required]
            chosen = required[0] if required else candidates[0]
        value = amount.value
        values[chosen.code] = int(value) if chosen.type != FieldType.NUMBER else float(value)
    return QuickParse(indicator=indicator, values=values)
