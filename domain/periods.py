"""Reporting periods: years, emulation periods (đợt), quarters and months.

An emulation year has two periods: Đợt 1 from 1/1 to 30/6 and Đợt 2 from
1/7 to 31/12. Reports for a period stay open for a configurable number of
days after it ends. Pure functions: "today" is always passed in.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.errors import UserInputError
from domain.text import fold

__all__ = [
    "Period",
    "PeriodKind",
    "closes_on",
    "is_closed",
    "parse_period",
    "period_of",
]


class PeriodKind(StrEnum):
    YEAR = "year"
    HALF = "half"  # đợt thi đua: 1/1–30/6 and 1/7–31/12
    QUARTER = "quarter"
    MONTH = "month"


_COUNT = {PeriodKind.YEAR: 1, PeriodKind.HALF: 2, PeriodKind.QUARTER: 4, PeriodKind.MONTH: 12}
_MONTHS_PER = {PeriodKind.YEAR: 12, PeriodKind.HALF: 6, PeriodKind.QUARTER: 3, PeriodKind.MONTH: 1}
# Fixed English names: calendar.month_name follows the process locale.
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Period:
    """One period: `index` is 1 for a year, 1–2 for a half, 1–4 for a quarter, 1–12 for a month."""

    kind: PeriodKind
    year: int
    index: int

    def __post_init__(self) -> None:
        # A bad Period is a programming or data error, not something a person typed.
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")
        if not 1 <= self.index <= _COUNT[self.kind]:
            raise ValueError(f"{self.kind} index out of range: {self.index}")

    @property
    def start(self) -> date:
        """First day of the period."""
        return date(self.year, (self.index - 1) * _MONTHS_PER[self.kind] + 1, 1)

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        month = self.index * _MONTHS_PER[self.kind]
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def name_key(self, short: bool = False) -> tuple[str, dict[str, int]]:
        """The catalog key and parameters naming this period, e.g. ("period.half1", year=2026).

        The words live in the message catalogs ("6 tháng đầu năm 2026", "cả năm
        2025", "quý 3/2025", "tháng 11/2025"; short: "Q3/2025"), so the domain stays
        free of any language; `parse_period` reads every name back.
        """
        if self.kind is PeriodKind.YEAR:
            return ("period.short.year" if short else "period.year"), {"year": self.year}
        if self.kind is PeriodKind.HALF:
            half = f"period.short.half{self.index}" if short else f"period.half{self.index}"
            return half, {"year": self.year}
        numbered = {"index": self.index, "year": self.year}
        if self.kind is PeriodKind.QUARTER:
            return ("period.short.quarter" if short else "period.quarter"), numbered
        if short:
            return "period.short.month", numbered
        return f"period.month.m{self.index}", {"year": self.year}

    def name(self, t: Callable[..., str], short: bool = False) -> str:
        """This period's name through `t` (a translator already bound to a language)."""
        key, params = self.name_key(short)
        return t(key, **params)

    @functools.cached_property
    def key(self) -> str:
        """Stable identifier for storage and callbacks: 2025, 2025-H1, 2025-Q3, 2025-06.
        (Made once per period: rates and standings ask it thousands of times.)"""
        if self.kind is PeriodKind.YEAR:
            return f"{self.year:04d}"
        if self.kind is PeriodKind.HALF:
            return f"{self.year:04d}-H{self.index}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}-{self.index:02d}"

    @classmethod
    def from_key(cls, key: str) -> Period:
        """Inverse of `key`; ValueError for anything else (keys are not user input)."""
        match = _KEY.fullmatch(key)
        if match is None:
            raise ValueError(f"not a period key: {key!r}")
        year = int(match.group("year"))
        if match.group("half"):
            return cls(PeriodKind.HALF, year, int(match.group("half")))
        if match.group("quarter"):
            return cls(PeriodKind.QUARTER, year, int(match.group("quarter")))
        if match.group("month"):
            return cls(PeriodKind.MONTH, year, int(match.group("month")))
        return cls(PeriodKind.YEAR, year, 1)


_KEY = re.compile(
    r"(?P<year>[0-9]{4})(?:-H(?P<half>[0-9])|-Q(?P<quarter>[0-9])|-(?P<month>[0-9]{2}))?"
)


@functools.lru_cache(maxsize=8192)
def period_of(d: date, kind: PeriodKind) -> Period:
    """The period of `kind` that contains `d` (kept: the same months come again and again)."""
    return Period(kind, d.year, (d.month - 1) // _MONTHS_PER[kind] + 1)


def closes_on(period: Period, open_days: int) -> date:
    """Last day reports for `period` are accepted: its end plus `open_days`."""
    return period.end + timedelta(days=open_days)


def is_closed(period: Period, today: date, open_days: int) -> bool:
    """True once `today` is past the closing day."""
    return today > closes_on(period, open_days)


def _shift(period: Period, steps: int) -> Period:
    """The period `steps` away of the same kind ("quý trước" is -1)."""
    position = period.year * _COUNT[period.kind] + period.index - 1 + steps
    year, index = divmod(position, _COUNT[period.kind])
    return Period(period.kind, year, index + 1)


_KIND_WORDS: tuple[tuple[PeriodKind, str], ...] = (
    (PeriodKind.YEAR, r"nam|year"),
    (PeriodKind.HALF, r"dot|period|h"),
    (PeriodKind.QUARTER, r"quy|quarter|q"),
    (PeriodKind.MONTH, r"thang|month|t"),
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_YEAR_SUFFIX = r"(?:\s*[/\- ,]\s*(?P<year>[0-9]{4}))?"
_YEAR_ONLY = re.compile(r"(?:nam |year )?(?P<year>[0-9]{4})")
_NUMBERED = re.compile(
    r"(?P<word>nam|year|dot|period|h|quy|quarter|q|thang|month|t)\s*"
    r"(?P<index>[0-9]{1,2}|iv|iii|ii|i)(?![0-9a-z])" + _YEAR_SUFFIX
)
# "6 tháng đầu năm 2026", "6 tháng cuối năm", "first half of 2026": the names people use.
_HALF_WORDS = re.compile(
    r"(?:(?:6|sau) thang (?P<vi>dau|cuoi)(?: nam)?|(?P<en>first|second) half(?: of)?)"
    + _YEAR_SUFFIX
)
_WHOLE_YEAR = re.compile(r"(?:ca nam|full year|whole year)" + _YEAR_SUFFIX)
_MONTH_YEAR = re.compile(r"(?P<index>[0-9]{1,2})\s*[/\-]\s*(?P<year>[0-9]{4})")
_YEAR_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<index>[0-9]{1,2})")
_EN_MONTH = re.compile(r"(?P<name>[a-z]{3,9})" + _YEAR_SUFFIX)
_RELATIVE = re.compile(r"(?:(?P<word>nam|year|dot|period|quy|quarter|thang|month)\s*)?(?P<rel>.+)")
_THIS = {"nay", "hien tai", "this", "current", "now"}
_PREVIOUS = {"truoc", "vua qua", "ngoai", "last", "previous"}
_BARE_INDEX = re.compile(r"[0-9]{1,2}")


def _kind_of(word: str) -> PeriodKind:
    for kind, words in _KIND_WORDS:
        if re.fullmatch(words, word):
            return kind
    raise AssertionError(word)  # unreachable: the regexes list the same words


def parse_period(text: str, today: date, default_kind: PeriodKind = PeriodKind.HALF) -> Period:
    """The period in `text`: "2025", "6 tháng đầu năm 2026", "cả năm 2025", "đợt 1/2025",
    "Quý 3", "Q3/2025", "tháng 6", "T6/2025", "6/2025"...

    A missing year is today's year. Also reads every name the catalogs give a
    period (`Period.name_key`) and the keys this module writes, "tháng
    này"/"quý trước" (this/previous), and a bare index ("1") or "nay" as a
    period of `default_kind`. Anything else, or an index out of
    range ("đợt 3"), raises UserInputError("err.bad_period", text=...).
    """
    try:
        period = _parse_period(text, today, default_kind)
    except ValueError:  # Period() refused the index or year
        period = None
    if period is None:
        raise UserInputError("err.bad_period", text=text)
    return period


def _parse_period(text: str, today: date, default_kind: PeriodKind) -> Period | None:
    if len(text) > 100:
        return None
    s = fold(text)
    if _KEY.fullmatch(s.upper()):
        return Period.from_key(s.upper())
    if match := _YEAR_ONLY.fullmatch(s):
        return Period(PeriodKind.YEAR, int(match.group("year")), 1)
    if match := _HALF_WORDS.fullmatch(s):
        first = match.group("vi") == "dau" or match.group("en") == "first"
        return Period(PeriodKind.HALF, int(match.group("year") or today.year), 1 if first else 2)
    if match := _WHOLE_YEAR.fullmatch(s):
        return Period(PeriodKind.YEAR, int(match.group("year") or today.year), 1)
    if match := _NUMBERED.fullmatch(s):
        kind = _kind_of(match.group("word"))
        raw_index = match.group("index")
        index = _ROMAN.get(raw_index) or int(raw_index)
        year = int(match.group("year") or today.year)
        if kind is PeriodKind.YEAR:
            return None  # "năm 1" is not a year
        return Period(kind, year, index)
    if match := _MONTH_YEAR.fullmatch(s) or _YEAR_MONTH.fullmatch(s):
        return Period(PeriodKind.MONTH, int(match.group("year")), int(match.group("index")))
    if (match := _EN_MONTH.fullmatch(s)) and (month := _english_month(match.group("name"))):
        return Period(PeriodKind.MONTH, int(match.group("year") or today.year), month)
    if match := _RELATIVE.fullmatch(s):
        word, rel = match.group("word"), match.group("rel")
        kind = _kind_of(word) if word else default_kind
        if rel in _THIS:
            return period_of(today, kind)
        if rel in _PREVIOUS:
            return _shift(period_of(today, kind), -1)
    if _BARE_INDEX.fullmatch(s) and default_kind is not PeriodKind.YEAR:
        return Period(default_kind, today.year, int(s))
    return None


def _english_month(name: str) -> int | None:
    """1–12 for "june"/"jun", None otherwise."""
    for number, month in enumerate(_EN_MONTHS, start=1):
        lowered = month.lower()
        if name == lowered or name == lowered[:3]:
            return number
    return None
