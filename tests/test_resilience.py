"""The database under the bot fails: nobody is told "Đã lưu" for what is not stored.

Real SQLite conditions, produced the way they happen: a read-only database
(`query_only`), a database that may not grow (`max_page_count`, SQLite's own
"database or disk is full"), another process holding the write lock past the
busy timeout, and the file deleted or replaced under the running bot.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Secrets, load_config
from domain.errors import DatabaseLost, DatabaseMissing
from domain.messages import InboundKind
from tests.harness import FakeClock, Harness, User, sqlite_conn
from tests.test_cli import thidua
from tests.test_flows import fill_gifts, registered, report_count
from tests.test_ops import config_file

pytestmark = pytest.mark.sqlite_only

Condition = Callable[[Harness], Awaitable[Callable[[], Awaitable[None]]]]


async def read_only(h: Harness) -> Callable[[], Awaitable[None]]:
    await sqlite_conn(h.db).execute("PRAGMA query_only = ON")

    async def undo() -> None:
        await sqlite_conn(h.db).execute("PRAGMA query_only = OFF")

    return undo


def _size(path: str) -> int:
    return os.stat(path).st_size


def _remove(path: str, *, replace: bool) -> None:
    """Delete the database (and its -wal, -shm); `replace` puts a different file there."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if replace:
        sqlite3.connect(path).close()


async def pragma(h: Harness, sql: str) -> list[object]:
    async with sqlite_conn(h.db).execute(sql) as cur:
        return [row[0] for row in await cur.fetchall()]


async def full(h: Harness) -> Callable[[], Awaitable[None]]:
    """The disk is full for this process: a file-size limit at the write-ahead log's size.

    Writes that would grow any file fail (EFBIG; SIGXFSZ ignored as a service would),
    exactly what SQLite meets on a full disk.
    """
    await pragma(h, "PRAGMA wal_checkpoint(TRUNCATE)")
    size = _size(f"{h.db.path}-wal")
    previous = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(size, 1), previous[1]))

    async def undo() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous)
        signal.signal(signal.SIGXFSZ, handler)

    return undo


async def locked(h: Harness) -> Callable[[], Awaitable[None]]:
    other = sqlite3.connect(h.db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than we wait
    await sqlite_conn(h.db).execute("PRAGMA busy_timeout = 20")

    async def undo() -> None:
        other.execute("ROLLBACK")
        other.close()
        await sqlite_conn(h.db).execute("PRAGMA busy_timeout = 5000")

    return undo


async def press_save_while(h: Harness, user: User, condition: Condition) -> None:
    """The ✅ is recorded (the inbox took it), then the database refuses the handler's work."""
    sent, save = user.button("Lưu")
    inbound = user.inbound(InboundKind.CHOICE, choice=save.data, message_ref=sent.message_id)
    assert await h.dispatcher.receive(inbound)
    undo = await condition(h)
    try:
        await h.dispatcher.process(inbound.conversation_key)
    finally:
        await undo()


@pytest.mark.parametrize(
    "condition", [read_only, full, locked], ids=["read-only", "full", "locked"]
)
async def test_a_save_the_database_refuses_is_not_confirmed_and_is_done_once_later(
    h: Harness, condition: Condition
) -> None:
    user = await registered(h)
    await fill_gifts(user)
    await press_save_while(h, user, condition)

    assert await report_count(h) == 0
    assert await h.scalar("SELECT status FROM inbox ORDER BY id DESC LIMIT 1") == "pending"
    assert [s.text for s in await h.collect()] == []  # no "Đã lưu", no apology either

    assert await h.dispatcher.recover() == 1  # the database takes writes again
    saved = await h.collect()
    assert [s.text.split(":")[0] for s in saved if "Đã lưu" in s.text] == ["✅ Đã lưu báo cáo #1"]
    assert await report_count(h) == 1
    assert await h.dispatcher.recover() == 0  # and once only


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_database_file_deleted_or_replaced_under_the_bot_stops_confirmations(
    h: Harness, tmp_path: Path, how: str
) -> None:
    user = await registered(h)
    await fill_gifts(user)
    sent, save = user.button("Lưu")
    inbound = user.inbound(InboundKind.CHOICE, choice=save.data, message_ref=sent.message_id)
    assert await h.dispatcher.receive(inbound)
    _remove(h.db.path, replace=how == "replaced")
    await h.dispatcher.process(inbound.conversation_key)
    with pytest.raises(DatabaseLost):  # and nothing new is even recorded
        await h.dispatcher.receive(user.inbound(InboundKind.TEXT, text="/help"))

    assert h.db.lost.is_set()
    with pytest.raises(DatabaseLost):
        await h.scalar("SELECT 1")
    # What the open connection still sees of the old file: nothing saved, nothing to send.
    async with sqlite_conn(h.db).execute("SELECT COUNT(*) FROM reports") as cur:
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]
    async with sqlite_conn(h.db).execute(
        "SELECT COUNT(*) FROM outbox WHERE payload_json LIKE '%Đã lưu%'"
    ) as cur:
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]


async def test_the_app_stops_with_database_lost_when_its_file_goes(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    app = App(config, Secrets(), clock=FakeClock())
    await app.start()
    os.unlink(app.db.path)
    with pytest.raises(DatabaseLost):
        async with app.db.transaction():
            pass
    with pytest.raises(DatabaseLost):
        await app.serve_until(asyncio.Event())  # ends by itself: the process exits non-zero
    # The next start refuses to begin afresh with an empty database…
    again = App(config, Secrets(), clock=FakeClock())
    with pytest.raises(DatabaseMissing):
        await again.start()
    assert again.lock is not None and not again.lock.held


def test_thidua_run_on_a_vanished_database_says_so_in_one_line(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    assert thidua("migrate", "--config", str(config)).returncode == 0
    (tmp_path / "db.sqlite3").unlink()
    result = thidua("run", "--config", str(config), env={"TELEGRAM_BOT_TOKEN": "1:unused"})
    assert result.returncode == 1
    assert "Không tìm thấy cơ sở dữ liệu" in result.stderr and "thidua restore" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # nothing created in its place
    # A brand-new deployment (no marker) still starts with one command.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert thidua("migrate", "--config", str(config_file(fresh))).returncode == 0
    assert (fresh / "db.sqlite3").exists()


async def test_the_telegram_poll_loop_survives_a_database_that_refuses_the_inbox(
    tmp_path: Path,
) -> None:
    """Another process holds the write lock past the busy timeout while updates arrive."""
    from pydantic import SecretStr

    from tests.fakes.telegram_api import FakeTelegramAPI
    from tests.harness import EXAMPLE
    from tests.tg import TgUser

    async with FakeTelegramAPI() as fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url
        )
        config = load_config(EXAMPLE).with_secrets(secrets)
        app = App(config, secrets, clock=FakeClock(), database=str(tmp_path / "poll.sqlite3"))
        app.add_channel(app.build_channel("telegram"))
        await app.start()
        try:
            await sqlite_conn(app.db).execute("PRAGMA busy_timeout = 20")
            # The bot's own loops write too: wait for the lock as long as a busy machine needs.
            other = sqlite3.connect(app.db.path, isolation_level=None, timeout=120)
            other.execute("BEGIN IMMEDIATE")
            an = TgUser(fake, fake.user(1001, "An"))
            first = an.user.send("/help")
            # The loop met the locked database: it asked for the same batch again (the
            # offset was not moved past an update it could not record)…
            await fake.wait_for(
                lambda f: (
                    sum(
                        1
                        for c in f.calls
                        if c.method == "getUpdates" and (c.params.get("offset") or 0) <= first
                    )
                    >= 3
                ),
                timeout=30,
                what="getUpdates asked again for the unrecorded update",
            )
            other.execute("ROLLBACK")
            other.close()
            # …and once the lock is gone, the update is handled, and the loop still polls.
            await fake.wait_calls(1, method="sendMessage")
            an.user.send("/help")
            await fake.wait_calls(2, method="sendMessage")
            assert await count_inbox(app) == 2
        finally:
            await app.stop()


async def count_inbox(app: App) -> int:
    async with app.db.transaction() as tx:
        row = await tx.fetch_one("SELECT COUNT(*) FROM inbox")
    assert row is not None
    return int(row[0])


async def test_recording_a_delivery_goes_before_every_waiting_transaction(h: Harness) -> None:
    """The crash window for a message sent twice is one transaction, not a queue of them."""
    order: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def current() -> None:
        async with h.db.transaction():
            holding.set()
            await release.wait()
            order.append("current")

    async def ordinary(n: int) -> None:
        async with h.db.transaction():
            order.append(f"ordinary {n}")

    async def ack() -> None:
        async with h.db.transaction(urgent=True):
            order.append("delivery recorded")

    first = asyncio.create_task(current())
    await holding.wait()
    waiting = [asyncio.create_task(ordinary(n)) for n in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)  # the ordinary ones are in line
    urgent = asyncio.create_task(ack())
    for _ in range(5):
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, urgent, *waiting)
    assert order == ["current", "delivery recorded", "ordinary 0", "ordinary 1", "ordinary 2"]
