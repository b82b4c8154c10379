"""The storage port: the transaction type every repository takes, and what a backend provides.

Nothing above storage/ sees a database driver: handlers, use cases and the runtime
hold a `Tx` and call repositories with it; the backend (storage/sqlite.py) turns
these few calls into its driver's. Statements use `?` placeholders and the SQL the
repositories are written in; a backend adapts its dialect's differences.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias

if TYPE_CHECKING:
    from storage.memo import Memo

Row: TypeAlias = Any
"""One result row: read by column name (`row["id"]`) or position (`row[0]`)."""

Params: TypeAlias = Sequence[Any]


class Tx(abc.ABC):
    """A connection inside an open transaction, which the caller owns.

    Calls that do not depend on each other may be awaited together
    (`together`): a backend runs them in the order they were made, so a
    whole update costs a few round trips instead of one per statement.
    """

    __slots__ = ()

    dialect: ClassVar[str] = "sqlite"
    """Whose SQL the database speaks ("sqlite", "postgresql"): for the few migration
    statements that must differ (triggers)."""

    def memo(self) -> Memo | None:
        """The database's memo of computed results (storage.memo), or None: compute."""
        return None

    async def together(self, *calls: Awaitable[Any]) -> list[Any]:
        """Calls that do not depend on each other, their results in order.

        Sent at once (asyncio.gather keeps their order on the way to the database). A
        backend without round trips runs them one after the other instead, without
        leaving the caller's turn of the event loop (storage/sqlite.py's InlineTx).
        """
        return list(await asyncio.gather(*calls))

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns how many rows it changed. A write that breaks a
        rule of the schema raises domain.errors.IntegrityViolation, on every backend."""

    @abc.abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """Run one INSERT into a table with an `id` key; returns the new row's id, or
        None when nothing was inserted (ON CONFLICT DO NOTHING)."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter row."""

    @abc.abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a query, in one round trip."""

    async def execute_schema(self, sql: str) -> None:
        """Run one migration statement, written in SQLite's schema words (a backend
        adapts types and self-numbering keys to its own)."""
        await self.execute(sql)

    @abc.abstractmethod
    async def renumber(self, table: str) -> None:
        """After rows were written with their own `id`s (a copy), new rows of `table`
        are numbered after the largest."""

    @abc.abstractmethod
    async def lock(self, name: str) -> None:
        """Hold `name` until the transaction ends, against every other process: work that
        must run once at a time across processes (migrations) takes it first."""

    async def try_lock(self, name: str) -> bool:
        """Hold `name` until the transaction ends if no other process holds it now; False
        when one does (never waits). A backend that one process owns (SQLite, whose
        transactions run one at a time) always has it."""
        return True

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query (None if there is none)."""
        return next(iter(await self.fetch_all(sql, params)), None)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (None if there is no row)."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    # Savepoints: part of a transaction that can be undone alone. The three steps are
    # separate calls so they can be sent together with other statements.

    async def set_savepoint(self, name: str) -> None:
        await self.execute(f"SAVEPOINT {_name(name)}")

    async def rollback_to_savepoint(self, name: str) -> None:
        """Undo everything since the savepoint (which stays set)."""
        await self.execute(f"ROLLBACK TO SAVEPOINT {_name(name)}")

    async def release_savepoint(self, name: str) -> None:
        await self.execute(f"RELEASE SAVEPOINT {_name(name)}")

    @asynccontextmanager
    async def savepoint(self, name: str) -> AsyncIterator[None]:
        """The block's writes kept together: an exception undoes them (and goes on)."""
        await self.set_savepoint(name)
        try:
            yield
        except Exception:
            await self.rollback_to_savepoint(name)
            await self.release_savepoint(name)
            raise
        await self.release_savepoint(name)


def _name(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"not a savepoint name: {name!r}")
    return name


class Backend(Protocol):
    """One database engine behind `storage.db.Database`."""

    lost: asyncio.Event
    """Set when the database under the process is no longer the one it opened."""

    @property
    def is_file(self) -> bool:
        """A database in a local file (backups, the process lock and the marker apply)."""
        ...

    @property
    def where(self) -> str:
        """The database for messages and logs (a URL without its password)."""
        ...

    @property
    def shared(self) -> bool:
        """Several `thidua run` processes may serve this database together (PostgreSQL):
        updates are claimed, outbox rows leased, the scheduler and pollers elected."""
        ...

    async def lead(self, role: str) -> bool:
        """Hold `role` (the scheduler, a channel's poll loop) for this process, or say
        it still does; False while another process holds it or the database is away.
        A backend one process owns always leads."""
        ...

    async def connect(self) -> None: ...

    async def hold_process(self, who: str) -> None:
        """Register this `thidua run` as serving the database; `who` names it to `thidua
        status`. A backend one process owns raises DatabaseInUse naming who has it."""
        ...

    async def release_process(self) -> None: ...

    async def process_holder(self) -> str | None:
        """The processes serving the database (`hold_process`), or None: checked, not taken."""
        ...

    def transaction(
        self, *, urgent: bool = False, inline: bool = False
    ) -> AbstractAsyncContextManager[Tx]:
        """`inline`: a short transaction a person waits on; a backend whose calls cost a
        thread hop each may run it on the event loop instead (SQLite does)."""
        ...

    async def close(self) -> None: ...
