"""Column encodings shared by the repositories (times are stored as UTC ISO-8601)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import aiosqlite


def ts(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return value.astimezone(dt.UTC).isoformat()


def parse_ts(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw)


def opt_ts(raw: str | None) -> dt.datetime | None:
    return None if raw is None else dt.datetime.fromisoformat(raw)


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    """One row in a single round trip to the database thread (None if there is none)."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """All rows in a single round trip (a cursor costs three: execute, fetch, close)."""
    return list(await conn.execute_fetchall(sql, tuple(params)))
