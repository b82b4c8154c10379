"""Moving an SQLite database into PostgreSQL: every table, in one transaction, verified.

The copy is all or nothing: rows are written and then counted, and the report values
summed into a checksum on both sides, inside the target's transaction; a difference
rolls everything back. The target must be empty (freshly migrated).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from domain.errors import StorageError
from storage.db import Database
from storage.port import Tx
from storage.sqlite import SqliteBackend

CHUNK = 5000
"""Rows read and written at a time: memory stays flat for any size of database."""


class CopyError(StorageError):
    """The copy was refused or did not verify; nothing was kept in the target."""


@dataclass(frozen=True)
class Copied:
    counts: dict[str, int]
    """Rows per table, the same on both sides."""
    checksum: str
    """SHA-256 of every report value (report, field, number, text), the same on both sides."""


async def _tables(tx: Tx) -> list[str]:
    """The source's tables in the order they were made, so referenced ones come first.
    The memo's stamps (storage.memo) are each database's own: the target's triggers make
    them afresh as the rows arrive."""
    rows = await tx.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('schema_migrations', 'standing_stamps') ORDER BY rowid"
    )
    return [str(r[0]) for r in rows]


async def _count(tx: Tx, table: str) -> int:
    return int(await tx.fetch_value(f'SELECT COUNT(*) FROM "{table}"'))


async def checksum(tx: Tx) -> str:
    """The report values, in one order whatever the database sorts text by."""
    rows = await tx.fetch_all("SELECT report_id, field, num, text FROM report_values")
    digest = hashlib.sha256()
    for report_id, field, num, text in sorted((int(r[0]), str(r[1]), r[2], r[3]) for r in rows):
        digest.update(f"{report_id}\t{field}\t{num!r}\t{text!r}\n".encode())
    return digest.hexdigest()


async def _copy_table(src: Tx, dst: Tx, table: str) -> None:
    last = -1
    columns: list[str] = []
    while rows := await src.fetch_all(
        f'SELECT rowid AS "__rowid", * FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
        (last, CHUNK),
    ):
        if not columns:
            columns = [c for c in rows[0].keys() if c != "__rowid"]  # noqa: SIM118 (a Row)
        last = int(rows[-1][0])
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        await dst.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [tuple(r)[1:] for r in rows]
        )
    if "id" in columns:
        await dst.renumber(table)


async def copy_database(source: Database, target: Database) -> Copied:
    """Copy every row of the SQLite `source` into the empty, migrated `target`."""
    if not isinstance(source.backend, SqliteBackend):
        raise CopyError("the source of a copy is an SQLite database")
    async with source.transaction() as src, target.transaction() as dst:
        tables = await _tables(src)
        for table in tables:
            if await _count(dst, table):
                raise CopyError(f"{target.where} is not empty ({table} has rows)")
        for table in tables:
            await _copy_table(src, dst, table)
        counts = {t: await _count(src, t) for t in tables}
        copied = {t: await _count(dst, t) for t in tables}
        if copied != counts:
            wrong = ", ".join(
                f"{t} {counts[t]}→{copied[t]}" for t in tables if copied[t] != counts[t]
            )
            raise CopyError(f"row counts differ: {wrong}")
        mine, theirs = await checksum(src), await checksum(dst)
        if mine != theirs:
            raise CopyError("the report values' checksum differs")
    return Copied(counts, mine)
