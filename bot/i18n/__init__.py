"""Message catalogs (vi, en): every user-facing string lives here, not in code."""

from __future__ import annotations

import functools
import string
import tomllib
from enum import Enum
from functools import partial
from importlib import resources
from typing import Any

from domain.periods import Period

LANGUAGES = ("vi", "en")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


def load_catalog(lang: str) -> dict[str, str]:
    """One language's messages by key (a copy of what this process parsed)."""
    return dict(_parsed(lang))


@functools.cache
def _parsed(lang: str) -> dict[str, str]:
    """Parsed once per process: a command builds a Catalog more than once (its own words,
    the configuration's), and the TOML is most of a Catalog's cost."""
    raw = resources.files(__package__).joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(raw))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalog:
    """Looks a key up in the person's language, falling back to Vietnamese.

    A missing key or parameter is a bug, but the officer still gets a message:
    the key itself, rather than an exception in the middle of their report.
    A `Period` parameter is named in the same language ("6 tháng đầu năm
    2026"), and so are a `Rating` ("vững mạnh") and a `TieBreak`, so code
    anywhere, the domain included, passes these values, not words.
    """

    def __init__(self) -> None:
        self.messages = {lang: load_catalog(lang) for lang in LANGUAGES}

    def __call__(self, lang: str, key: str, /, **params: Any) -> str:
        table = self.messages.get(lang) or self.messages["vi"]
        template = table.get(key) or self.messages["vi"].get(key)
        if template is None:
            return key
        params = {name: self._word(lang, value) for name, value in params.items()}
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template

    def _word(self, lang: str, value: object) -> object:
        """A domain value that has words of its own, said in `lang`; anything else as is.

        An enum that names its catalog label (`label_key`: a Rating, a TieBreak) is known by
        that, not by its type: importing domain.scoring here would load pydantic into every
        command, `thidua --help` too.
        """
        if isinstance(value, Period):
            return value.name(partial(self, lang))
        if isinstance(value, Enum) and isinstance(label := getattr(value, "label_key", None), str):
            return self(lang, label)
        return value
