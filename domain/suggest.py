"""Suggestions ("did you mean"): the closest known names to something mistyped.

One rule for every place that refuses a name (a TOML key, a unit code, a
role), so a typo anywhere gets the same kind of help.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz, process

from domain.text import fold

__all__ = ["closest"]


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
