"""Choices for channels without buttons (console, Zalo): numbered text out, numbers or names in."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.messages import Button, Reply
from domain.text import fold

_NOT_WORD = re.compile(r"[^\w\s/]")


def _name(label: str) -> str:
    return _NOT_WORD.sub("", fold(label)).strip()


def numbered(reply: Reply) -> list[Button]:
    return [b for b in reply.choice_buttons if not b.nav]


def render(reply: Reply) -> str:
    """The message text followed by "1. Tặng quà  2. Sự kiện …" and the words to type."""
    lines = [reply.text]
    options = numbered(reply)
    if options:
        lines.append("  ".join(f"{n}. {b.label}" for n, b in enumerate(options, start=1)))
    nav = [b.label for b in reply.choice_buttons if b.nav]
    if nav:
        lines.append("(" + " · ".join(nav) + ")")
    return "\n".join(lines)


def resolve(text: str, buttons: Sequence[Button]) -> Button | None:
    """The button a typed answer means: its number, or its name without diacritics.

    A number beyond the list or a name shared by two buttons resolves to
    nothing, and the text goes to the handler as typed, which explains.
    """
    if not buttons:
        return None
    options = [b for b in buttons if not b.nav]
    typed = _name(text)
    if typed.isdigit():
        index = int(typed) - 1
        return options[index] if 0 <= index < len(options) else None
    matches = [b for b in buttons if _name(b.label) == typed and typed]
    return matches[0] if len(matches) == 1 else None
