"""The SQLite connection: pragmas, migrations at open, and caller-owned transactions.

One connection serves the process. SQLite has one writer at a time anyway, so
an asyncio lock around each transaction keeps coroutines from interleaving
their statements inside one another's transaction.

Each statement is a round trip to aiosqlite's thread, and its answer waits its
turn in the event loop. On a loop busy with hundreds of HTTP requests that
turn is slow, and since transactions are serialised the whole bot would wait
behind it. So the running bot gives the database an event loop of its own
(`own_loop=True`): `run()` executes a piece of database work there, where
round trips are quick, and hands the result back to the caller's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.migrations import migrate

log = logging.getLogger(__name__)

Tx = aiosqlite.Connection
"""A connection inside an open transaction; repositories take one of these."""

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a thread of its own."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class Database:
    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5000, own_loop: bool = False
    ) -> None:
        self.path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._own_loop = own_loop
        self._worker: _LoopThread | None = None

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Do database work (a coroutine using `transaction()`) on the database's loop."""
        if self._worker is None:
            return await work
        return await self._worker.run(work)

    async def open(self) -> int:
        """Connect, set pragmas and apply pending migrations; returns the schema version."""
        if self._own_loop and self._worker is None:
            self._worker = _LoopThread(f"db:{Path(self.path).name}")
        return await self.run(self._open())

    async def _open(self) -> int:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        if self.path != ":memory:":
            await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        async with self.transaction() as tx:
            version = await migrate(tx)
        return version

    async def close(self) -> None:
        await self.run(self._close())
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    async def _close(self) -> None:
        if self._conn is not None:
            async with self._lock:
                await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception.

        IMMEDIATE takes the write lock up front, so a second process waits
        (busy_timeout) instead of failing half-way through with SQLITE_BUSY.
        BEGIN, COMMIT and ROLLBACK always run to completion even when the task
        is cancelled meanwhile, so a cancellation never leaves the shared
        connection inside a transaction.
        """
        async with self._lock:
            conn = self.conn
            try:
                await _complete(conn, "BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                await _complete(conn, "ROLLBACK")
                raise
            try:
                yield conn
            except BaseException:
                await _complete(conn, "ROLLBACK")
                raise
            else:
                await _complete(conn, "COMMIT")


async def _complete(conn: aiosqlite.Connection, sql: str) -> None:
    """Run a statement to its end; a cancellation is passed on only afterwards."""
    future = asyncio.ensure_future(conn.execute(sql))
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise
