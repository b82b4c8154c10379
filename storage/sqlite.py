"""The SQLite backend: one aiosqlite connection, its pragmas, and caller-owned transactions.

One connection serves the process. SQLite has one writer at a time anyway, so
an asyncio lock around each transaction keeps coroutines from interleaving
their statements inside one another's transaction.

Statements normally run on aiosqlite's thread, one hop there and back for
each. An `inline` transaction runs them on the event loop's own thread
instead: the transactions a person waits on (an update recorded and handled,
a delivery acknowledged) are a dozen statements of microseconds each, and the
hops, not SQLite, were most of their time (a tenth of a millisecond each, far
more on a busy machine; issue 10). The lock keeps the two ways from ever using
the connection at once.

A WAL file is checkpointed into the database by a second connection on a worker
thread every `checkpoint_every` commits, never inside a COMMIT: SQLite's own
automatic checkpoint ran in whichever commit crossed 1,000 pages, on the event
loop's thread, and its fsync stopped every chat for 10-50 ms on a busy disk.

Two failures must never end in "Đã lưu" for something that is not stored:
a database file deleted or replaced under the process (SQLite would go on
writing into the unlinked file) is caught by comparing the file's identity
before every COMMIT; a disk that is full, read-only or locked too long turns
into DatabaseUnavailable, and the caller does the work again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from domain.errors import DatabaseLost, DatabaseMissing, DatabaseUnavailable, IntegrityViolation
from storage.memo import Memo
from storage.port import Params, Row, Tx

log = logging.getLogger(__name__)


class _StatementsOnly(logging.Filter):
    """aiosqlite's DEBUG lines show each call with its SQL parameters (message texts,
    hashes, names): keep the statement, never the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_describe(a) for a in record.args)
        return True


def _describe(arg: object) -> object:
    if isinstance(arg, functools.partial):
        sql = next((a for a in arg.args if isinstance(a, str)), "")
        name = getattr(arg.func, "__name__", "call")
        return f"{name}({sql!r}, …)" if sql else f"{name}(…)"
    return arg


logging.getLogger("aiosqlite").addFilter(_StatementsOnly())


class SqliteTx(Tx):
    """Each call goes straight onto aiosqlite's queue before its first await, so calls
    gathered together reach the database thread in the order they were made."""

    __slots__ = ("_memo", "conn")

    def __init__(self, conn: aiosqlite.Connection, memo: Memo) -> None:
        self.conn = conn
        self._memo = memo

    def memo(self) -> Memo:
        return self._memo

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cur = await self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc
        return cur.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        try:
            cur = await self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc
        return cur.lastrowid if cur.rowcount == 1 else None

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def renumber(self, table: str) -> None:
        """Nothing to do: a rowid key always goes on from the largest."""

    async def lock(self, name: str) -> None:
        """Nothing to take: BEGIN IMMEDIATE already keeps every other writer out."""

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        # One round trip to the database thread (a cursor costs three: execute, fetch, close).
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)


class InlineTx(Tx):
    """Statements run at once on the caller's thread (the event loop's): no hop.

    None of its calls suspends, so a transaction that awaits only them (and `together`)
    holds the connection for one turn of the event loop, never across other work.
    """

    __slots__ = ("_memo", "raw")

    def __init__(self, raw: sqlite3.Connection, memo: Memo) -> None:
        self.raw = raw
        self._memo = memo

    def memo(self) -> Memo:
        return self._memo

    async def together(self, *calls: Awaitable[Any]) -> list[Any]:
        # One after the other: asyncio.gather would make tasks and give the loop a turn
        # (other chats' work) while this transaction holds the database.
        results: list[Any] = []
        try:
            for call in calls:
                results.append(await call)
        finally:  # after a failure, the calls not made are closed, never left dangling
            for call in calls[len(results) + 1 :]:
                if isinstance(call, Coroutine):
                    call.close()
        return results

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            return self.raw.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        try:
            cur = self.raw.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc
        return cur.lastrowid if cur.rowcount == 1 else None

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self.raw.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def renumber(self, table: str) -> None:
        """Nothing to do: a rowid key always goes on from the largest."""

    async def lock(self, name: str) -> None:
        """Nothing to take: BEGIN IMMEDIATE already keeps every other writer out."""

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return self.raw.execute(sql, params).fetchall()

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        cur = self.raw.execute(sql, params)
        try:
            return cur.fetchone()
        finally:
            cur.close()


class SqliteBackend:
    def __init__(self, path: str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._tx: SqliteTx | None = None
        self._inline: InlineTx | None = None
        self.memo = Memo()
        """Results computed from this file's data, with their stamps (storage.memo)."""
        self._lock = asyncio.Lock()
        self._queue = asyncio.Lock()  # ordinary transactions line up here, urgent ones do not
        self._identity: tuple[int, int] | None = None
        self.checkpoint_every = 200
        """Commits between two background checkpoints of the WAL (see the module's docstring)."""
        self._commits = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self.lost = asyncio.Event()
        """Set when the file was deleted or replaced: the process must stop serving."""

    @property
    def is_file(self) -> bool:
        return self.path != ":memory:" and "://" not in self.path

    @property
    def where(self) -> str:
        return self.path

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    async def connect(self) -> None:
        """Connect and set pragmas.

        A database that existed here before (its marker is beside it) and is gone now
        is refused, instead of starting afresh with nobody registered.
        """
        if self.is_file and _gone_since_last_run(self.path):
            raise DatabaseMissing(self.path)
        made: list[sqlite3.Connection] = []

        def connector() -> sqlite3.Connection:  # on aiosqlite's thread; kept for inline use
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            made.append(raw)
            return raw

        conn = await aiosqlite.Connection(connector, iter_chunk_size=64)
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        if self.path != ":memory:":
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA wal_autocheckpoint = 0")  # ours run in the background
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        self._tx = SqliteTx(conn, self.memo)
        self._inline = InlineTx(made[0], self.memo)
        if self.is_file:
            self._identity = self._file_identity()
            _mark(self.path)

    @property
    def shared(self) -> bool:
        return False

    async def lead(self, role: str) -> bool:
        """One process per file (storage.lock): it leads everything."""
        return True

    async def hold_process(self, who: str) -> None:
        """The file lock (storage.lock.ProcessLock) is taken before the file is opened."""

    async def release_process(self) -> None:
        pass

    async def process_holder(self) -> str | None:
        from storage.lock import holder

        return holder(self.path) if self.is_file else None

    def _check_identity(self) -> None:
        """Raise DatabaseLost if the file at our path is not the one we opened."""
        if self._identity is None:
            return
        if self.lost.is_set() or self._file_identity() != self._identity:
            if not self.lost.is_set():
                log.critical(
                    "the database file %s was deleted or replaced while the bot ran; "
                    "nothing more is confirmed, the process stops",
                    self.path,
                )
                self.lost.set()
            raise DatabaseLost(self.path)

    def _committed(self) -> None:
        """Count a commit; every `checkpoint_every`, checkpoint the WAL in the background."""
        self._commits += 1
        if self._commits < self.checkpoint_every or self._checkpointing is not None:
            return
        if not self.is_file or self.lost.is_set():
            return
        self._commits = 0
        self._checkpointing = asyncio.create_task(self._checkpoint(), name="sqlite-checkpoint")

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint_now)
        except sqlite3.Error as exc:  # the next one tries again; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._checkpointing = None

    def _checkpoint_now(self) -> None:
        """PASSIVE: copies what no reader still needs, never waits for a reader or writer."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def settle(self) -> None:
        """Until a background checkpoint under way is done (closing, tests)."""
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        if self._checkpointer is not None:  # before the last connection, which checkpoints
            self._checkpointer.close()
            self._checkpointer = None
        if self._conn is not None:
            async with self._lock:
                await self._conn.close()
            self._conn = None
            self._tx = None
            self._inline = None

    @property
    def conn(self) -> aiosqlite.Connection:
        """The connection itself, for SQLite-only work (backups, tests)."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False, inline: bool = False) -> AsyncIterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception.

        IMMEDIATE takes the write lock up front, so a second process waits
        (busy_timeout) instead of failing half-way through with SQLITE_BUSY.
        BEGIN, COMMIT and ROLLBACK always run to completion even when the task
        is cancelled meanwhile, so a cancellation never leaves the shared
        connection inside a transaction.

        `urgent` ones (recording that a message was delivered) go before every
        ordinary transaction still waiting, so the window in which a crash makes
        the bot send a message twice stays one transaction wide. `inline` ones run
        their statements on the event loop's thread (see the module's docstring).
        """
        opened = self._open_inline() if inline else self._open()
        if urgent:
            async with self._lock, opened as tx:
                yield tx
            return
        async with self._queue, self._lock, opened as tx:
            yield tx

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Tx]:
        """One transaction on the connection, which the caller holds."""
        if self.lost.is_set():
            raise DatabaseLost(self.path)
        conn = self.conn
        tx = self._tx
        assert tx is not None
        try:
            await _complete(conn, "BEGIN IMMEDIATE")
        except asyncio.CancelledError:
            with contextlib.suppress(sqlite3.Error):
                await _complete(conn, "ROLLBACK")
            raise
        except sqlite3.OperationalError as exc:
            self._check_identity()  # a vanished file surfaces as an I/O error first
            raise _unavailable(exc) from exc
        try:
            yield tx
            self._check_identity()
            await _complete(conn, "COMMIT")
            self._committed()
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    await _complete(conn, "ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _transient(exc):
                self._check_identity()
                raise _unavailable(exc) from exc
            raise

    @asynccontextmanager
    async def _open_inline(self) -> AsyncIterator[Tx]:
        """One transaction on the event loop's thread, on the connection the caller holds.

        The write lock is asked for without waiting: held by another process (a CLI
        command), it is waited for on the database thread as in `_open`, so the loop
        never sleeps in SQLite's busy handler. Once it is held, no statement of a WAL
        database waits for anyone. Nothing here awaits inside SQLite, so BEGIN, COMMIT
        and ROLLBACK always complete.
        """
        if self.lost.is_set():
            raise DatabaseLost(self.path)
        tx = self._inline
        assert tx is not None
        raw = tx.raw
        try:
            if not _begin_now(raw):
                await _complete(self.conn, "BEGIN IMMEDIATE")
        except asyncio.CancelledError:
            if raw.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    raw.execute("ROLLBACK")
            raise
        except sqlite3.OperationalError as exc:
            self._check_identity()  # a vanished file surfaces as an I/O error first
            raise _unavailable(exc) from exc
        try:
            yield tx
            self._check_identity()
            raw.execute("COMMIT")
            self._committed()
        except BaseException as exc:
            if raw.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    raw.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _transient(exc):
                self._check_identity()
                raise _unavailable(exc) from exc
            raise


def _begin_now(raw: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE if the write lock is free this instant; False if another holds it.

    The connection's busy timeout (which tests and operators may set) is put back as found.
    """
    (timeout,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes keep the base
            raise
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return True


def _marker(path: str) -> Path:
    """Beside the database, left there: a database was created here (and must not vanish)."""
    return Path(f"{path}.created")


def _gone_since_last_run(path: str) -> bool:
    return not Path(path).exists() and _marker(path).exists()


def _mark(path: str) -> None:
    _marker(path).touch(exist_ok=True)


_TRANSIENT = ("database is locked", "disk is full", "readonly", "disk i/o error", "busy")


def _transient(exc: sqlite3.OperationalError) -> bool:
    """Errors that pass when space, permissions or the other writer come back."""
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT)


def _unavailable(exc: sqlite3.OperationalError) -> DatabaseUnavailable:
    log.warning("database unavailable: %s", exc)
    return DatabaseUnavailable(str(exc))


async def _complete(conn: aiosqlite.Connection, sql: str) -> None:
    """Run a statement to its end; a cancellation is passed on only afterwards."""
    future = asyncio.ensure_future(conn.execute(sql))
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise
