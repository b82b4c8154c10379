"""Inline transactions (storage/sqlite.py): statements on the event loop's thread, no hop.

The same guarantees as every transaction (all or nothing, one at a time, the other
process's lock waited for) and one more: the loop never sleeps inside SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from domain.errors import DatabaseUnavailable, IntegrityViolation
from storage.db import Database
from storage.sqlite import SqliteBackend
from tests.harness import sqlite_conn


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "inline.sqlite3")
    await database.open()
    async with database.transaction() as tx:
        await tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    return database


async def values(db: Database) -> list[str]:
    async with db.transaction() as tx:  # read on the database thread
        return [row["v"] for row in await tx.fetch_all("SELECT v FROM t ORDER BY id")]


async def busy_timeout(db: Database) -> int:
    async with sqlite_conn(db).execute("PRAGMA busy_timeout") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_an_inline_transaction_commits_all_or_nothing(db: Database) -> None:
    async with db.transaction(inline=True) as tx:
        first = await tx.insert("INSERT INTO t (v) VALUES (?)", ("kept",))
        assert await tx.fetch_one("SELECT v FROM t WHERE id = ?", (first,)) is not None
    with pytest.raises(RuntimeError):
        async with db.transaction(inline=True) as tx:
            await tx.execute("INSERT INTO t (v) VALUES (?)", ("undone",))
            raise RuntimeError("the handler failed")
    with pytest.raises(IntegrityViolation):
        async with db.transaction(inline=True) as tx:
            await tx.execute("INSERT INTO t (v) VALUES (?)", ("undone too",))
            await tx.execute("INSERT INTO t (v) VALUES (NULL)")

    assert await values(db) == ["kept"]
    await db.close()


async def test_inline_and_threaded_transactions_take_turns(db: Database) -> None:
    order: list[str] = []

    async def write(name: str, inline: bool) -> None:
        async with db.transaction(inline=inline) as tx:
            order.append(f"{name} begins")
            await tx.execute("INSERT INTO t (v) VALUES (?)", (name,))
            await asyncio.sleep(0)  # a handler awaiting something inside its transaction
            order.append(f"{name} ends")

    await asyncio.gather(write("a", True), write("b", False), write("c", True))

    assert order == ["a begins", "a ends", "b begins", "b ends", "c begins", "c ends"]
    assert await values(db) == ["a", "b", "c"]
    await db.close()


async def test_another_process_lock_is_waited_for_off_the_loop(db: Database) -> None:
    await sqlite_conn(db).execute("PRAGMA busy_timeout = 3000")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a CLI command writing

    async def write() -> None:
        async with db.transaction(inline=True) as tx:
            await tx.execute("INSERT INTO t (v) VALUES ('after the other')")

    task = asyncio.create_task(write())
    await asyncio.sleep(0)  # let it start and meet the lock
    # Had it waited in SQLite's busy handler on the loop, it would have finished by now
    # (failed, after the busy timeout), and nothing else could have run meanwhile.
    assert not task.done()
    other.execute("ROLLBACK")  # this runs on the loop: the loop is free
    other.close()
    await task

    assert await values(db) == ["after the other"]
    assert await busy_timeout(db) == 3000  # as it was set, not the 0 the attempt used
    await db.close()


async def test_a_lock_held_past_the_busy_timeout_is_unavailable(db: Database) -> None:
    await sqlite_conn(db).execute("PRAGMA busy_timeout = 20")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.transaction(inline=True) as tx:
                await tx.execute("INSERT INTO t (v) VALUES ('never')")
    finally:
        other.execute("ROLLBACK")
        other.close()

    async with db.transaction(inline=True) as tx:  # and the connection is usable again
        await tx.execute("INSERT INTO t (v) VALUES ('later')")
    assert await values(db) == ["later"]
    assert await busy_timeout(db) == 20
    await db.close()


async def test_calls_together_keep_their_order_and_the_turn(db: Database) -> None:
    ran: list[str] = []

    async def elsewhere() -> None:
        ran.append("another chat's work")

    async with db.transaction(inline=True) as tx:
        other = asyncio.create_task(elsewhere())  # ready to run at the loop's next turn
        ids = await tx.together(
            tx.insert("INSERT INTO t (v) VALUES ('a')"),
            tx.insert("INSERT INTO t (v) VALUES ('b')"),
            tx.fetch_all("SELECT v FROM t ORDER BY id"),
        )
        ran.append("transaction")
    await other

    assert ids[:2] == [1, 2] and [row["v"] for row in ids[2]] == ["a", "b"]
    assert ran == ["transaction", "another chat's work"]  # it held the database no longer
    await db.close()


async def test_a_failed_call_together_undoes_the_transaction(db: Database) -> None:
    with pytest.raises(IntegrityViolation):
        async with db.transaction(inline=True) as tx:
            await tx.together(
                tx.execute("INSERT INTO t (v) VALUES ('undone')"),
                tx.execute("INSERT INTO t (v) VALUES (NULL)"),
                tx.execute("INSERT INTO t (v) VALUES ('never made')"),
            )

    assert await values(db) == []
    await db.close()


def rows_in_main_file(db_path: Path, copy: Path) -> int:
    """Rows of t in the database file alone (its WAL left behind): what was checkpointed."""
    copy.write_bytes(db_path.read_bytes())
    with sqlite3.connect(copy) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])
        except sqlite3.OperationalError:  # not even the table is in the file yet
            return 0


async def test_the_wal_is_checkpointed_beside_the_loop_never_inside_a_commit(
    db: Database, tmp_path: Path
) -> None:
    backend = db.backend
    assert isinstance(backend, SqliteBackend)
    async with sqlite_conn(db).execute("PRAGMA wal_autocheckpoint") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0  # no commit ever checkpoints on the loop
    path, copy = tmp_path / "inline.sqlite3", tmp_path / "copy.sqlite3"
    backend.checkpoint_every = 1000
    for n in range(2):
        async with db.transaction(inline=True) as tx:
            await tx.execute("INSERT INTO t (v) VALUES (?)", (f"row {n}",))
    await backend.settle()
    assert rows_in_main_file(path, copy) == 0  # committed, in the WAL only

    backend.checkpoint_every = 1  # the next commit starts one, on a worker thread
    async with db.transaction(inline=True) as tx:
        await tx.execute("INSERT INTO t (v) VALUES (?)", ("row 2",))
    await backend.settle()
    assert rows_in_main_file(path, copy) == 3
    assert await values(db) == ["row 0", "row 1", "row 2"]
    await db.close()
