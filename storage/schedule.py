"""Claims on scheduled firings: each (job, fire time) runs at most once, across restarts."""

from __future__ import annotations

import datetime as dt

from storage._codec import fetch_one, parse_ts, ts
from storage.db import Tx


async def claim(tx: Tx, job: str, fire_at: dt.datetime, now: dt.datetime, outcome: str) -> bool:
    """Take a firing; False when it was already taken (by this or another process)."""
    changed = await tx.execute(
        "INSERT INTO schedule_claims (job, fire_at, claimed_at, outcome) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (job, fire_at) DO NOTHING",
        (job, ts(fire_at), ts(now), outcome),
    )
    return changed == 1


async def last_fired(tx: Tx, job: str) -> dt.datetime | None:
    row = await fetch_one(tx, "SELECT MAX(fire_at) FROM schedule_claims WHERE job = ?", (job,))
    return parse_ts(row[0]) if row and row[0] else None
