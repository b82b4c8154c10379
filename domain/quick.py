"""Quick reports: one free sentence → an indicator and the field values it states.

"tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3" → gifts, count 20,
value_per_gift 500.000, occasion 8/3. Guided by config only: indicator
keywords, field hints and units, choice aliases; nothing here knows about gifts.

A wrong figure in a report is worse than a question, so the reading is strict:

- keywords and hints match whole words of the folded text, after the dates of
  the line are taken out ("hôm qua" is a date, never the gift "quà");
- a number goes to a field only when the words right next to it say so: the
  field's hint or unit right after it ("20 suất"), or a hint right before it
  ("mỗi suất 500k"); a number no word places, or that two fields claim, is
  returned in `loose` for the officer to place;
- two numbers for one field, two choices for one choice field or two dates
  leave the field empty and listed in `unclear`;
- a line naming several indicators is not read at all until one is chosen
  (`mentioned_indicators`), and then numbers whose words belong to another
  mentioned indicator are set aside in `elsewhere`.

Whatever the sentence leaves out is asked for afterwards, and nothing is saved
without the officer's ✅.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.dates import parse_date
from domain.errors import AmbiguousNumber, UserInputError
from domain.models import FieldDef, FieldType, IndicatorDef
from domain.numbers import Amount, parse_integer, parse_money, parse_number, scan_amounts
from domain.text import fold

__all__ = [
    "Ambiguous",
    "Loose",
    "QuickParse",
    "detect_indicator",
    "mentioned_indicators",
    "number_for",
    "parse_quick",
    "read_line",
]

# Dates written in a line (on folded text). "8/3" alone is not here: it is as
# often the occasion (Women's Day) as the day, so only "ngày 8/3", a full
# date with its year, or words like "hôm qua" set the date.
_DATE_PHRASES = re.compile(
    r"(?<![a-z0-9])(?:"
    r"(?P<rel>hom nay|bua nay|hom qua|bua qua|hom kia)"
    r"|(?:ngay|vao|hom)\s*(?P<dm>[0-9]{1,2}\s*(?P<s1>[/.-])\s*[0-9]{1,2}"
    r"(?:\s*(?P=s1)\s*(?:[0-9]{4}|[0-9]{2}))?)"
    r"|(?:ngay\s*)?(?P<words>[0-9]{1,2}\s*thang\s*[0-9]{1,2}(?:\s*nam\s*[0-9]{4})?)"
    r"|(?:ngay\s*)?(?P<dmy>[0-9]{1,2}\s*(?P<s2>[/.-])\s*[0-9]{1,2}\s*(?P=s2)\s*[0-9]{4})"
    r"|(?:ngay\s*)?(?P<iso>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
    r"|ngay\s*(?P<day>[0-9]{1,2})(?![0-9])(?!\s*[/.-]\s*[0-9])(?!\s*thang)"
    r")(?![a-z0-9])"
)
_TOKEN = re.compile(r"[a-z0-9]+|%|[,;!?()\[\]]|\n")
_BREAKS = frozenset(",;!?()[]\n")
# Words that may stand between a hint and its number: "mỗi suất là 500k",
# "đạt được 75%", "khoảng 150 người".
_FILLERS = frozenset(
    {"la", "duoc", "khoang", "gan", "hon", "tren", "dat", "gom", "co", "voi", "tat", "ca", "x"}
)
_CURRENCY = re.compile(r"(?:^(?:₫|vnd))|(?:(?:vnd|dong|d|₫)$)")
_MONEY_UNITS = re.compile(r"[0-9](?:\s*)(?:k|tr|trieu|ty|ti|cu)(?![a-z])")
_NUMERIC = (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER)
_NUM = "#"  # a number's place in the token stream
_BREAK = "|"  # where context stops: punctuation, a date, the edge of a number


@dataclass(frozen=True, slots=True)
class Loose:
    """A number of the line that the words do not place in exactly one field."""

    raw: str  # folded, for reading: "150", "500.000d"
    fields: tuple[str, ...]  # the fields it could fill, in form order
    shown: str = field(default="", compare=False)  # as the officer typed it: "500.000đ"


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A number placed in a field whose notation reads two ways ("1.5")."""

    field: str
    raw: str
    options: tuple[float | int, ...]


@dataclass(frozen=True, slots=True)
class QuickParse:
    """What one line says for one indicator; every value was written by the officer."""

    indicator: IndicatorDef
    values: dict[str, Any] = field(default_factory=dict)
    loose: tuple[Loose, ...] = ()
    ambiguous: tuple[Ambiguous, ...] = ()
    unclear: tuple[str, ...] = ()  # fields the line answers twice: ask them
    errors: tuple[tuple[str, UserInputError], ...] = ()  # (field, why): a future date, "1,5 suất"
    elsewhere: tuple[str, ...] = ()  # numbers of another activity of the line, as typed


# ---- the line, cut into words ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    folded: str
    words: str  # the line for keywords: dates cut out (as "|"), numbers taken out
    tokens: tuple[str, ...]  # words, "%", "#" for each number, "|" for breaks
    amounts: tuple[Amount, ...]  # in token order; amounts[k] is the k-th "#"
    number_at: tuple[int, ...]  # token index of each amount
    dates: tuple[tuple[str, str], ...]  # (kind, text) of each date phrase


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(text):
        out.append(_BREAK if token in _BREAKS else token)
    return out


def read_line(text: str) -> _Line:
    """Cut a line into dates, numbers and words, so each is used for one thing only."""
    folded = fold(text)
    dates: list[tuple[int, int, str, str]] = []
    for m in _DATE_PHRASES.finditer(folded):
        kind = next(k for k in ("rel", "dm", "words", "dmy", "iso", "day") if m.group(k))
        dates.append((m.start(), m.end(), kind, m.group(kind)))
    amounts = [
        a for a in scan_amounts(text) if not any(s < a.end and a.start < e for s, e, _, _ in dates)
    ]
    spans = sorted(
        [(s, e, _BREAK) for s, e, _, _ in dates] + [(a.start, a.end, _NUM) for a in amounts]
    )
    tokens: list[str] = []
    words: list[str] = []
    number_at: list[int] = []
    pos = 0
    for start, end, kind in spans:
        chunk = _tokens(folded[pos:start])
        tokens += chunk
        words.append(folded[pos:start])
        if kind == _NUM:
            number_at.append(len(tokens))
            tokens.append(_NUM)
            if folded[start:end].endswith("%"):
                tokens.append("%")
        else:
            tokens.append(_BREAK)
            words.append(" | ")
        pos = end
    tokens += _tokens(folded[pos:])
    words.append(folded[pos:])
    joined = " ".join(" ".join(words).split())
    return _Line(
        folded=folded,
        words=joined,
        tokens=tuple(tokens),
        amounts=tuple(amounts),
        number_at=tuple(number_at),
        dates=tuple((kind, value) for _, _, kind, value in dates),
    )


def _as_typed(text: str, start: int, end: int) -> str:
    """The characters of `text` behind `fold(text)[start:end]`, so questions quote the officer.

    Falls back to the folded slice where the two cannot be lined up one to one.
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        base = unicodedata.normalize("NFKD", ch.replace("đ", "d").replace("Đ", "D"))
        for c in "".join(c for c in base if not unicodedata.combining(c)).lower():
            if c.isspace() and (not chars or chars[-1] == " "):
                continue  # runs of spaces fold to one; leading ones to none
            chars.append(" " if c.isspace() else c)
            origin.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    folded = fold(text)
    if "".join(chars) != folded or not 0 <= start < end <= len(origin):
        return folded[start:end]
    return text[origin[start] : origin[end - 1] + 1]


def _contains(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", haystack) is not None


def _spans(haystack: str, needle: str) -> Iterable[tuple[int, int]]:
    for m in re.finditer(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", haystack):
        yield m.start(), m.end()


# ---- which indicator ---------------------------------------------------------------------


def mentioned_indicators(text: str, indicators: Sequence[IndicatorDef]) -> tuple[IndicatorDef, ...]:
    """Every indicator whose keyword the line names, in the order they appear.

    Keywords match whole words of the folded line with its dates cut out and
    its numbers taken out ("thành lập 3 công đoàn cơ sở" names "thanh lap
    cong doan co so"; "hôm qua" never names "quà"). Where two keywords
    overlap, the longer one stands ("phát triển đoàn viên mới" is one
    activity, not "đoàn viên mới" as well).
    """
    words = read_line(text).words
    hits: list[tuple[int, int, int, IndicatorDef]] = []
    for order, indicator in enumerate(indicators):
        for keyword in indicator.keywords:
            kw = fold(keyword)
            if kw:
                hits += [(s, e, order, indicator) for s, e in _spans(words, kw)]
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[2], h[0]))
    kept: list[tuple[int, int, int, IndicatorDef]] = []
    for hit in hits:
        if all(hit[1] <= k[0] or k[1] <= hit[0] for k in kept):
            kept.append(hit)
    result: list[IndicatorDef] = []
    for _, _, _, indicator in sorted(kept, key=lambda h: h[0]):
        if indicator not in result:
            result.append(indicator)
    return tuple(result)


def detect_indicator(text: str, indicators: Sequence[IndicatorDef]) -> IndicatorDef | None:
    """The one indicator the line names; None when it names none or several."""
    found = mentioned_indicators(text, indicators)
    return found[0] if len(found) == 1 else None


# ---- which field a number belongs to -----------------------------------------------------


def _field_words(f: FieldDef) -> list[tuple[str, ...]]:
    """The hints and unit words of a field, as token tuples."""
    words = [*f.hints]
    if f.unit is not None:
        words += [f.unit.vi, f.unit.en]
    out: list[tuple[str, ...]] = []
    for w in words:
        toks = tuple(_tokens(fold(w)))
        if toks and _BREAK not in toks and toks not in out:
            out.append(toks)
    return out


def _after(tokens: Sequence[str], i: int) -> list[str]:
    """The words right after token i, up to the next number or break."""
    out: list[str] = []
    for tok in tokens[i + 1 :]:
        if tok in (_NUM, _BREAK):
            break
        out.append(tok)
    return out


def _before(tokens: Sequence[str], i: int) -> tuple[list[str], bool]:
    """The words right before token i, and whether a number stands before them."""
    out: list[str] = []
    j = i - 1
    while j >= 0 and tokens[j] not in (_NUM, _BREAK):
        out.insert(0, tokens[j])
        j -= 1
    return out, j >= 0 and tokens[j] == _NUM


def _strip_fillers(words: list[str]) -> list[str]:
    while words and words[-1] in _FILLERS:
        words = words[:-1]
    return words


def _kind_fits(f: FieldDef, raw: str) -> bool:
    """Whether the notation can be this field's: money only to money, % only to numbers."""
    if raw.endswith("%"):
        return f.type == FieldType.NUMBER
    if _CURRENCY.search(raw) or _MONEY_UNITS.search(raw):
        return f.type == FieldType.MONEY
    return True


def _claims(
    fields: Sequence[FieldDef],
    vocabulary: Sequence[tuple[str, ...]],
    tokens: Sequence[str],
    i: int,
) -> list[FieldDef]:
    """The fields whose words stand next to the number at token i (longest match wins).

    A hint or unit right after the number comes first ("20 suất"). A hint
    before it ("mỗi suất 500k") counts only when no counted thing follows the
    number: "tặng quà 20 đoàn viên" is 20 people, not 20 gifts.
    """
    after = _after(tokens, i)
    best: list[FieldDef] = []
    best_len = 0
    for f in fields:
        for words in _field_words(f):
            n = len(words)
            if tuple(after[:n]) == words and n >= best_len:
                best, best_len = ([f] if n > best_len else [*best, f]), n
    if best or _starts_with_any(after, vocabulary):
        return best
    before, numbered = _before(tokens, i)
    before = _strip_fillers(before)
    for f in fields:
        for words in _field_words(f):
            n = len(words)
            if len(before) < n or tuple(before[-n:]) != words:
                continue
            if len(before) == n and numbered:
                continue  # "20 suất 500k": "suất" is the 20's unit, not a hint for 500k
            if n >= best_len:
                best, best_len = ([f] if n > best_len else [*best, f]), n
    return best


def _starts_with_any(words: Sequence[str], vocabulary: Iterable[tuple[str, ...]]) -> bool:
    head = tuple(words)
    return any(head[: len(w)] == w for w in vocabulary)


def _vocabulary(indicators: Iterable[IndicatorDef]) -> list[tuple[str, ...]]:
    """Every hint and unit word of the numeric fields: the things a number can count."""
    return [w for i in indicators for f in i.fields if f.type in _NUMERIC for w in _field_words(f)]


def number_for(f: FieldDef, raw: str) -> int | float:
    """A number of the line read as field `f` reads it; raises AmbiguousNumber/UserInputError."""
    if f.type == FieldType.INTEGER:
        return parse_integer(raw)
    if f.type == FieldType.MONEY:
        return parse_money(raw)
    return parse_number(raw)


# ---- reading a line for one indicator ----------------------------------------------------


def parse_quick(
    text: str,
    indicators: Sequence[IndicatorDef],
    today: dt.date,
    *,
    indicator: IndicatorDef | None = None,
) -> QuickParse | None:
    """What the line says for `indicator` (or the one indicator it names).

    None when no indicator is given and the line names none, or several: then
    the officer is asked which (`mentioned_indicators`). Values are as
    written; bounds and periods are checked by the caller.
    """
    mentioned = mentioned_indicators(text, indicators)
    if indicator is None:
        if len(mentioned) != 1:
            return None
        indicator = mentioned[0]
    others = [i for i in mentioned if i.code != indicator.code]
    line = read_line(text)
    values: dict[str, Any] = {}
    unclear: list[str] = []
    errors: list[tuple[str, UserInputError]] = []

    date_field = indicator.date_field
    if date_field is not None and line.dates:
        days: set[dt.date] = set()
        for kind, written in line.dates:
            if kind == "day":  # "ngày 15": which month is not said
                unclear.append(date_field.code)
                continue
            try:
                days.add(parse_date(written, today))
            except UserInputError as exc:
                errors.append((date_field.code, exc))
        if len(days) > 1:
            unclear.append(date_field.code)
        elif days and not errors and not unclear:
            values[date_field.code] = days.pop().isoformat()

    for f in indicator.fields:
        if f.type != FieldType.CHOICE:
            continue
        chosen = {
            c.code
            for c in f.choices
            if any(
                fold(n) and _contains(line.words, fold(n))
                for n in (c.label.vi, c.label.en, *c.aliases)
            )
        }
        if len(chosen) == 1:
            values[f.code] = chosen.pop()
        elif chosen:
            unclear.append(f.code)

    numeric = [f for f in indicator.fields if f.type in _NUMERIC]
    other_words = _vocabulary(others)
    other_fields = [f for i in others for f in i.fields if f.type in _NUMERIC]
    vocabulary = _vocabulary(indicators)
    placed: dict[str, list[str]] = {}
    loose: list[Loose] = []
    elsewhere: list[str] = []
    for amount, at in zip(line.amounts, line.number_at, strict=True):
        raw = amount.raw
        fits = [f for f in numeric if _kind_fits(f, raw)]
        claimed = [f for f in _claims(numeric, vocabulary, line.tokens, at) if f in fits]
        theirs = _claims(other_fields, vocabulary, line.tokens, at) if others else []
        if len(claimed) == 1 and not theirs:
            placed.setdefault(claimed[0].code, []).append(raw)
            continue
        if not claimed and (theirs or _starts_with_any(_after(line.tokens, at), other_words)):
            elsewhere.append(_as_typed(text, amount.start, amount.end))  # the other activity's
            continue
        options = claimed or fits
        shown = _as_typed(text, amount.start, amount.end)
        loose.append(Loose(raw, tuple(f.code for f in options), shown))

    ambiguous: list[Ambiguous] = []
    for code, raws in placed.items():
        placed_field = indicator.field(code)
        assert placed_field is not None
        if len(raws) > 1:
            unclear.append(code)  # "20 suất ... 30 suất": which one is not ours to guess
            continue
        try:
            values[code] = number_for(placed_field, raws[0])
        except AmbiguousNumber as exc:
            ambiguous.append(Ambiguous(code, raws[0], exc.options))
        except UserInputError as exc:
            errors.append((code, exc))

    return QuickParse(
        indicator=indicator,
        values=values,
        loose=tuple(loose),
        ambiguous=tuple(ambiguous),
        unclear=tuple(dict.fromkeys(unclear)),
        errors=tuple(errors),
        elsewhere=tuple(elsewhere),
    )
