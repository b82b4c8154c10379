"""Column encodings shared by the repositories (times are stored as UTC ISO-8601)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Iterable
from typing import Any

from storage.port import Row, Tx


def ts(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return value.astimezone(dt.UTC).isoformat()


def parse_ts(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw)


def opt_ts(raw: str | None) -> dt.datetime | None:
    return None if raw is None else dt.datetime.fromisoformat(raw)


def fetch_one(tx: Tx, sql: str, params: Iterable[Any] = ()) -> Awaitable[Row | None]:
    """One row in a single round trip (None if there is none)."""
    return tx.fetch_one(sql, tuple(params))


def fetch_all(tx: Tx, sql: str, params: Iterable[Any] = ()) -> Awaitable[list[Row]]:
    """All rows in a single round trip."""
    return tx.fetch_all(sql, tuple(params))
