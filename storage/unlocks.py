"""Unlock requests: an officer asks to report or edit in a closed period ("xin mở khóa"),
a cluster head or an admin grants it for a while, or refuses.

A request is decided once: the decision is an UPDATE of a pending row, so of two
people pressing at once exactly one wins and the other is told who did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage._codec import fetch_all, fetch_one, opt_ts, parse_ts, ts
from storage.db import Tx


class UnlockStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class UnlockRequest:
    id: int
    unit: str
    period_key: str
    person_id: int  # who asked
    reason: str
    status: UnlockStatus
    asked_at: dt.datetime
    decided_by: int | None = None
    open_until: dt.datetime | None = None


def _request(row: Any) -> UnlockRequest:
    return UnlockRequest(
        id=row["id"],
        unit=row["unit_code"],
        period_key=row["period_key"],
        person_id=row["person_id"],
        reason=row["reason"],
        status=UnlockStatus(row["status"]),
        asked_at=parse_ts(row["asked_at"]),
        decided_by=row["decided_by"],
        open_until=opt_ts(row["open_until"]),
    )


async def ask(
    tx: Tx, unit: str, period_key: str, person_id: int, reason: str, now: dt.datetime
) -> UnlockRequest:
    row_id = await tx.insert(
        "INSERT INTO period_unlocks (unit_code, period_key, person_id, reason, status, asked_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (unit, period_key, person_id, reason, UnlockStatus.PENDING.value, ts(now)),
    )
    assert row_id is not None
    return UnlockRequest(row_id, unit, period_key, person_id, reason, UnlockStatus.PENDING, now)


async def get(tx: Tx, request_id: int) -> UnlockRequest | None:
    row = await fetch_one(tx, "SELECT * FROM period_unlocks WHERE id = ?", (request_id,))
    return None if row is None else _request(row)


async def pending(tx: Tx, unit: str, period_key: str) -> UnlockRequest | None:
    """The unit's request for this period still waiting for a decision, if any."""
    row = await fetch_one(
        tx,
        "SELECT * FROM period_unlocks WHERE unit_code = ? AND period_key = ? AND status = ? "
        "ORDER BY id LIMIT 1",
        (unit, period_key, UnlockStatus.PENDING.value),
    )
    return None if row is None else _request(row)


async def pending_in(tx: Tx, units: Sequence[str]) -> list[UnlockRequest]:
    """Requests of these units still waiting, oldest first."""
    if not units:
        return []
    marks = ",".join("?" * len(units))
    rows = await fetch_all(
        tx,
        f"SELECT * FROM period_unlocks WHERE status = ? AND unit_code IN ({marks}) ORDER BY id",
        (UnlockStatus.PENDING.value, *units),
    )
    return [_request(r) for r in rows]


async def decide(
    tx: Tx,
    request_id: int,
    status: UnlockStatus,
    by: int | None,
    now: dt.datetime,
    until: dt.datetime | None,
) -> bool:
    """Grant or refuse a pending request; False when it was decided already."""
    changed = await tx.execute(
        "UPDATE period_unlocks SET status = ?, decided_by = ?, decided_at = ?, open_until = ? "
        "WHERE id = ? AND status = ?",
        (
            status.value,
            by,
            ts(now),
            ts(until) if until is not None else None,
            request_id,
            UnlockStatus.PENDING.value,
        ),
    )
    return bool(changed)


async def open_periods(tx: Tx, unit: str, now: dt.datetime) -> frozenset[str]:
    """The period keys the unit may report in although closed: granted, not expired."""
    rows = await fetch_all(
        tx,
        "SELECT period_key FROM period_unlocks WHERE unit_code = ? AND status = ? "
        "AND open_until > ?",
        (unit, UnlockStatus.GRANTED.value, ts(now)),
    )
    return frozenset(r["period_key"] for r in rows)
