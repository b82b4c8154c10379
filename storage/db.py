"""The storage port's entry: open a database, run caller-owned transactions, close it.

`Database` picks the backend from what `[bot] database` names (a file path: SQLite;
a `postgresql://` URL: PostgreSQL)
and applies pending migrations at open. Everything engine-specific (pragmas, locks,
the checks that the database under the process is still the one it opened) lives in
the backend module; repositories and everything above them see only `Tx`.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from storage.migrations import migrate
from storage.port import Backend, Row, Tx
from storage.sqlite import SqliteBackend

__all__ = ["Database", "Row", "Tx", "is_url"]

SCHEMES = ("postgresql://", "postgres://")


def is_url(database: str) -> bool:
    """A PostgreSQL database named by its URL (anything else is an SQLite file)."""
    return database.startswith(SCHEMES)


class Database:
    def __init__(
        self, path: str | Path, *, password: str | None = None, busy_timeout_ms: int = 5000
    ) -> None:
        """`path`: an SQLite file (or ":memory:"), or a `postgresql://` URL; `password`
        for a URL that leaves it out (it comes from the environment, never the config)."""
        self.path = str(path)
        self.backend: Backend
        if is_url(self.path):
            from storage.postgres import PostgresBackend  # asyncpg loads only when used

            self.backend = PostgresBackend(self.path, password=password)
        else:
            self.backend = SqliteBackend(self.path, busy_timeout_ms=busy_timeout_ms)
        self.lost: asyncio.Event = self.backend.lost
        """Set when the database was deleted or replaced: the process must stop serving."""

    @property
    def where(self) -> str:
        """The database for messages: its path, or its URL without a password."""
        return self.backend.where

    @property
    def is_file(self) -> bool:
        """A database in a local file: backups, the process lock and its marker apply."""
        return self.backend.is_file

    async def open(self) -> int:
        """Connect and apply pending migrations; returns the schema version."""
        await self.backend.connect()
        # Inline: nothing else runs yet, and a new database's hundred statements would
        # each cost a thread hop before the first prompt.
        async with self.transaction(inline=True) as tx:
            version = await migrate(tx)
        return version

    async def close(self) -> None:
        await self.backend.release_process()
        await self.backend.close()

    @property
    def shared(self) -> bool:
        """Several `thidua run` processes may serve this database together (PostgreSQL)."""
        return self.backend.shared

    async def lead(self, role: str) -> bool:
        """This process holds `role` (taken now, or still held); False while another does."""
        return await self.backend.lead(role)

    async def hold_process(self, who: str) -> None:
        """Register this `thidua run` (`thidua status` names it). An SQLite file is held by
        storage.lock.ProcessLock before it is opened: one process per file."""
        await self.backend.hold_process(who)

    async def release_process(self) -> None:
        await self.backend.release_process()

    async def process_holder(self) -> str | None:
        """The `thidua run` processes serving the database (checked, not taken), or None."""
        return await self.backend.process_holder()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def transaction(
        self, *, urgent: bool = False, inline: bool = False
    ) -> AbstractAsyncContextManager[Tx]:
        """BEGIN … COMMIT, or ROLLBACK on any exception; the caller owns it.

        `urgent` ones (recording that a message was delivered) go before every
        ordinary transaction still waiting, so the window in which a crash makes
        the bot send a message twice stays one transaction wide. A database that
        cannot take writes now raises DatabaseUnavailable; one replaced under the
        process raises DatabaseLost (and sets `lost`).

        `inline` ones are short and a person waits on them (an update recorded and
        handled, a delivery acknowledged): the backend may run their statements without
        a thread hop each (storage/sqlite.py). Long reads (exports, scans) stay off it.
        """
        return self.backend.transaction(urgent=urgent, inline=inline)
