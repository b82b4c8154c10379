"""Typed button data, one scheme for every button: ``<prefix>:<field>:<field>…``.

Each feature declares its own classes (a frozen dataclass subclassing
:class:`CallbackData` with a ``prefix``); the router finds the class a pressed
button belongs to by its prefix and unpacks it. Buttons of a conversation
subclass :class:`FlowCallback`, whose first field is the flow id, so a button of
an older flow is recognised as stale. Whatever we did not produce (an unknown
prefix, a wrong field count, a value of the wrong type) unpacks to None and is
refused politely by the router.

Telegram returns at most 64 bytes of button data; :func:`fits` is the one place
that rule is checked, for every button the bot makes and every press it reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self, get_type_hints

from domain.messages import Button

MAX_BYTES = 64
SEP = ":"


def fits(raw: str) -> bool:
    """Within the 64 bytes of button data Telegram returns (the strictest messenger)."""
    return len(raw.encode()) <= MAX_BYTES


class CallbackData:
    """Base of every button's data; subclass as ``@dataclass(frozen=True)`` with a
    ``prefix: ClassVar[str]``. Fields are str, int or StrEnum; only the last may
    contain the separator."""

    prefix: ClassVar[str]

    def pack(self, seal: Callable[[str], str] | None = None) -> str:
        """The wire form; `seal` adds what proves who issued it (a per-chat signature)."""
        values = [_encode(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        if not self.prefix or SEP in self.prefix:
            raise ValueError(f"{type(self).__name__}: a prefix without {SEP!r} is needed")
        if any(SEP in v for v in values[:-1]):
            raise ValueError(f"{SEP!r} inside a field of {self!r}")
        while values and values[-1] == "" and len(values) > _required(type(self)):
            values.pop()  # trailing defaults are left out: shorter data
        raw = SEP.join([self.prefix, *values])
        if seal is not None:
            raw = seal(raw)
        if not fits(raw):
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {raw!r}")
        return raw

    @classmethod
    def unpack(cls, raw: str, unseal: Callable[[str], str | None] | None = None) -> Self | None:
        """The typed value of `raw`; None for anything this class did not produce (and,
        with `unseal`, for anything whose seal does not hold)."""
        if not fits(raw):
            return None
        if unseal is not None:
            opened = unseal(raw)
            if opened is None:
                return None
            raw = opened
        prefix, sep, rest = raw.partition(SEP)
        if prefix != cls.prefix:
            return None
        types = _field_types(cls)
        parts = rest.split(SEP, len(types) - 1) if sep and types else []
        if not _required(cls) <= len(parts) <= len(types):
            return None
        try:
            values = [_decode(t, p) for t, p in zip(types.values(), parts, strict=False)]
        except ValueError:
            return None
        return cls(**dict(zip(types, values, strict=False)))

    def button(
        self, label: str, *, nav: bool = False, seal: Callable[[str], str] | None = None
    ) -> Button:
        return Button(label=label, data=self.pack(seal), nav=nav)


@dataclass(frozen=True)
class FlowCallback(CallbackData):
    """A button of one conversation: the router acts on it only while that flow is open."""

    flow_id: str


def prefix_of(raw: str) -> str:
    return raw.partition(SEP)[0]


def _encode(value: object) -> str:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool):  # never a field type: refuse rather than write "True"
        raise ValueError("bool fields are not supported")
    return str(value)


def _decode(kind: Any, text: str) -> object:
    if kind is int:
        if not text.lstrip("-").isdigit():
            raise ValueError(text)
        return int(text)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return kind(text)
    return text


_TYPES: dict[type[CallbackData], dict[str, Any]] = {}


def _field_types(cls: type[CallbackData]) -> dict[str, Any]:
    """Field name → type, resolved once per class."""
    found = _TYPES.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        found = _TYPES[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return found


def _required(cls: type[CallbackData]) -> int:
    """How many leading fields have no default (an unpacked value must have them)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return len([f for f in fields if f.default is dataclasses.MISSING])
