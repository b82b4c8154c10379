"""Data stamps, and the memo of results computed from the data they stamp.

Why: /standings is asked again and again over data that changed little or not at
all since; computing it afresh costs several times what reading its rows does. A
result kept with the stamp of what it read can be given again as long as the stamp
is the same.

The stamps are counters in `standing_stamps` (migration 15), bumped by database
triggers on every write to what standings read, whatever the path (the bot, the
CLI, an import, a hand-written UPDATE): one counter per unit (its reports, their
review, its declarations and targets) and one for the whole federation (scope '':
units, clusters and their members; a rebuild of the kept totals). Counters only
grow, so the sum over a cluster's members changes whenever any of them does.

Read the stamp first in a transaction, then the data: on PostgreSQL (read
committed) the data is then never older than its stamp, so an entry may be newer
than it says (recomputed once more) but never older.

A `Memo` belongs to one database (its backend makes it, `Tx.memo` hands it out)
and to this process: replicas on one PostgreSQL each keep theirs, the stamps keep
them right. It is bounded: the least recently used entry goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from storage._codec import fetch_all
from storage.port import Tx

__all__ = ["Memo", "Stamp", "bump_all", "cluster_stamp", "org_stamp", "stamp_of", "unit_stamps"]

Stamp = tuple[int, int]
"""(the federation's counter, the sum of the cluster's members' counters)."""

SIZE = 4096
"""Entries per database: every cluster's standings for a few periods and settings."""


class Memo:
    """A bounded map, least recently used out first (one per database, per process)."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """The entry kept under `key` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: Any) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_ORG = "(SELECT n FROM standing_stamps WHERE scope = '')"


async def org_stamp(tx: Tx) -> int:
    """The federation's counter: units, clusters and their members."""
    rows = await fetch_all(tx, f"SELECT {_ORG}")
    return int(rows[0][0] or 0)


async def cluster_stamp(tx: Tx, code: str, year: int) -> Stamp:
    """One cluster's stamp in `year`: one small indexed query."""
    rows = await fetch_all(
        tx,
        f"SELECT {_ORG}, (SELECT SUM(s.n) FROM cluster_members m "
        "JOIN standing_stamps s ON s.scope = m.unit_code "
        "WHERE m.cluster_code = ? AND m.year = ?)",
        (code, year),
    )
    org, units = rows[0]
    return int(org or 0), int(units or 0)


async def unit_stamps(tx: Tx, units: Sequence[str] | None) -> dict[str, int]:
    """These units' counters (None: every unit's) and the federation's (''), one query;
    a unit never written to has none (0)."""
    if units is None:
        rows = await fetch_all(tx, "SELECT scope, n FROM standing_stamps")
    else:
        wanted = ["", *dict.fromkeys(units)]
        rows = await fetch_all(
            tx,
            f"SELECT scope, n FROM standing_stamps WHERE scope IN ({','.join('?' * len(wanted))})",
            wanted,
        )
    return {scope: int(n) for scope, n in rows}


def stamp_of(counters: Mapping[str, int], units: Iterable[str]) -> Stamp:
    """The stamp of these units' data, from `unit_stamps`."""
    return counters.get("", 0), sum(counters.get(u, 0) for u in units)


async def bump_all(tx: Tx) -> None:
    """Every stamp changes: for writes the triggers do not see (a rebuild of the totals)."""
    await tx.execute(
        "INSERT INTO standing_stamps (scope, n) VALUES ('', 1) "
        "ON CONFLICT (scope) DO UPDATE SET n = standing_stamps.n + 1"
    )
