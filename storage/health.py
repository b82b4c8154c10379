"""Heartbeats of the running process, and the backlog figures `thidua status` shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from domain.models import Heartbeat
from storage._codec import fetch_one, parse_ts, ts
from storage.db import Tx


async def put(tx: Tx, beats: Sequence[Heartbeat]) -> None:
    await tx.executemany(
        "INSERT INTO heartbeats (component, last_ok, last_error, restarts, stale, checked_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (component) DO UPDATE SET "
        "last_ok = excluded.last_ok, last_error = excluded.last_error, "
        "restarts = excluded.restarts, stale = excluded.stale, checked_at = excluded.checked_at",
        [
            (
                b.component,
                ts(b.last_ok) if b.last_ok else None,
                b.last_error,
                b.restarts,
                int(b.stale),
                ts(b.checked_at),
            )
            for b in beats
        ],
    )


async def all_beats(tx: Tx) -> list[Heartbeat]:
    rows = await tx.fetch_all(
        "SELECT component, last_ok, last_error, restarts, stale, checked_at FROM heartbeats "
        "ORDER BY component"
    )
    return [
        Heartbeat(
            component=str(r[0]),
            last_ok=parse_ts(r[1]) if r[1] else None,
            last_error=r[2],
            restarts=int(r[3]),
            stale=bool(r[4]),
            checked_at=parse_ts(r[5]),
        )
        for r in rows
    ]


async def outbox_backlog(tx: Tx) -> tuple[int, dt.datetime | None]:
    """Messages not yet sent (pending), and when the oldest of them was written."""
    row = await fetch_one(
        tx, "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"
    )
    if row is None:
        return 0, None
    return int(row[0]), parse_ts(row[1]) if row[1] else None


async def last_tick(tx: Tx) -> dt.datetime | None:
    """When the scheduler last claimed a firing."""
    row = await fetch_one(tx, "SELECT MAX(claimed_at) FROM schedule_claims")
    return parse_ts(row[0]) if row and row[0] else None
