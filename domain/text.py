"""Text folding for matching what officers type without diacritics, and the
cleaning of free text before it is stored."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")

# Terminal escape sequences: CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \),
# and two-character escapes. Pasted from a terminal they would recolour or
# rewrite the screen of whoever later prints the report (CLI, logs, exports).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
)
# Bidirectional embeddings, overrides and isolates reorder how the rest of a
# line is shown ("Trojan Source"): nobody types them on purpose.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_CONTROLS = frozenset("\n\t")
# Letters and symbols that render as nothing: Hangul fillers (the classic
# "invisible name"), the braille blank, Khmer inherent vowels, the Mongolian
# vowel separator, the combining grapheme joiner.
INVISIBLE_GLYPHS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e\u034f\u200b\u200c\u200d\u2060\ufeff"
)


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


def clean_text(text: str) -> str:
    """Free text as it may be stored: no terminal escapes, no control characters.

    Escape sequences go whole (not just their ESC byte, which would leave
    "[31m" behind); other control characters and bidi overrides are dropped;
    newlines and tabs stay. NFC so that the same words compare equal however
    the phone composed the diacritics.
    """
    text = _ANSI.sub("", text)
    kept = (
        ch
        for ch in text
        if ch in _KEPT_CONTROLS or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    )
    return unicodedata.normalize("NFC", "".join(kept)).strip()


def clean_name(text: str, limit: int = 100) -> str:
    """A person's name as a platform sent it, fit to store and print: one line, no
    escapes or controls, no fillers; "" when nothing visible is left."""
    cleaned = "".join(ch for ch in clean_text(text) if ch not in INVISIBLE_GLYPHS)
    name = _SPACES.sub(" ", cleaned).strip()[:limit]
    return name if has_visible(name) else ""


def is_visible(ch: str) -> bool:
    """Whether `ch` draws something: not a space, control, format mark or filler."""
    if ch in INVISIBLE_GLYPHS or ch.isspace():
        return False
    return unicodedata.category(ch)[0] in "LNPS"


def has_visible(text: str) -> bool:
    """Whether any character of `text` would show on screen."""
    return any(is_visible(ch) for ch in text)


def wrap(text: str, width: int, indent: str = "   ") -> list[str]:
    """`text` in lines of at most `width` characters, broken only between words.

    Continuation lines start with `indent`. A number or word is never cut: one
    longer than a whole line (none is, at 40 characters) stays whole on its own
    line rather than lose its digits.
    """
    return wrap_atoms([text], width, indent=indent, sep=" ")


def wrap_atoms(
    atoms: list[str] | tuple[str, ...], width: int, *, indent: str = "   ", sep: str = " · "
) -> list[str]:
    """Join `atoms` with `sep`, breaking lines only between atoms (or, for an
    atom too long for a line, between its words), each line at most `width`."""
    lines: list[str] = []
    current = ""
    for atom in (a for a in atoms if a):
        candidate = f"{current}{sep}{atom}" if current else atom
        if len(candidate) <= width:
            current = candidate
            continue
        if current and len(indent + atom) <= width:
            lines.append(current)
            current = indent + atom
            continue
        # The atom does not fit on a line of its own: break it between words.
        body = atom.lstrip(" ")
        words = body.split(" ")
        words[0] = atom[: len(atom) - len(body)] + words[0]  # keep a leading indent
        for n, word in enumerate(words):
            glue = "" if not current else sep if n == 0 else " "
            candidate = f"{current}{glue}{word}"
            if current and len(candidate) > width:
                lines.append(current)
                candidate = indent + word
            current = candidate
    if current:
        lines.append(current)
    return lines


def clip_words(text: str, limit: int) -> str:
    """`text` within `limit` characters, dropping whole words (and adding "…"), never
    cutting one, for button labels."""
    if len(text) <= limit:
        return text
    kept = ""
    for word in text.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if len(candidate) + 1 > limit:
            break
        kept = candidate
    return (kept or text.split(" ")[0]) + "…"


def capitalized(text: str) -> str:
    """The first letter upper-case ("cả năm 2025" → "Cả năm 2025") for a line's start."""
    return text[:1].upper() + text[1:]
