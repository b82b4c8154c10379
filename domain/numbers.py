"""Reading and writing the numbers officers type in chat.

Vietnamese writes thousands with dots and decimals with a comma (1.250.000;
99,1%), some people type US style (80,000), and money comes in shorthand
(500k, 1tr5, 1 triệu rưỡi, 2 tỷ). Where a reading is genuinely open ("1.5":
one and a half, or a truncated 1.500?) we raise `AmbiguousNumber` so the bot
asks instead of guessing: a wrong figure in a report is worse than a question.

Everything works on `fold(text)`, so input typed without diacritics ("500
nghin", "1 trieu ruoi") reads the same. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import Enum

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

from domain.errors import AmbiguousNumber, UserInputError
from domain.text import INVISIBLE_GLYPHS, fold, truncate

__all__ = [
    "MAX_INPUT_CHARS",
    "Amount",
    "format_integer",
    "format_money",
    "format_number",
    "format_percent",
    "parse_integer",
    "parse_money",
    "parse_number",
    "scan_amounts",
]

MAX_INPUT_CHARS = 100
"""Longer input is not a number someone meant to type (and keeps parsing cheap)."""

_THOUSAND = Decimal(1000)
_MILLION = Decimal(1_000_000)

# --- tokens (all matched against folded, lower-case text) -------------------

# A numeral: either space-grouped thousands ("1 250 000", optional decimal
# part) or digits joined by dots/commas. Which separator means what is decided
# later by `_classify`, not by the regex.
_NUMERAL = re.compile(
    r"[0-9]{1,3}(?: [0-9]{3})+(?![0-9])(?:[.,][0-9]+)?(?![.,]?[0-9])"
    r"|[0-9]+(?:[.,][0-9]+)*"
)
_UNITS: dict[str, Decimal] = {
    "nghin": _THOUSAND,
    "ngan": _THOUSAND,
    "k": _THOUSAND,
    "trieu": _MILLION,
    "tr": _MILLION,
    "cu": _MILLION,
    "ty": Decimal(1_000_000_000),
    "ti": Decimal(1_000_000_000),
}
# "ti vi" (a TV, a common gift) is not "tỉ". "củ" (slang for a million) folds
# to the same "cu" as "cụ" (an elderly person, whom officers visit), so it is
# read only where the text is known to be money: `parse_money`.
# A unit word ends at a non-letter, or where a currency is glued on ("500kđ").
_WORD_END = r"(?!(?!(?:d|dong|vnd)(?![a-z]))[a-z])"
_UNIT = re.compile(r"\s*(nghin|ngan|trieu|tr|ty|ti|k)" + _WORD_END + r"(?!\s?vi(?![a-z]))")
_UNIT_MONEY = re.compile(r"\s*(nghin|ngan|trieu|tr|cu|ty|ti|k)" + _WORD_END + r"(?!\s?vi(?![a-z]))")
# "đ/c" is "đồng chí" (comrade), not đồng; "đ/căn" is đồng per house.
_CURRENCY = r"(?:vnd|dong|d(?!/c(?![a-z]))|₫)(?![a-z])"
_CURRENCY_AFTER = re.compile(r"\s*" + _CURRENCY)
_CURRENCY_BEFORE = re.compile(r"(?:₫|vnd(?![a-z]))\s*")
_SIGN = re.compile(r"([-−+])\s*")
_PERCENT = re.compile(r"\s*%")
_HALF = re.compile(r"\s*ruoi" + _WORD_END)
# Compound amounts: "1 tỷ 200 triệu", "2tr500k" (each further term has a smaller unit).
_TERM = re.compile(r"\s*([0-9]{1,3})(?![0-9.,])")
# "1tr5", "2tr50": digits glued to the unit are tenths/hundredths of it.
_FRAC_GLUED = re.compile(r"([0-9]{1,3})(?![0-9])(?![.,][0-9])")
# "1 tỷ 2": spaced digits count only at the end of the expression, so
# "2 triệu 20 suất" stays two amounts.
_FRAC_SPACED = re.compile(
    r"\s+([0-9]{1,3})(?![0-9])(?![.,][0-9])(?=\s*(?:$|" + _CURRENCY + r"|[^\w\s](?![0-9])))"
)


class _Shape(Enum):
    """How the separators in a numeral can be read."""

    PLAIN = "plain"  # 1500
    GROUPED = "grouped"  # 1.250.000, 1,250,000, 1 250 000: thousands, no doubt
    DECIMAL = "decimal"  # 1.250.000,5 / 80,000.5 / 0,5 / 1,2345: a decimal, no doubt
    SEP3 = "sep3"  # 1.500 / 1,500: thousands (value) or decimal (alt)
    DOT_SHORT = "dot_short"  # 1.5 / 2.25: decimal (value) or a typo for 15 (alt)
    COMMA_SHORT = "comma_short"  # 1,5 / 2,25: the Vietnamese decimal comma


@dataclass(frozen=True)
class _Numeral:
    shape: _Shape
    value: Decimal
    alt: Decimal | None = None
    padded: Decimal | None = None  # DOT_SHORT only: "1.5" read as a cut-off "1.500"


@dataclass(frozen=True)
class _Expr:
    """One number expression as typed, before any reading is chosen."""

    start: int
    end: int
    numeral: _Numeral
    unit: Decimal | None
    extra: Decimal  # compound terms, "1tr5" fractions and "rưỡi", already in đồng-units
    has_extra: bool
    percent: bool
    currency: bool
    negative: bool
    # "1tr5k": 1.005.000 as written, or 1.500.000 (the "1tr5" notation with a stray k).
    glued_alt: Decimal | None = None


class _Kind(Enum):
    INTEGER = "integer"
    NUMBER = "number"
    MONEY = "money"


def _classify(raw: str) -> _Numeral | None:
    """Decide what the dots and commas in `raw` can mean; None if nothing sensible."""
    if " " in raw:
        head, _, decimals = _split_spaced(raw)
        digits = head.replace(" ", "")
        if decimals:
            return _Numeral(_Shape.DECIMAL, Decimal(f"{digits}.{decimals}"))
        return _Numeral(_Shape.GROUPED, Decimal(digits))
    seps = re.findall(r"[.,]", raw)
    groups = re.split(r"[.,]", raw)
    if not seps:
        return _Numeral(_Shape.PLAIN, Decimal(raw))
    if len(set(seps)) == 2:
        decimal_sep = seps[-1]
        thousands = seps[:-1]
        if decimal_sep in thousands or not _valid_groups(groups[:-1]):
            return None
        return _Numeral(_Shape.DECIMAL, Decimal("".join(groups[:-1]) + "." + groups[-1]))
    if len(seps) >= 2:
        if not _valid_groups(groups):
            return None
        return _Numeral(_Shape.GROUPED, Decimal("".join(groups)))
    head, tail = groups
    as_decimal = Decimal(f"{head}.{tail}")
    if head.startswith("0"):
        # Thousands never start with 0, so "0,5" / "0.500" are plain decimals.
        shape = _Shape.COMMA_SHORT if len(tail) <= 2 else _Shape.DECIMAL
        return _Numeral(shape, as_decimal)
    if len(head) > 3:
        # "1234.5" cannot be thousands: the separator must be a decimal point.
        return _Numeral(_Shape.DECIMAL, as_decimal)
    if len(tail) == 3:
        return _Numeral(_Shape.SEP3, Decimal(head + tail), alt=as_decimal)
    if len(tail) <= 2:
        if seps[0] == ",":
            return _Numeral(_Shape.COMMA_SHORT, as_decimal)
        padded = Decimal(head) * _THOUSAND + Decimal(tail.ljust(3, "0"))
        return _Numeral(_Shape.DOT_SHORT, as_decimal, alt=Decimal(head + tail), padded=padded)
    return _Numeral(_Shape.DECIMAL, as_decimal)


def _split_spaced(raw: str) -> tuple[str, str, str]:
    """Split "1 250 000,5" into ("1 250 000", ",", "5")."""
    match = re.fullmatch(r"([0-9 ]+)(?:([.,])([0-9]+))?", raw)
    assert match is not None  # guaranteed by _NUMERAL
    return match.group(1), match.group(2) or "", match.group(3) or ""


def _valid_groups(groups: list[str]) -> bool:
    """Thousands groups: 1–3 leading digits (no leading zero), then exactly 3 each."""
    first, rest = groups[0], groups[1:]
    return (
        1 <= len(first) <= 3
        and not (first.startswith("0") and len(first) > 1)
        and first != "0"
        and all(len(group) == 3 for group in rest)
    )


def _read(s: str, pos: int, *, allow_sign: bool, unit_re: re.Pattern[str] = _UNIT) -> _Expr | None:
    """Read one number expression of folded text `s` starting exactly at `pos`."""
    start = pos
    negative = False
    if allow_sign and (sign := _SIGN.match(s, pos)):
        negative = sign.group(1) != "+"
        pos = sign.end()
    currency = False
    if prefix := _CURRENCY_BEFORE.match(s, pos):
        currency = True
        pos = prefix.end()
    numeral_match = _NUMERAL.match(s, pos)
    if numeral_match is None:
        return None
    numeral = _classify(numeral_match.group())
    if numeral is None:
        return None
    pos = numeral_match.end()

    unit: Decimal | None = None
    extra = Decimal(0)
    has_extra = False
    percent = False
    glued_alt: Decimal | None = None
    if unit_match := unit_re.match(s, pos):
        unit = _UNITS[unit_match.group(1)]
        pos = unit_match.end()
        last_unit = unit
        while (term := _TERM.match(s, pos)) and (next_unit := unit_re.match(s, term.end())):
            term_unit = _UNITS[next_unit.group(1)]
            if term_unit >= last_unit:
                break
            digits = term.group(1)
            width = len(str(int(last_unit / term_unit))) - 1  # tr → k: 3 digits
            if glued_alt is None and term.group(0) == digits and len(digits) < width:
                glued_alt = numeral.value * unit + extra + Decimal(f"0.{digits}") * last_unit
            extra += Decimal(digits) * term_unit
            has_extra = True
            last_unit = term_unit
            pos = next_unit.end()
        if half := _HALF.match(s, pos):
            extra += last_unit / 2
            has_extra = True
            pos = half.end()
        elif frac := (_FRAC_GLUED.match(s, pos) or _FRAC_SPACED.match(s, pos)):
            digits = frac.group(1)
            extra += Decimal(f"0.{digits}") * last_unit
            has_extra = True
            pos = frac.end()
    elif pct := _PERCENT.match(s, pos):
        percent = True
        pos = pct.end()
    if cur := _CURRENCY_AFTER.match(s, pos):
        currency = True
        pos = cur.end()
    return _Expr(
        start, pos, numeral, unit, extra, has_extra, percent, currency, negative, glued_alt
    )


def _number(value: Decimal) -> int | float:
    """An option or result as the plainest Python number (1500, not 1500.0)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _choose(text: str, options: tuple[Decimal, ...]) -> Decimal:
    """The value when every reading agrees ("0,0" is 0 either way), else ask which."""
    distinct: list[Decimal] = []
    for option in options:
        if option not in distinct:
            distinct.append(option)
    if len(distinct) == 1:
        return distinct[0]
    raise AmbiguousNumber(text, tuple(_number(o) for o in distinct))


def _evaluate(expr: _Expr, kind: _Kind, text: str) -> Decimal:
    """Choose the one reading of `expr` for `kind`, or raise why there is none."""
    numeral = expr.numeral
    if expr.percent and kind is not _Kind.NUMBER:
        raise UserInputError("numbers.percent", text=text)
    if expr.currency and kind is not _Kind.MONEY:
        raise UserInputError("numbers.money_here", text=text)  # "500.000đ" as a count
    if expr.negative:
        raise UserInputError("err.negative", text=text)

    if expr.unit is not None:
        unit = expr.unit
        if expr.has_extra and numeral.shape not in (_Shape.PLAIN, _Shape.GROUPED):
            raise UserInputError("numbers.not_a_number", text=text)  # "1,5tr5"
        if numeral.shape is _Shape.SEP3:
            assert numeral.alt is not None
            options = (numeral.value * unit + expr.extra, numeral.alt * unit + expr.extra)
            total = _choose(text, options)
        elif expr.glued_alt is not None:
            total = _choose(text, (numeral.value * unit + expr.extra, expr.glued_alt))
        else:
            total = numeral.value * unit + expr.extra
    elif numeral.shape is _Shape.SEP3:
        assert numeral.alt is not None
        if kind is _Kind.NUMBER:
            total = _choose(text, (numeral.value, numeral.alt))
        else:
            total = numeral.value
    elif numeral.shape is _Shape.DOT_SHORT:
        assert numeral.alt is not None and numeral.padded is not None
        if kind is _Kind.MONEY:
            options = (numeral.value * _MILLION, numeral.value * _THOUSAND)
        elif kind is _Kind.NUMBER:
            options = (numeral.value, numeral.alt)
        elif numeral.value == numeral.value.to_integral_value():
            options = (numeral.value, numeral.padded)  # "20.0": 20, or a cut-off 20.000
        else:
            options = (numeral.padded, numeral.alt)  # "1.5": 1.500, or a slip for 15
        total = _choose(text, options)
    elif numeral.shape is _Shape.COMMA_SHORT and kind is _Kind.MONEY:
        total = _choose(text, (numeral.value * _MILLION, numeral.value * _THOUSAND))
    else:
        total = numeral.value

    if kind is not _Kind.NUMBER and total != total.to_integral_value():
        raise UserInputError("err.not_integer", text=text)
    return total


# --- whole answers ------------------------------------------------------------
#
# A typed answer is read in full: [sign] [₫/VND] numeral [units…] [rưỡi] [%]
# [đ/đồng/VND] [count noun…] [.]. Whatever is left over is never dropped: the
# answer is refused with the reason, so "2 trieeuj", "500 USD", "12-" or
# "10 đến 15" cannot turn into 2 đ, 500 đ, 12 or 10.

_EXAMPLES = {
    _Kind.INTEGER: "numbers.examples.integer",
    _Kind.NUMBER: "numbers.examples.number",
    _Kind.MONEY: "numbers.examples.money",
}

# Full-width forms (some phone keyboards type "１２") are the same ASCII characters.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_LOOKS_LIKE_ZERO = "oOоОοΟ"  # Latin, Cyrillic, Greek
_LOOKS_LIKE_ONE = "lIіІӏ"  # Latin l and I, Cyrillic і, І and palochka
_LOOKALIKE_RUN = re.compile(rf"[0-9{_LOOKS_LIKE_ZERO}{_LOOKS_LIKE_ONE}.,]+")
_UNIT_WORD_AFTER = re.compile(r"(?:nghin|ngan|trieu|tr|cu|ty|ti|k|vnd|dong|d)(?![a-z])")

# Currencies other than the đồng, folded; a word boundary is added around letters.
_FOREIGN_CURRENCIES = (
    r"us\s?\$|\$|€|£|¥|₩|฿|₭|៛|₱|₹|₽|"
    r"(?:usd|usdt|dollars?|dola|do la|do my|do|eur|euros?|gbp|bang anh|yen|jpy|cny|rmb"
    r"|ndt|nhan dan te|te|won|krw|baht|bath|thb|kip|lak|riel|khr|sgd|aud|cad|chf|hkd|twd"
    r"|btc|bitcoin|rupee|inr|ruble|rub|peso|php)(?![a-z])"
)
_FOREIGN = re.compile(r"\s*(" + _FOREIGN_CURRENCIES + r")")
_FOREIGN_ANYWHERE = re.compile(r"(?<![a-z])(" + _FOREIGN_CURRENCIES + r")")

# Words a count or an amount may be followed by without changing it ("20 suất
# quà", "40 triệu/căn", "75,2% doanh nghiệp"); a field's own unit is added by
# the caller. Anything else after the number is refused, never ignored.
_NOUNS = frozenset(
    {
        "suat", "suat qua", "xuat", "phan", "phan qua", "qua", "goi qua", "nguoi",
        "nguoi tham du", "nguoi tham gia", "luot", "luot nguoi", "doan vien", "dv",
        "cong nhan", "cong nhan lao dong", "nguoi lao dong", "lao dong", "nld", "cnld",
        "nu", "nu doan vien", "chi em", "cai", "chiec", "can", "can nha", "nha", "ngoi nha",
        "mai am", "ho", "ho gia dinh", "gia dinh", "ho ngheo", "lan", "buoi", "cuoc", "dot",
        "hoi nghi", "hoi thao", "su kien", "chuong trinh", "hoat dong", "giai", "tran",
        "cdcs", "cd", "cong doan", "cong doan co so", "to chuc", "don vi", "thoa uoc",
        "ban", "thoa thuan", "sang kien", "de tai", "doanh nghiep", "dn", "cu", "cu gia",
        "em", "chau", "tre em", "thieu nhi", "hoc sinh", "hoc bong", "suat hoc bong",
        "ti vi", "tivi", "tv", "xe", "xe dap", "d/c", "dong chi", "benh nhan",
        "moi", "cho moi", "tren", "per", "each",
        "people", "person", "persons", "gift", "gifts", "event", "events", "member",
        "members", "union", "unions", "times", "pcs", "house", "houses", "visit", "visits",
        "agreement", "agreements", "initiative", "initiatives", "worker", "workers",
        "family", "families",
    }
)  # fmt: skip
# Read as whole phrases, never word by word: "chục" (ten) in "2 chục" must not
# pass as the second half of "tổ chức".
_MAX_PHRASE_WORDS = 4
_TAIL_WORD = re.compile(r"\s*(d/c|[a-z]+)(?![a-z])")
_TAIL_SLASH = re.compile(r"\s*/\s*(?=[a-z])")
_TAIL_END = re.compile(r"\s*[.!]?\s*$")
# What a range looks like: "10 đến 15", "10-15", "1 - 2 triệu", "10 hoặc 15".
_RANGE_SEP = re.compile(r"\s*(?:-|–|—|~|->|den|toi|hoac|hay|or|to)\s*(?=(?:₫\s*)?[0-9])")
_RANGE_INTRO = re.compile(r"(?:khoang tu|tu khoang|khoang|tam|tu)\s+(?=[0-9])")
# Digits glued to a symbol that is no number separator: "1_000_000", "5'000", "1#5".
_BAD_SEPARATOR = re.compile(r"([^\s\w.,%/\-–—~]|_)(?=[0-9])")
_NUMBER_AHEAD = re.compile(r"\s*[^a-z0-9\s]*\s*[0-9]|[a-z]+[0-9]")

# Unit words worth suggesting for a typo ("trieeuj" → triệu), as people write them.
_SUGGESTIONS = {
    "trieu": "triệu",
    "nghin": "nghìn",
    "ngan": "ngàn",
    "ty": "tỷ",
    "dong": "đồng",
    "ruoi": "rưỡi",
    "vnd": "VNĐ",
}


@dataclass(frozen=True)
class _Folded:
    """Folded text that remembers, for each character, where it came from."""

    text: str
    origin: tuple[int, ...]
    raw: str

    def shown(self, start: int, end: int) -> str:
        """What the person typed for the folded span [start, end), trimmed."""
        if start >= end:
            return ""
        return self.raw[self.origin[start] : self.origin[end - 1] + 1].strip()


def _fold_mapped(raw: str) -> _Folded:
    """`fold(raw)` character by character, keeping the way back to `raw`."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(raw):
        if ch in "đĐ":
            folded = "d"
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
        for c in folded:
            if c.isspace():
                if not chars or chars[-1] == " ":
                    continue
                c = " "
            chars.append(c)
            origin.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return _Folded("".join(chars), tuple(origin), raw)


def _screen(text: str) -> str:
    """Refuse characters that only look like digits; drop invisible marks.

    "①②", "²", "٣" or "5OO.OOO" must not become 12, 2, 3 or 5: they are
    refused with the character named. Full-width digits are ordinary digits.
    """
    text = text.translate(_FULLWIDTH)
    # Zero-width marks go; fillers that show as a gap stay a gap ("2ㅤ0" is not 20).
    text = "".join(
        " " if ch in _BLANK_GLYPHS else ch
        for ch in text
        if ch in _BLANK_GLYPHS or (unicodedata.category(ch) != "Cf" and ch not in INVISIBLE_GLYPHS)
    )
    for ch in text:
        category = unicodedata.category(ch)
        if (category == "Nd" and not "0" <= ch <= "9") or category in ("No", "Nl"):
            raise UserInputError("numbers.foreign_digit", text=text, char=ch)
    for run in _LOOKALIKE_RUN.finditer(text):
        letters = [ch for ch in run.group() if ch in _LOOKS_LIKE_ZERO + _LOOKS_LIKE_ONE]
        if not letters or not any(ch.isdigit() for ch in run.group()):
            continue
        before = text[run.start() - 1] if run.start() else " "
        after = fold(text[run.end() : run.end() + 6])
        if before.isalpha() or (after and after[0].isalpha() and not _UNIT_WORD_AFTER.match(after)):
            continue  # part of a word ("10lít" is a unit, not a misspelt 101)
        key = (
            "numbers.lookalike_zero" if letters[0] in _LOOKS_LIKE_ZERO else "numbers.lookalike_one"
        )
        raise UserInputError(key, text=text, letter=letters[0])
    return text


def _refuse_lead(f: _Folded, text: str) -> UserInputError:
    """No number where the answer starts: say what is there instead."""
    s = f.text
    if foreign := _FOREIGN.match(s):
        return UserInputError("numbers.currency", text=text, unit=f.shown(*foreign.span(1)))
    first_digit = next((i for i, ch in enumerate(s) if ch.isdigit()), None)
    if first_digit is None or first_digit == 0:
        return UserInputError("numbers.not_a_number", text=text)
    if foreign := _FOREIGN_ANYWHERE.search(s, 0, first_digit + 1):
        return UserInputError("numbers.currency", text=text, unit=f.shown(*foreign.span(1)))
    return UserInputError("numbers.lead", text=text, part=f.shown(0, first_digit))


def _check_tail(
    f: _Folded, pos: int, expr: _Expr, kind: _Kind, words: frozenset[str], text: str
) -> int | None:
    """Consume what may follow a number; the position of a range separator, if any.

    Raises the reason when something else is there.
    """
    s = f.text
    number = f.shown(expr.start, expr.end)
    first = True
    per = False  # "/căn": what follows is what the amount is per
    while not _TAIL_END.match(s, pos):
        if sep := _RANGE_SEP.match(s, pos):
            return sep.end()
        if first and (foreign := _FOREIGN.match(s, pos)):
            raise UserInputError("numbers.currency", text=text, unit=f.shown(*foreign.span(1)))
        if first and (bad := _BAD_SEPARATOR.match(s, pos)):
            raise UserInputError("numbers.separator", text=text, char=bad.group(1))
        if _NUMBER_AHEAD.match(s, pos):
            raise UserInputError("numbers.two_numbers", text=text)
        if slash := _TAIL_SLASH.match(s, pos):
            pos = slash.end()
            per = True
            continue
        if phrase_end := _noun_phrase(s, pos, words):
            phrase = s[pos:phrase_end].strip()
            if first and not per and kind is _Kind.MONEY and _counted(expr, phrase, words):
                raise UserInputError("numbers.count_here", text=text)
            pos = phrase_end
            first = False
            continue
        if word := _TAIL_WORD.match(s, pos):
            shown = f.shown(*word.span(1))
            suggestion = _suggest(word.group(1), kind)
            if suggestion and first:
                raise UserInputError(
                    "numbers.unit_suggest",
                    text=text,
                    word=shown,
                    number=number,
                    suggestion=suggestion,
                )
            raise UserInputError("numbers.word", text=text, word=shown, number=number)
        raise UserInputError(
            "numbers.extra", text=text, part=truncate(f.shown(pos, len(s)), 20), number=number
        )
    return None


_PER = frozenset({"moi", "cho moi", "tren", "per", "each"})


def _counted(expr: _Expr, phrase: str, words: frozenset[str]) -> bool:
    """ "20 suất" typed as an amount of money: a bare number of things, not đồng.

    "500k mỗi suất", "40 triệu/căn" and the field's own unit stay amounts.
    """
    bare = expr.unit is None and not expr.currency and not expr.has_extra
    return bare and phrase not in _PER and phrase not in words


def _noun_phrase(s: str, pos: int, words: frozenset[str]) -> int:
    """The end of the longest known noun phrase at `pos`, or 0."""
    found: list[re.Match[str]] = []
    at = pos
    while len(found) < _MAX_PHRASE_WORDS and (word := _TAIL_WORD.match(s, at)):
        found.append(word)
        at = word.end()
    for count in range(len(found), 0, -1):
        phrase = " ".join(w.group(1) for w in found[:count])
        if phrase in _NOUNS or phrase in words:
            return found[count - 1].end()
    return 0


def _suggest(word: str, kind: _Kind) -> str:
    """The unit a mistyped word most likely was ("trieeuj" → "triệu"), or ""."""
    if kind is _Kind.NUMBER:
        return ""
    close = difflib.get_close_matches(word, list(_SUGGESTIONS), n=1, cutoff=0.7)
    return _SUGGESTIONS[close[0]] if close and close[0] != word else ""


def _with_unit_of(first: _Expr, second: _Expr) -> _Expr:
    """ "1 - 2 triệu": the unit written once applies to both ends of the range."""
    if first.unit is not None or second.unit is None or first.percent:
        return first
    return replace(first, unit=second.unit, percent=second.percent)


def _read_range(
    f: _Folded, first: _Expr, at: int, kind: _Kind, words: frozenset[str], text: str
) -> Decimal:
    """ "10 đến 15": never pick one end; ask which, offering both when both are clear."""
    unit_re = _UNIT_MONEY if kind is _Kind.MONEY else _UNIT
    second = _read(f.text, at, allow_sign=False, unit_re=unit_re)
    refusal = UserInputError("numbers.range", text=text)
    if second is None:
        raise refusal
    if _check_tail(f, second.end, second, kind, words, text) is not None:
        raise refusal  # "1-2-3"
    try:
        low = _evaluate(_with_unit_of(first, second), kind, text)
        high = _evaluate(second, kind, text)
    except AmbiguousNumber:
        raise refusal from None
    if low == high:
        return low
    raise AmbiguousNumber(
        text,
        (_number(low), _number(high)),
        key="numbers.range",
        prompt_key="numbers.range_prompt",
    )


def _parse(text: str, kind: _Kind, words: Iterable[str] = ()) -> Decimal:
    """Shared front door: the whole answer is one number, or it is refused saying why."""
    try:
        return _parse_whole(text, kind, frozenset(fold(word) for word in words))
    except AmbiguousNumber:
        raise
    except UserInputError as refusal:
        raise refusal.with_hint(_EXAMPLES[kind]) from None


def _parse_whole(text: str, kind: _Kind, words: frozenset[str]) -> Decimal:
    if len(text.strip()) > MAX_INPUT_CHARS:
        raise UserInputError("err.too_long", text=text, max=MAX_INPUT_CHARS)
    f = _fold_mapped(_screen(text))
    if len(f.text) > MAX_INPUT_CHARS:  # folding can expand a few exotic characters
        raise UserInputError("err.too_long", text=text, max=MAX_INPUT_CHARS)
    unit_re = _UNIT_MONEY if kind is _Kind.MONEY else _UNIT
    start = intro.end() if (intro := _RANGE_INTRO.match(f.text)) else 0
    expr = _read(f.text, start, allow_sign=True, unit_re=unit_re)
    if expr is None:
        if f.text[start : start + 1].isdigit():
            raise UserInputError("numbers.grouping", text=text)  # "1.2.3", "01.500"
        raise _refuse_lead(f, text)
    range_at = _check_tail(f, expr.end, expr, kind, words, text)
    if range_at is not None:
        return _read_range(f, expr, range_at, kind, words, text)
    if intro:
        raise UserInputError("numbers.lead", text=text, part=f.shown(0, intro.end()))
    return _evaluate(expr, kind, text)


def parse_integer(text: str, words: Iterable[str] = ()) -> int:
    """A count ("20", "20 suất", "3.600", "5 nghìn"): dots/commas before 3 digits are thousands.

    Units multiply ("5 nghìn người" = 5000) because people write counts that way
    too; "củ" does not, as "20 cụ" (elderly people) folds to the same letters.
    `words` are extra nouns allowed after the number (the field's unit).
    """
    return int(_parse(text, _Kind.INTEGER, words))


def parse_number(text: str, words: Iterable[str] = ()) -> float:
    """A measure that may have decimals ("99,1", "70,37%"); the percent sign is dropped."""
    return float(_parse(text, _Kind.NUMBER, words))


def parse_money(text: str, words: Iterable[str] = ()) -> int:
    """An amount in whole đồng: "500k", "1tr5", "1 triệu rưỡi", "500.000đ", "1 tỷ 2"."""
    return int(_parse(text, _Kind.MONEY, words))


# --- free sentences ---------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    """A number found in a sentence; `start`/`end`/`raw` refer to `fold(text)`."""

    start: int
    end: int
    value: float
    is_money: bool
    raw: str


# Kept as separate patterns (not one alternation) so overlapping hits are all masked.
_NOT_AMOUNTS = tuple(
    re.compile(pattern)
    for pattern in (
        # 30/6/2025, 30-6-2025, 30.6.2025, 30/6/25
        r"(?<![0-9])[0-9]{1,2}\s*(?P<sep>[/.\-])\s*[0-9]{1,2}\s*(?P=sep)\s*"
        r"(?:[0-9]{4}|[0-9]{2})(?![0-9])",
        # 2025-06-30
        r"(?<![0-9])[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?![0-9])",
        # 8/3, and done/target like 31/20 or 855/492
        r"(?<![0-9])[0-9]+(?:\s*/\s*[0-9]+)+",
        # "ngày 8-3", "nhân dịp 8-3"
        r"(?:(?<=ngay )|(?<=dip )|(?<= le ))[0-9]{1,2}-[0-9]{1,2}(?![0-9])",
        # the "1.1–" of "1.1–30.6.2026"
        r"(?<![0-9])[0-9]{1,2}[./][0-9]{1,2}\s*[-–]\s*(?=[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4})",
        # 8h30, 14:00, 8h
        r"(?<![0-9])[0-9]{1,2}(?:[h:][0-9]{2}|h)(?![0-9a-z])",
        # periods and ordinals: năm 2025, tháng 6 (not "mỗi tháng 2 lần"), quý 1,
        # Q1, đợt 2, lần thứ 3, kỳ 2 (but "ký 3 bản" folds to the same "ky":
        # a count of things follows it)
        r"(?<![a-z])(?:nam\s*[0-9]{4}|(?<!moi )thang\s*[0-9]{1,2}"
        r"|(?:quy|q|dot|lan thu)\s*[0-9]{1,2}"
        r"|ky\s*[0-9]{1,2}(?![0-9])(?!\s*(?!nam(?![a-z]))[a-z]))(?![0-9])",
        # phone numbers
        r"(?<![0-9])0[0-9]{8,10}(?![0-9])",
    )
)
# A number starts after a non-alphanumeric, or after "x" as in "20 suất x500k";
# "q1", "h1", "mp3" are not amounts.
_CANDIDATE = re.compile(r"(?<![0-9a-wyz])(?:₫\s*)?[0-9]")
_DIGIT_RUN = re.compile(r"[0-9.,]*")


def _plain_value(expr: _Expr) -> Decimal:
    """The Vietnamese-convention reading, used where nobody can be asked."""
    numeral = expr.numeral
    base = numeral.value  # SEP3 → thousands; DOT_SHORT/COMMA_SHORT → decimal
    if expr.unit is None:
        return base
    return base * expr.unit + expr.extra


def scan_amounts(text: str) -> list[Amount]:
    """Every number expression in a free sentence, for quick reports.

    Positions (`start`, `end`) and `raw` refer to the *folded* text
    `fold(text)`, not to `text`. Dates (8/3, 30/6/2025), done/target pairs
    (31/20), times, phone numbers and period references (năm 2025, quý 1) are
    not amounts. `value` is the Vietnamese-convention reading (dot = thousands,
    comma = decimal, "1.5" = 1,5); re-parse `raw` with `parse_money` or
    `parse_number` to ask when it is ambiguous. Signs are ignored: dashes in
    chat are bullets and ranges far more often than negatives.
    """
    folded = fold(text)
    masked = bytearray(len(folded))  # 1 where a date, time, phone... sits
    for pattern in _NOT_AMOUNTS:
        for hit in pattern.finditer(folded):
            masked[hit.start() : hit.end()] = b"\x01" * (hit.end() - hit.start())
    found: list[Amount] = []
    pos = 0
    while candidate := _CANDIDATE.search(folded, pos):
        start = candidate.start()
        expr = _read(folded, start, allow_sign=False)
        if expr is None:
            digits = _DIGIT_RUN.match(folded, candidate.end())
            pos = digits.end() if digits else candidate.end()
            continue
        if any(masked[start : expr.end]):
            pos = expr.end  # skip the whole expression and the masked run after it
            while pos < len(folded) and masked[pos]:
                pos += 1
            continue
        if expr.has_extra and expr.numeral.shape not in (_Shape.PLAIN, _Shape.GROUPED):
            pos = expr.end  # "1,5tr5": no sensible reading
            continue
        value = float(_plain_value(expr))
        if expr.end - expr.start > MAX_INPUT_CHARS or not math.isfinite(value):
            pos = expr.end  # a run of digits nobody meant as an amount
            continue
        found.append(
            Amount(
                start=expr.start,
                end=expr.end,
                value=value,
                is_money=expr.unit is not None or expr.currency,
                raw=folded[expr.start : expr.end],
            )
        )
        pos = expr.end
    return found


# --- formatting -------------------------------------------------------------


# Enough digits that quantizing any float (up to 1e308) never overflows the context.
_WIDE = Context(prec=400)


def _locale(lang: str) -> str:
    """Babel locale for a chat language; anything but English gets Vietnamese."""
    return "en" if lang == "en" else "vi"


@functools.cache
def _babel(pattern: str, lang: str) -> tuple[NumberPattern, Locale]:
    """Babel's parsed pattern and locale, made once: `format_decimal` parses both on every
    call, which was most of the time a standings message took to word its numbers."""
    return parse_pattern(pattern), Locale.parse(_locale(lang))


def format_decimal_as(value: Decimal | int, pattern: str, lang: str) -> str:
    """`babel.numbers.format_decimal(value, format=pattern, locale=…)`, the same text."""
    return _formatted(str(value), isinstance(value, int), pattern, lang)


@functools.lru_cache(maxsize=16384)
def _formatted(text: str, whole: bool, pattern: str, lang: str) -> str:
    """Kept by the value's exact text (-0.00 and 1.50 are their own entries): a standings
    page words a few hundred numbers, mostly the same small ones, at ~30 µs each in Babel."""
    parsed, locale = _babel(pattern, lang)
    return str(parsed.apply(int(text) if whole else Decimal(text), locale))


def format_integer(n: int, lang: str) -> str:
    """1.250.000 (vi) or 1,250,000 (en)."""
    return format_decimal_as(n, "#,##0", lang)


def format_money(n: int, lang: str) -> str:
    """1.250.000 đ (vi) or 1,250,000 VND (en); parse_money reads both back."""
    suffix = "VND" if _locale(lang) == "en" else "đ"
    return f"{format_integer(n, lang)} {suffix}"


def _rounded(x: float, places: int) -> Decimal | None:
    """x to `places` decimals, halves away from zero as people (and Excel) round."""
    if not math.isfinite(x):
        return None
    with localcontext(_WIDE):
        return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_number(x: float, lang: str) -> str:
    """Up to 2 decimals, none for whole values: 70,37 / 1.250 (vi), 70.37 / 1,250 (en).

    Non-finite values (a ratio over a zero target) show as "—" rather than crash a report.
    """
    value = _rounded(x, 2)
    if value is None:
        return "—"
    with localcontext(_WIDE):  # Babel quantizes again in the current context
        return format_decimal_as(value, "#,##0.##", lang)


def format_percent(ratio: float, lang: str) -> str:
    """A ratio as a percentage with one decimal: 2.45 → 245,0% (vi), 245.0% (en)."""
    if not math.isfinite(ratio):
        return "—"
    return _percent_text(ratio, lang, math.copysign(1.0, ratio))


@functools.lru_cache(maxsize=4096)
def _percent_text(ratio: float, lang: str, sign: float) -> str:
    """Kept per value (and sign: -0.0 equals 0.0 as a key): every standings message words
    the same rates again."""
    with localcontext(_WIDE):
        value = (Decimal(repr(ratio)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return format_decimal_as(value, "#,##0.0", lang) + "%"
