"""Typed conversation drafts: one frozen dataclass per flow, replaced, never mutated.

A flow keeps what the person has said so far in its draft; `Ctx.set_state` stores
the draft's JSON (by value: a fresh dict each time), and the flow reads it back
with :func:`load`, which validates it against the draft's class. A draft of an
older shape (saved before an upgrade) or a damaged one loads as None, and the
dispatcher ends that conversation with a polite note instead of failing on it.

Since a handler only ever holds a frozen copy, a rollback (a UserInputError
savepoint) restores exactly the state it read: nothing half-changed can leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, PlainSerializer, TypeAdapter, ValidationError

D = TypeVar("D")

Value = int | float | str
"""A field value as the form keeps it (numbers, ISO dates, choice codes, text)."""


def _pairs(raw: object) -> object:
    return tuple(raw.items()) if isinstance(raw, Mapping) else raw


Values = Annotated[
    tuple[tuple[str, Value], ...],
    BeforeValidator(_pairs),
    PlainSerializer(lambda pairs: dict(pairs), return_type=dict[str, Value]),
]
"""Field code → value, frozen (pairs in form order); stored as a JSON object."""

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[D]) -> TypeAdapter[D]:
    found = _ADAPTERS.get(kind)
    if found is None:
        found = _ADAPTERS[kind] = TypeAdapter(kind)
    return found


def dump(draft: object) -> dict[str, Any]:
    """The draft as plain JSON values, a new dict every time."""
    data: dict[str, Any] = _adapter(type(draft)).dump_python(draft, mode="json")
    return data


def load(kind: type[D], data: Mapping[str, Any]) -> D | None:
    """The draft of this kind stored as `data`; None when it is not one (an older shape)."""
    try:
        return _adapter(kind).validate_python(dict(data))
    except ValidationError:
        return None


def with_value(values: tuple[tuple[str, Value], ...], code: str, value: Value | None) -> Values:
    """`values` with `code` set (None: removed), in form order of first answer."""
    kept = dict(values)
    if value is None:
        kept.pop(code, None)
    else:
        kept[code] = value
    return tuple(kept.items())
