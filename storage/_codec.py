"""Column encodings shared by the repositories (times are stored as UTC ISO-8601)."""

from __future__ import annotations

import datetime as dt


def ts(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return value.astimezone(dt.UTC).isoformat()


def parse_ts(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw)


def opt_ts(raw: str | None) -> dt.datetime | None:
    return None if raw is None else dt.datetime.fromisoformat(raw)
