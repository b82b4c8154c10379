"""Targets (chỉ tiêu) per unit, measure and period, and the group chats linked to a cluster.

A target has one row per (unit, measure, period key), and the row remembers
where its value came from: 'config' ([[targets]] in the TOML), 'import' (a
targets spreadsheet) or 'admin' (/target in chat). The rule:

- Config is the baseline. `sync_from_config` (run at every start) makes the
  config rows match the file: new values are written, config rows the file no
  longer lists are deleted. It never touches a key that holds an import or
  admin row, so restarting the bot never undoes what staff set since.
- An import or an admin command overrides whatever the key held (config, an
  earlier import, an earlier admin value): between those two, the later one
  wins, since both are deliberate acts by federation staff.
- An import only writes the rows in the file: a blank cell (no row) sets no
  target and removes none, so a file filled in for one cluster leaves the
  others alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

from domain.scoring import Target
from storage._codec import fetch_all, fetch_one, ts
from storage.db import Tx

__all__ = [
    "ADMIN",
    "CONFIG",
    "IMPORT",
    "all_targets",
    "for_period",
    "for_year",
    "group_cluster",
    "groups",
    "link_group",
    "replace_imported",
    "set_one",
    "sync_from_config",
]

CONFIG: Final = "config"
IMPORT: Final = "import"
ADMIN: Final = "admin"

_UNITS_PER_QUERY = 500

_UPSERT = (
    "INSERT INTO targets (unit_code, measure, period_key, value, source, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (unit_code, measure, period_key) DO UPDATE SET "
    "value = excluded.value, source = excluded.source, updated_at = excluded.updated_at"
)


def _target(row: Any) -> Target:
    return Target(row["unit_code"], row["measure"], row["period_key"], float(row["value"]))


def _unique(targets: Iterable[Target]) -> list[Target]:
    """The targets as a list; two for the same key are a data error, not a choice to make."""
    result: dict[tuple[str, str, str], Target] = {}
    for t in targets:
        key = (t.unit, t.measure, t.period)
        if key in result:
            raise ValueError(f"duplicate target for {t.unit}/{t.measure} in {t.period}")
        result[key] = t
    return list(result.values())


def _rows(targets: Sequence[Target], source: str, now: dt.datetime) -> list[tuple[Any, ...]]:
    at = ts(now)
    return [(t.unit, t.measure, t.period, t.value, source, at) for t in targets]


async def sync_from_config(tx: Tx, targets: Iterable[Target], now: dt.datetime) -> None:
    """Make the config rows match the config file; import and admin rows stay as they are."""
    wanted = _unique(targets)
    keep = {(t.unit, t.measure, t.period) for t in wanted}
    stale = [
        (r[0], r[1], r[2])
        for r in await fetch_all(
            tx,
            "SELECT unit_code, measure, period_key FROM targets WHERE source = ?",
            (CONFIG,),
        )
        if (r[0], r[1], r[2]) not in keep
    ]
    await tx.executemany(
        "DELETE FROM targets WHERE unit_code = ? AND measure = ? AND period_key = ? AND source = ?",
        [(*key, CONFIG) for key in stale],
    )
    await tx.executemany(
        # Only config rows take the new value, and only when it changed: an unchanged
        # target keeps the time it was last set.
        _UPSERT + " WHERE targets.source = ? AND targets.value <> excluded.value",
        [(*row, CONFIG) for row in _rows(wanted, CONFIG, now)],
    )


async def replace_imported(tx: Tx, targets: Iterable[Target], now: dt.datetime) -> int:
    """Write every target of an imported file, all or nothing; returns how many.

    A savepoint makes the import atomic on its own: if any row fails (a unit
    the database does not know), nothing of the file stays written, even when
    the caller catches the error and commits the rest of its transaction.
    """
    rows = _rows(_unique(targets), IMPORT, now)
    async with tx.savepoint("targets_import"):
        await tx.executemany(_UPSERT, rows)
    return len(rows)


async def set_one(tx: Tx, target: Target, now: dt.datetime, source: str = ADMIN) -> None:
    """Set one target (an admin's /target), overriding whatever the key held."""
    await tx.execute(_UPSERT, _rows([target], source, now)[0])


async def for_period(
    tx: Tx, period_key: str, unit_codes: Sequence[str] | None = None
) -> list[Target]:
    """The targets of one period (e.g. "2025"), of these units or of every unit."""
    sql = "SELECT unit_code, measure, period_key, value FROM targets WHERE period_key = ?"
    order = " ORDER BY unit_code, measure"
    if unit_codes is None:
        return [_target(r) for r in await fetch_all(tx, sql + order, (period_key,))]
    codes = list(dict.fromkeys(unit_codes))
    found: list[Target] = []
    for i in range(0, len(codes), _UNITS_PER_QUERY):
        chunk = codes[i : i + _UNITS_PER_QUERY]
        marks = ",".join("?" * len(chunk))
        rows = await fetch_all(tx, f"{sql} AND unit_code IN ({marks}){order}", (period_key, *chunk))
        found += [_target(r) for r in rows]
    found.sort(key=lambda t: (t.unit, t.measure))
    return found


async def for_year(tx: Tx, year: int, unit_codes: Sequence[str] | None = None) -> list[Target]:
    """The targets of a year and of its parts ("2026", "2026-H1", "2026-Q3"…), of these units
    or of every unit, by unit, measure and period."""
    sql = (
        "SELECT unit_code, measure, period_key, value FROM targets "
        "WHERE (period_key = ? OR substr(period_key, 1, 5) = ?)"
    )
    keys = (f"{year:04d}", f"{year:04d}-")
    if unit_codes is None:
        found = [_target(r) for r in await fetch_all(tx, sql, keys)]
    else:
        codes = list(dict.fromkeys(unit_codes))
        found = []
        for i in range(0, len(codes), _UNITS_PER_QUERY):
            chunk = codes[i : i + _UNITS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = await fetch_all(tx, f"{sql} AND unit_code IN ({marks})", (*keys, *chunk))
            found += [_target(r) for r in rows]
    found.sort(key=lambda t: (t.unit, t.measure, t.period))
    return found


async def all_targets(tx: Tx) -> list[Target]:
    """Every target of every period, for export and for checks."""
    rows = await fetch_all(
        tx,
        "SELECT unit_code, measure, period_key, value FROM targets "
        "ORDER BY period_key, unit_code, measure",
    )
    return [_target(r) for r in rows]


# --- group chats linked to a cluster ---------------------------------------------


async def link_group(
    tx: Tx, channel: str, chat_id: str, cluster_code: str, person_id: int, now: dt.datetime
) -> None:
    """Link a group chat to a cluster; linking again (to any cluster) replaces the link."""
    await tx.execute(
        "INSERT INTO cluster_groups (channel, chat_id, cluster_code, linked_by, linked_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET "
        "cluster_code = excluded.cluster_code, linked_by = excluded.linked_by, "
        "linked_at = excluded.linked_at",
        (channel, chat_id, cluster_code, person_id, ts(now)),
    )


async def groups(tx: Tx) -> list[tuple[str, str, str]]:
    """Every linked group as (channel, chat id, cluster code), for scheduled posts."""
    rows = await fetch_all(
        tx,
        "SELECT channel, chat_id, cluster_code FROM cluster_groups ORDER BY channel, chat_id",
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def group_cluster(tx: Tx, channel: str, chat_id: str) -> str | None:
    """The cluster code a group chat is linked to, or None."""
    row = await fetch_one(
        tx,
        "SELECT cluster_code FROM cluster_groups WHERE channel = ? AND chat_id = ?",
        (channel, chat_id),
    )
    return None if row is None else str(row[0])
