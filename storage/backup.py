"""Consistent copies of the database while the bot runs, verified, with a retention rule.

SQLite's online backup API copies one snapshot: the source connection opens a
read transaction first, counts every table in it, and the copy is made from
that same snapshot, so the counts of the copy must match exactly. A copy is
written under a `.partial` name and renamed only once verified, so a backup
killed half-way never looks like a backup.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from domain.errors import StorageError

STAMP = "%Y%m%d-%H%M%S"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})\.sqlite3$")


class BackupError(StorageError):
    """A copy that could not be made or did not verify; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    tables: dict[str, int]
    size: int


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(name) for (name,) in rows]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        table: int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        for table in _tables(conn)
    }


def verify(path: Path) -> dict[str, int]:
    """Integrity check and row counts of a database file; BackupError when it is not sound."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: {exc}") from exc
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()
        if result is None or result[0] != "ok":
            raise BackupError(f"{path}: integrity check failed: {result}")
        counts = _counts(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a thidua database ({exc})") from exc
    finally:
        conn.close()
    if "schema_migrations" not in counts:
        raise BackupError(f"{path}: not a thidua database (no schema_migrations)")
    return counts


def backup(source: Path, dest: Path) -> BackupResult:
    """Copy `source` into `dest` from one snapshot and verify the copy (blocking: use a thread)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such database")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        src.execute("BEGIN")  # one snapshot for the counts and the copy
        expected = _counts(src)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
        finally:
            dst.close()
        src.execute("COMMIT")
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source}: backup failed: {exc}") from exc
    finally:
        src.close()
    try:
        copied = verify(partial)
        if copied != expected:
            raise BackupError(f"{dest}: row counts differ from the source: {copied} ≠ {expected}")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, dest)
    return BackupResult(dest, expected, dest.stat().st_size)


def restore(backup_file: Path, database: Path, keep_as: Path) -> tuple[dict[str, int], bool]:
    """Replace the database's content with a verified backup (the bot must not be running).

    The current content is first copied to `keep_as`, so a wrong restore can be undone;
    returns the restored counts and whether there was a previous database to keep.
    """
    counts = verify(backup_file)
    existed = database.is_file()
    if existed:
        backup(database, keep_as)
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(database)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return counts, existed


def backup_name(database: Path, at: dt.datetime) -> str:
    return f"{database.stem}-{at.strftime(STAMP)}.sqlite3"


def backups_in(folder: Path, database: Path) -> list[tuple[dt.datetime, Path]]:
    """This database's finished backups in `folder`, oldest first (partial copies ignored)."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if match and match["stem"] == database.stem:
                found.append((dt.datetime.strptime(match["stamp"], STAMP), path))
    return sorted(found)


def to_keep(stamps: Iterable[dt.datetime], daily: int, monthly: int) -> set[dt.datetime]:
    """The newest copy of each of the last `daily` days and of each of the last `monthly` months."""
    newest_per_day: dict[dt.date, dt.datetime] = {}
    newest_per_month: dict[tuple[int, int], dt.datetime] = {}
    for stamp in stamps:
        day = stamp.date()
        if stamp > newest_per_day.get(day, dt.datetime.min):
            newest_per_day[day] = stamp
        month = (stamp.year, stamp.month)
        if stamp > newest_per_month.get(month, dt.datetime.min):
            newest_per_month[month] = stamp
    keep = {newest_per_day[d] for d in sorted(newest_per_day, reverse=True)[:daily]}
    keep |= {newest_per_month[m] for m in sorted(newest_per_month, reverse=True)[:monthly]}
    return keep


def prune(folder: Path, database: Path, daily: int, monthly: int) -> list[Path]:
    """Delete backups outside the retention rule and leftover partial copies; returns them."""
    found = backups_in(folder, database)
    keep = to_keep((stamp for stamp, _ in found), daily, monthly)
    removed = [path for stamp, path in found if stamp not in keep]
    if folder.is_dir():
        removed += [p for p in folder.glob(f"{database.stem}-*.sqlite3.partial") if p.is_file()]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
