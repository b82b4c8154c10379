"""The SQLite connection: pragmas, migrations at open, and caller-owned transactions.

One connection serves the process. SQLite has one writer at a time anyway, so
an asyncio lock around each transaction keeps coroutines from interleaving
their statements inside one another's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import migrate

log = logging.getLogger(__name__)

Tx = aiosqlite.Connection
"""A connection inside an open transaction; repositories take one of these."""


class Database:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> int:
        """Connect, set pragmas and apply pending migrations; returns the schema version."""
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
