"""Reading and writing the dates officers type in chat.

Day comes before month (8/3 is the 8th of March, Women's Day). Reports are
about things that already happened, so a date without a year is the most
recent such day, and a date after today is refused. "Today" is always passed
in: these functions never read the clock.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from domain.errors import UserInputError
from domain.text import fold

__all__ = ["format_date", "parse_date", "parse_full_date"]

_MAX_CHARS = 100
# Reports are about union work of living memory; year 0001 is a slip, not a date.
_MIN_YEAR = 1900

_RELATIVE: dict[str, int] = {
    "hom nay": 0,
    "nay": 0,
    "bua nay": 0,
    "today": 0,
    "hom qua": 1,
    "bua qua": 1,
    "yesterday": 1,
    "hom kia": 2,
    "day before yesterday": 2,
}
_PREFIX = re.compile(r"^(?:ngay|date|on)\s*")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
# 30/6/2025, 30-6-2025, 30.6.2025, 30/6/25 (the same separator twice).
_DAY_MONTH_YEAR = re.compile(
    r"([0-9]{1,2})\s*(?P<sep>[/.\-])\s*([0-9]{1,2})\s*(?P=sep)\s*([0-9]{4}|[0-9]{2})"
)
_DAY_MONTH = re.compile(r"([0-9]{1,2})\s*[/.\-]\s*([0-9]{1,2})")
# "8 tháng 3", "ngày 8 tháng 3 năm 2025"
_WORDS = re.compile(r"([0-9]{1,2})\s*thang\s*([0-9]{1,2})(?:\s*(?:nam|,)?\s*([0-9]{4}))?")


def parse_date(text: str, today: date) -> date:
    """The date in `text`: "8/3", "30/6/2025", "2025-06-30", "hôm qua"...

    A day that cannot exist is refused saying why (31/4: April has 30 days;
    29/2/2025: not a leap year; year 0001), never passed on as some other
    date. A date without a year is the latest such day within the last twelve
    months; a two-digit year is the nearest year not after today's ("15/6/95"
    is 1995, "1/9/25" is 2025). A date after `today` raises "err.future_date".
    """
    try:
        return _parse_date(text, today)
    except UserInputError as refusal:
        if refusal.key.startswith("dates."):
            refusal.with_hint("dates.examples")
        raise


def _parse_date(text: str, today: date) -> date:
    if len(text) > _MAX_CHARS:
        raise UserInputError("err.bad_date", text=text)
    folded = _PREFIX.sub("", fold(text).rstrip(".")).strip()

    if folded in _RELATIVE:
        return today - timedelta(days=_RELATIVE[folded])

    if match := _ISO.fullmatch(folded):
        year_text, month, day = match.group(1), int(match.group(2)), int(match.group(3))
        return _checked(_year(year_text, today), month, day, today)
    if match := _DAY_MONTH_YEAR.fullmatch(folded):
        day, month = int(match.group(1)), int(match.group(3))
        return _checked(_year(match.group(4), today), month, day, today)
    if match := _WORDS.fullmatch(folded):
        day, month = int(match.group(1)), int(match.group(2))
        if match.group(3):
            return _checked(_year(match.group(3), today), month, day, today)
        return _latest(day, month, today)
    if match := _DAY_MONTH.fullmatch(folded):
        return _latest(int(match.group(1)), int(match.group(2)), today)
    raise UserInputError("err.bad_date", text=text)


def parse_full_date(text: str) -> date:
    """A whole date, past or future: "28/06/2025", "28-6-2025" or ISO "2025-06-28".

    For the command line, where a day is chosen ahead (a reminders preview),
    so the year is required and no "not in the future" rule applies. Raises
    UserInputError("cli.bad_date", text=...) for anything else.
    """
    folded = text.strip()
    if len(folded) <= _MAX_CHARS:
        if match := _ISO.fullmatch(folded):
            year, month, day = (int(g) for g in match.groups())
        elif (match := _DAY_MONTH_YEAR.fullmatch(folded)) and len(match.group(4)) == 4:
            day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        else:
            raise UserInputError("cli.bad_date", text=text)
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise UserInputError("cli.bad_date", text=text)


def _year(typed: str, today: date) -> int:
    """A typed year; two digits are the nearest year not after today's (95 → 1995)."""
    if len(typed) != 2:
        year = int(typed)
        if year < _MIN_YEAR:
            raise UserInputError("dates.bad_year", year=typed)
        return year
    century = today.year - today.year % 100
    year = century + int(typed)
    return year if year <= today.year else year - 100


def _valid(year: int, month: int, day: int) -> date:
    """date(year, month, day), or the plain reason it does not exist."""
    if not 1 <= month <= 12:
        raise UserInputError("dates.no_month", month=month)
    days = calendar.monthrange(year, month)[1]
    if month == 2 and day == 29 and days == 28:
        raise UserInputError("dates.not_leap", year=year)
    if not 1 <= day <= days:
        raise UserInputError("dates.no_day", day=day, month=month, days=days)
    return date(year, month, day)


def _checked(year: int, month: int, day: int, today: date) -> date:
    """A real date, not after today."""
    result = _valid(year, month, day)
    if result > today:
        raise UserInputError("err.future_date", date=format_date(result, "vi"))
    return result


def _latest(day: int, month: int, today: date) -> date:
    """The latest `day`/`month` not after today, within a year ("20/12" on 5/1/2026
    is 20/12/2025); 29/2 in a year without it is refused, not moved years back."""
    if not 1 <= month <= 12:
        raise UserInputError("dates.no_month", month=month)
    year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    return _valid(year, month, day)


def format_date(d: date, lang: str) -> str:
    """dd/mm/yyyy in both languages: officers of both read the Vietnamese order."""
    del lang  # same in every language; kept so callers format everything alike
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
