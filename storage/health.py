"""Heartbeats of the running processes (one row per process, one per process and loop),
and the backlog figures `thidua status` shows."""

from __future__ import annotations

import datetime as dt

from domain.models import Heartbeat, ProcessBeat
from storage._codec import fetch_one, parse_ts, ts
from storage.db import Tx


async def put(tx: Tx, process: ProcessBeat, forget_before: dt.datetime) -> None:
    """This process as it is now, with its loops' heartbeats; and forget the processes not
    seen since `forget_before` (gone long ago: killed, or their host retired)."""
    await tx.execute(
        "INSERT INTO processes (process, host, pid, roles, started_at, seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (process) DO UPDATE SET "
        "roles = excluded.roles, seen_at = excluded.seen_at",
        (
            process.key,
            process.host,
            process.pid,
            ",".join(process.roles),
            ts(process.started_at),
            ts(process.seen_at),
        ),
    )
    if process.beats:
        await _put_beats(tx, process)
    await tx.execute("DELETE FROM processes WHERE seen_at < ?", (ts(forget_before),))
    await tx.execute("DELETE FROM heartbeats WHERE process NOT IN (SELECT process FROM processes)")


async def _put_beats(tx: Tx, process: ProcessBeat) -> None:
    await tx.executemany(
        "INSERT INTO heartbeats "
        "(process, component, last_ok, last_error, restarts, stale, checked_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (process, component) DO UPDATE SET "
        "last_ok = excluded.last_ok, last_error = excluded.last_error, "
        "restarts = excluded.restarts, stale = excluded.stale, checked_at = excluded.checked_at",
        [
            (
                process.key,
                b.component,
                ts(b.last_ok) if b.last_ok else None,
                b.last_error,
                b.restarts,
                int(b.stale),
                ts(b.checked_at),
            )
            for b in process.beats
        ],
    )


async def forget(tx: Tx, key: str) -> None:
    """A process that stopped cleanly: nothing of it is left to show."""
    await tx.execute("DELETE FROM heartbeats WHERE process = ?", (key,))
    await tx.execute("DELETE FROM processes WHERE process = ?", (key,))


async def processes(tx: Tx) -> list[ProcessBeat]:
    """Every process that reported itself and was not forgotten, with its heartbeats."""
    beats: dict[str, list[Heartbeat]] = {}
    for r in await tx.fetch_all(
        "SELECT process, component, last_ok, last_error, restarts, stale, checked_at "
        "FROM heartbeats ORDER BY process, component"
    ):
        beats.setdefault(str(r[0]), []).append(
            Heartbeat(
                component=str(r[1]),
                last_ok=parse_ts(r[2]) if r[2] else None,
                last_error=r[3],
                restarts=int(r[4]),
                stale=bool(r[5]),
                checked_at=parse_ts(r[6]),
            )
        )
    rows = await tx.fetch_all(
        "SELECT process, host, pid, roles, started_at, seen_at FROM processes "
        "ORDER BY host, pid, started_at"
    )
    return [
        ProcessBeat(
            key=str(r[0]),
            host=str(r[1]),
            pid=int(r[2]),
            roles=tuple(role for role in str(r[3]).split(",") if role),
            started_at=parse_ts(r[4]),
            seen_at=parse_ts(r[5]),
            beats=tuple(beats.get(str(r[0]), ())),
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
