"""Suggestions ("did you mean"): the closest known names to something mistyped.

One rule for every place that refuses a name (a TOML key, a unit code, a
role), so a typo anywhere gets the same kind of help.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, process

from domain.errors import UserInputError
from domain.models import Unit
from domain.text import fold

__all__ = ["closest", "unit_code"]


def closest(typed: str, known: Iterable[str], *, limit: int = 3, cutoff: float = 60) -> list[str]:
    """Up to `limit` known names like `typed`, best first (compared without diacritics)."""
    names = list(dict.fromkeys(known))
    if not typed or not names:
        return []
    folded = {name: fold(name) for name in names}
    matches = process.extract(
        fold(typed), folded, scorer=fuzz.WRatio, limit=limit, score_cutoff=cutoff
    )
    return [name for _, _, name in matches]


def unit_code(units: Mapping[str, Unit], typed: str) -> str:
    """The unit someone typed, by code or name (with or without diacritics); else
    "err.unknown_unit" with the closest names. The one resolution for every command."""
    wanted = fold(typed.strip())
    for code, unit in units.items():
        if wanted in {fold(code), fold(unit.name)}:
            return code
    known = {code: code for code in units} | {unit.name: code for code, unit in units.items()}
    found = dict.fromkeys(known[name] for name in closest(typed, known))
    suggestions = ", ".join(f"{units[code].name} ({code})" for code in found)
    raise UserInputError("err.unknown_unit", text=typed[:40], suggestions=suggestions or "—")
