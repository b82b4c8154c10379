"""Scheduled firings: once each, across restarts; catch-up within grace; all-or-nothing fan-out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduler import Job, Scheduler
from domain.messages import DeliveryStatus, OutboxItem, Reply
from storage import outbox
from storage.db import Database, Tx
from tests.harness import FakeClock

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def db(database: str) -> AsyncIterator[Database]:
    opened = Database(database)
    await opened.open()
    yield opened
    await opened.close()


def fan_out(chats: list[str], crash_after: int | None = None):
    async def run(tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None) -> list[OutboxItem]:
        items = []
        for n, chat in enumerate(chats):
            if crash_after is not None and n == crash_after:
                raise RuntimeError("process killed mid fan-out")
            key = f"remind:{fire_at.isoformat()}:{chat}"
            row = await outbox.enqueue(
                tx, "test", chat, Reply(f"nhắc {chat}"), fire_at, dedupe_key=key
            )
            if row is not None:
                items.append(
                    OutboxItem(
                        row, "test", chat, Reply(""), DeliveryStatus.PENDING, 0, fire_at, fire_at
                    )
                )
        return items

    return run


def daily_0830(run, grace_hours: float = 6) -> Job:
    return Job(
        "remind", CronTrigger(hour=8, minute=30, timezone=VN), run, dt.timedelta(hours=grace_hours)
    )


async def rows(db: Database) -> int:
    async with db.transaction() as tx:
        return int(await tx.fetch_value("SELECT COUNT(*) FROM outbox"))


async def test_a_firing_runs_once_however_often_we_tick(db: Database) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN))
    scheduler = Scheduler(db, clock, [daily_0830(fan_out(["a", "b"]))])
    assert await scheduler.tick() == []  # not yet 08:30
    clock.advance(minutes=31)
    first = await scheduler.tick()
    assert [(f.outcome, f.messages) for f in first] == [("ran", 2)]
    assert await scheduler.tick() == []
    restarted = Scheduler(db, clock, [daily_0830(fan_out(["a", "b"]))])  # a new process
    assert await restarted.tick() == []
    assert await rows(db) == 2


async def test_missed_firings_are_caught_up_within_grace_and_skipped_beyond(db: Database) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 25, 8, 31, tzinfo=VN))
    scheduler = Scheduler(db, clock, [daily_0830(fan_out(["a"]))])
    assert [f.outcome for f in await scheduler.tick()] == ["ran"]  # 25/6
    clock.advance(days=2, hours=2)  # down from 25/6 until 27/6 10:31
    firings = await scheduler.tick()
    assert [(f.fire_at.astimezone(VN).day, f.outcome) for f in firings] == [
        (26, "skipped"),
        (27, "ran"),
    ]
    assert await rows(db) == 2


async def test_a_crash_mid_fan_out_leaves_nothing_and_the_retry_sends_each_once(
    db: Database,
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 27, 8, 30, 5, tzinfo=VN))
    chats = [str(n) for n in range(50)]
    crashing = Scheduler(db, clock, [daily_0830(fan_out(chats, crash_after=20))])
    assert [f.outcome for f in await crashing.tick()] == ["failed"]
    assert await rows(db) == 0  # the claim and the 20 rows rolled back together
    healthy = Scheduler(db, clock, [daily_0830(fan_out(chats))])
    assert [(f.outcome, f.messages) for f in await healthy.tick()] == [("ran", 50)]
    assert await rows(db) == 50


async def test_two_processes_racing_for_one_firing(db: Database) -> None:
    import asyncio

    clock = FakeClock(dt.datetime(2026, 6, 27, 8, 30, 5, tzinfo=VN))
    a = Scheduler(db, clock, [daily_0830(fan_out(["x"]))])
    b = Scheduler(db, clock, [daily_0830(fan_out(["x"]))])
    results = await asyncio.gather(a.tick(), b.tick())
    outcomes = sorted(f.outcome for firings in results for f in firings)
    assert outcomes in (["ran", "taken"], ["ran"])
    assert await rows(db) == 1


async def test_two_connections_racing_for_one_firing_fan_it_out_once(
    db: Database, database: str
) -> None:
    """As two processes would (a connection each): the claim makes the firing once-only
    even if two schedulers ran it, and a scheduler that does not lead runs nothing."""
    import asyncio

    other = Database(database)
    await other.open()
    try:
        clock = FakeClock(dt.datetime(2026, 6, 27, 8, 30, 5, tzinfo=VN))
        chats = [f"c{n}" for n in range(30)]
        a = Scheduler(db, clock, [daily_0830(fan_out(chats))])
        b = Scheduler(other, clock, [daily_0830(fan_out(chats))])
        results = await asyncio.gather(a.tick(), b.tick())
        assert sorted(f.outcome for firings in results for f in firings) in (
            ["ran", "taken"],
            ["ran"],
        )
        assert await rows(db) == 30
        standby = Scheduler(other, clock, [daily_0830(fan_out(chats))], leads=lambda: False)
        clock.advance(days=1)
        assert await standby.tick() == []
        assert await rows(db) == 30
    finally:
        await other.close()
