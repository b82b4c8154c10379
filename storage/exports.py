"""The export's reports as plain rows, straight from one join: never a Report object each.

A year of a federation is a million reports. They are read in id order by
one query that also brings the unit's and the sender's names (joins, not a
look-up per row) and the photo count, and turned into `ReportLine` tuples
as the cursor goes, so the workbook is written while the rows arrive.

Two ways in: inside the caller's transaction (`lines`, `shape_keys`, for a
cluster's export in chat, small enough to hold), and from a read-only
snapshot on a connection of its own (`Snapshot`, for `thidua export` of a
whole federation): a read transaction in WAL mode never blocks the bot's
writers, however long the file takes to write.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from domain.exports import ReportLine
from storage._codec import fetch_all, fetch_one
from storage.db import Tx

_BATCH = 2000


def _where(codes: Sequence[str]) -> str:
    marks = ",".join("?" * len(codes))
    return f"r.unit_code IN ({marks}) AND r.occurred_on BETWEEN ? AND ?"


def _lines_sql(codes: Sequence[str]) -> str:
    return (
        "SELECT r.id, r.occurred_on, COALESCE(u.name, r.unit_code), COALESCE(p.name, '?'), "
        "r.indicator, r.status, r.created_at, r.updated_at, r.version, "
        "(SELECT COUNT(*) FROM report_photos f WHERE f.report_id = r.id), r.values_json "
        "FROM reports r LEFT JOIN units u ON u.code = r.unit_code "
        f"LEFT JOIN people p ON p.id = r.person_id WHERE {_where(codes)} ORDER BY r.id"
    )


def _keys_sql(codes: Sequence[str]) -> str:
    """(indicator, value key, whether some value of that key is not the report's date)."""
    return (
        "SELECT r.indicator, j.key, MAX(j.type != 'text' OR j.value != r.occurred_on) "
        f"FROM reports r LEFT JOIN json_each(r.values_json) j WHERE {_where(codes)} "
        "GROUP BY r.indicator, j.key"
    )


def _count_sql(codes: Sequence[str]) -> str:
    return f"SELECT COUNT(*) FROM reports r WHERE {_where(codes)}"


def _params(codes: Sequence[str], start: dt.date, end: dt.date) -> tuple[Any, ...]:
    return (*codes, start.isoformat(), end.isoformat())


def _line(row: Sequence[Any]) -> ReportLine:
    return ReportLine(
        row[0],
        dt.date.fromisoformat(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        dt.datetime.fromisoformat(row[6]),
        None if row[7] is None else dt.datetime.fromisoformat(row[7]),
        row[8],
        row[9],
        json.loads(row[10]),
    )


def _keys(rows: Sequence[Any]) -> list[tuple[str, str | None, bool]]:
    return [(r[0], r[1], bool(r[2])) for r in rows]


async def lines(tx: Tx, codes: Sequence[str], start: dt.date, end: dt.date) -> list[ReportLine]:
    """The reports of these units that happened in [start, end], retracted ones included."""
    if not codes:
        return []
    rows = await fetch_all(tx, _lines_sql(codes), _params(codes, start, end))
    return [_line(row) for row in rows]


async def shape_keys(
    tx: Tx, codes: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[str, str | None, bool]]:
    """What the reports sheet's columns depend on (see `ReportShape.from_keys`)."""
    if not codes:
        return []
    return _keys(await fetch_all(tx, _keys_sql(codes), _params(codes, start, end)))


async def count(tx: Tx, codes: Sequence[str], start: dt.date, end: dt.date) -> int:
    if not codes:
        return 0
    row = await fetch_one(tx, _count_sql(codes), _params(codes, start, end))
    return 0 if row is None else int(row[0])


class Snapshot:
    """A read-only view of the database file as of its first read, on a connection of its
    own (blocking calls: use it from a worker thread). Close it when done."""

    def __init__(self, path: str | Path) -> None:
        uri = f"file:{quote(str(path))}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        self._conn.execute("BEGIN")  # deferred: the snapshot is taken by the first SELECT

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        finally:
            self._conn.close()

    def count(self, codes: Sequence[str], start: dt.date, end: dt.date) -> int:
        if not codes:
            return 0
        return int(self._conn.execute(_count_sql(codes), _params(codes, start, end)).fetchone()[0])

    def shape_keys(
        self, codes: Sequence[str], start: dt.date, end: dt.date
    ) -> list[tuple[str, str | None, bool]]:
        if not codes:
            return []
        return _keys(self._conn.execute(_keys_sql(codes), _params(codes, start, end)).fetchall())

    def lines(self, codes: Sequence[str], start: dt.date, end: dt.date) -> Iterator[ReportLine]:
        """The rows one batch at a time: memory stays flat whatever the count."""
        if not codes:
            return
        cursor = self._conn.execute(_lines_sql(codes), _params(codes, start, end))
        while batch := cursor.fetchmany(_BATCH):
            for row in batch:
                yield _line(row)
