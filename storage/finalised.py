"""Finalised periods: the snapshot each cluster's period was closed with, and their trail.

A snapshot row is written once and never updated but for being marked
reopened (who, when, why); at most one row per cluster and period stands (a
partial unique index), so two people finalising at once cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from domain.models import ReportStatus, ReviewState
from domain.snapshots import Snapshot
from storage._codec import fetch_all, fetch_one, parse_ts, ts
from storage.db import Tx
from storage.totals import unit_filters


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One finalising or reopening of a cluster's period."""

    action: str  # "finalised" | "reopened"
    person_id: int | None  # None: the command line's operator
    at: dt.datetime
    reason: str | None
    person_name: str | None = None  # None: the operator, or a person no longer known


@dataclass(frozen=True, slots=True)
class Reopened:
    """A snapshot that no longer stands: who reopened its period, when and why."""

    snapshot: Snapshot
    by: int | None
    at: dt.datetime
    reason: str


async def standing(tx: Tx, cluster: str, period_key: str) -> Snapshot | None:
    """The snapshot a cluster's period stands finalised with (None: not finalised)."""
    row = await fetch_one(
        tx,
        "SELECT id, snapshot_json FROM finalised_periods "
        "WHERE cluster_code = ? AND period_key = ? AND reopened_at IS NULL",
        (cluster, period_key),
    )
    return None if row is None else Snapshot.from_json(row["snapshot_json"], id=row["id"])


async def store(tx: Tx, snapshot: Snapshot) -> Snapshot | None:
    """Keep the snapshot; None when the period already stands finalised (someone was
    first), so the caller can say by whom."""
    row_id = await tx.insert(
        "INSERT INTO finalised_periods (cluster_code, year, period_key, finalised_at, "
        "finalised_by, snapshot_json) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            snapshot.cluster,
            snapshot.period.year,
            snapshot.period.key,
            ts(snapshot.finalised_at),
            snapshot.finalised_by,
            snapshot.to_json(),
        ),
    )
    if row_id is None:
        return None
    await _audit(
        tx,
        snapshot.cluster,
        snapshot.period.key,
        "finalised",
        snapshot.finalised_by,
        snapshot.finalised_at,
        None,
    )
    return Snapshot.from_json(snapshot.to_json(), id=row_id)


async def reopen(tx: Tx, snapshot: Snapshot, by: int | None, now: dt.datetime, reason: str) -> bool:
    """Mark the standing snapshot reopened (it stays, as it was); False if it no longer
    stood (reopened meanwhile)."""
    changed = await tx.execute(
        "UPDATE finalised_periods SET reopened_at = ?, reopened_by = ?, reopen_reason = ? "
        "WHERE id = ? AND reopened_at IS NULL",
        (ts(now), by, reason, snapshot.id),
    )
    if changed:
        await _audit(tx, snapshot.cluster, snapshot.period.key, "reopened", by, now, reason)
    return bool(changed)


async def reopened(tx: Tx, cluster: str, period_key: str) -> list[Reopened]:
    """The snapshots of a cluster's period that were reopened, oldest first."""
    rows = await fetch_all(
        tx,
        "SELECT id, snapshot_json, reopened_by, reopened_at, reopen_reason "
        "FROM finalised_periods WHERE cluster_code = ? AND period_key = ? "
        "AND reopened_at IS NOT NULL ORDER BY id",
        (cluster, period_key),
    )
    return [
        Reopened(
            Snapshot.from_json(r["snapshot_json"], id=r["id"]),
            r["reopened_by"],
            parse_ts(r["reopened_at"]),
            r["reopen_reason"] or "",
        )
        for r in rows
    ]


async def trail(tx: Tx, cluster: str, period_key: str) -> list[AuditEntry]:
    """Every finalising and reopening of a cluster's period, oldest first, with who did it."""
    rows = await fetch_all(
        tx,
        "SELECT a.action, a.person_id, a.at, a.reason, p.name AS person_name "
        "FROM period_audit a LEFT JOIN people p ON p.id = a.person_id "
        "WHERE a.cluster_code = ? AND a.period_key = ? ORDER BY a.at, a.id",
        (cluster, period_key),
    )
    return [
        AuditEntry(r["action"], r["person_id"], parse_ts(r["at"]), r["reason"], r["person_name"])
        for r in rows
    ]


async def _audit(
    tx: Tx,
    cluster: str,
    period_key: str,
    action: str,
    person_id: int | None,
    at: dt.datetime,
    reason: str | None,
) -> None:
    await tx.execute(
        "INSERT INTO period_audit (cluster_code, period_key, action, person_id, at, reason) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (cluster, period_key, action, person_id, ts(at), reason),
    )


async def report_ids(
    tx: Tx, unit_codes: Sequence[str], start: dt.date, end: dt.date, *, accepted_only: bool
) -> dict[tuple[str, str], list[int]]:
    """(unit, indicator) → the ids of the reports standings count in [start, end]: every
    report not retracted, or (`accepted_only`, [review] standings) the accepted ones."""
    out: dict[tuple[str, str], list[int]] = {}
    accepted = "review = ? AND " if accepted_only else ""
    for units, chosen in unit_filters(list(unit_codes), "unit_code"):
        rows = await fetch_all(
            tx,
            f"SELECT id, unit_code, indicator FROM reports WHERE status <> ? AND {accepted}"
            f"{units}occurred_on BETWEEN ? AND ? ORDER BY id",
            (
                ReportStatus.RETRACTED.value,
                *([ReviewState.ACCEPTED.value] if accepted_only else []),
                *chosen,
                start.isoformat(),
                end.isoformat(),
            ),
        )
        for r in rows:
            out.setdefault((r["unit_code"], r["indicator"]), []).append(int(r["id"]))
    return out


async def not_accepted(tx: Tx, unit_codes: Sequence[str], start: dt.date, end: dt.date) -> int:
    """How many reports of these units in [start, end] are not accepted in review yet
    (waiting, or returned to their officer), retracted ones aside."""
    count = 0
    for units, chosen in unit_filters(list(unit_codes), "unit_code"):
        found = await tx.fetch_value(
            f"SELECT COUNT(*) FROM reports WHERE status <> ? AND review <> ? AND {units}"
            "occurred_on BETWEEN ? AND ?",
            (
                ReportStatus.RETRACTED.value,
                ReviewState.ACCEPTED.value,
                *chosen,
                start.isoformat(),
                end.isoformat(),
            ),
        )
        count += int(found or 0)
    return count


__all__ = [
    "AuditEntry",
    "Reopened",
    "not_accepted",
    "reopen",
    "reopened",
    "report_ids",
    "standing",
    "store",
    "trail",
]
