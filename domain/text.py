"""Text folding for matching what officers type without diacritics."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d) and collapse spaces.

    "Tặng Quà" and "tang qua" fold to the same string, so officers typing on a
    keyboard without Vietnamese input are understood.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()


def truncate(text: str, limit: int) -> str:
    """Cut text to `limit` characters with an ellipsis, for previews."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
