""" "Không có hoạt động" declarations and reminder snoozes."""

from __future__ import annotations

import datetime as dt

from domain.obligations import NothingToReport
from storage._codec import fetch_all, fetch_one, parse_ts, ts
from storage.db import Tx


async def declare(
    tx: Tx, unit: str, obligation: str, period_key: str, person_id: int, now: dt.datetime
) -> bool:
    """Record that a unit had nothing to report; False if it had already said so."""
    changed = await tx.execute(
        "INSERT INTO declarations (unit_code, obligation, period_key, person_id, declared_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (unit_code, obligation, period_key) DO NOTHING",
        (unit, obligation, period_key, person_id, ts(now)),
    )
    return changed == 1


async def for_period(tx: Tx, obligation: str, period_key: str) -> list[NothingToReport]:
    rows = await fetch_all(
        tx,
        "SELECT unit_code, declared_at FROM declarations WHERE obligation = ? AND period_key = ?",
        (obligation, period_key),
    )
    return [
        NothingToReport(r["unit_code"], obligation, period_key, parse_ts(r["declared_at"]))
        for r in rows
    ]


async def snooze(
    tx: Tx, person_id: int, obligation: str, period_key: str, until: dt.datetime
) -> None:
    await tx.execute(
        "INSERT INTO snoozes (person_id, obligation, period_key, until) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (person_id, obligation, period_key) DO UPDATE SET until = excluded.until",
        (person_id, obligation, period_key, ts(until)),
    )


async def snoozed_until(
    tx: Tx, person_id: int, obligation: str, period_key: str
) -> dt.datetime | None:
    row = await fetch_one(
        tx,
        "SELECT until FROM snoozes WHERE person_id = ? AND obligation = ? AND period_key = ?",
        (person_id, obligation, period_key),
    )
    return parse_ts(row[0]) if row else None


async def snoozes_ending(
    tx: Tx, start: dt.datetime, end: dt.datetime
) -> list[tuple[int, str, str, dt.datetime]]:
    """(person, obligation, period, until) for snoozes that end in (start, end]."""
    rows = await fetch_all(
        tx,
        "SELECT person_id, obligation, period_key, until FROM snoozes "
        "WHERE until > ? AND until <= ?",
        (ts(start), ts(end)),
    )
    return [(r[0], r[1], r[2], parse_ts(r[3])) for r in rows]
