"""Reading and writing the dates officers type in chat.

Day comes before month (8/3 is the 8th of March, Women's Day). Reports are
about things that already happened, so a date without a year is the most
recent such day, and a date after today is refused. "Today" is always passed
in: these functions never read the clock.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.errors import UserInputError
from domain.text import fold

__all__ = ["format_date", "parse_date", "parse_full_date"]

_MAX_CHARS = 100
# How far back a yearless day/month is looked for: 29/2 can be 8 years back
# (2096 → 2104, as 2100 is not a leap year); anything else is found at once.
_YEARS_BACK = 8

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

    Raises UserInputError("err.bad_date", text=...) when it is not a real
    date, and UserInputError("err.future_date", date="dd/mm/yyyy") when it
    is after `today`. Two-digit years are 20xx.
    """
    if len(text) > _MAX_CHARS:
        raise UserInputError("err.bad_date", text=text)
    folded = _PREFIX.sub("", fold(text).rstrip(".")).strip()

    if folded in _RELATIVE:
        return today - timedelta(days=_RELATIVE[folded])

    if match := _ISO.fullmatch(folded):
        year, month, day = (int(g) for g in match.groups())
        return _checked(year, month, day, today, text)
    if match := _DAY_MONTH_YEAR.fullmatch(folded):
        day, month = int(match.group(1)), int(match.group(3))
        year_text = match.group(4)
        year = 2000 + int(year_text) if len(year_text) == 2 else int(year_text)
        return _checked(year, month, day, today, text)
    if match := _WORDS.fullmatch(folded):
        day, month = int(match.group(1)), int(match.group(2))
        if match.group(3):
            return _checked(int(match.group(3)), month, day, today, text)
        return _latest(day, month, today, text)
    if match := _DAY_MONTH.fullmatch(folded):
        return _latest(int(match.group(1)), int(match.group(2)), today, text)
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


def _checked(year: int, month: int, day: int, today: date, text: str) -> date:
    """A real date, not after today."""
    try:
        result = date(year, month, day)
    except ValueError:
        raise UserInputError("err.bad_date", text=text) from None
    if result > today:
        raise UserInputError("err.future_date", date=format_date(result, "vi"))
    return result


def _latest(day: int, month: int, today: date, text: str) -> date:
    """The most recent `day`/`month` not after today ("20/12" on 5/1/2026 is 20/12/2025)."""
    for year in range(today.year, max(today.year - _YEARS_BACK - 1, 0), -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # 29/2 in a common year: look further back
        if candidate <= today:
            return candidate
    raise UserInputError("err.bad_date", text=text)


def format_date(d: date, lang: str) -> str:
    """dd/mm/yyyy in both languages: officers of both read the Vietnamese order."""
    del lang  # same in every language; kept so callers format everything alike
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
