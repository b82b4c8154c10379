"""The nightly purge of the dashboard's sign-in links and sessions (`web_purge`, declared by
the dashboard feature): those that ended (expired, used up, signed out) more than a day ago
go, live ones and those that ended within the day stay; a failing purge is logged and the
scheduler carries on, and the next tick does the firing."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.app import make_router
from bot.scheduler import Job, Scheduler
from domain.messages import OutboxItem
from domain.models import Role
from storage import people as people_repo
from storage.db import Tx
from tests.harness import TZ, Harness
from usecases import access, websignin
from usecases.access import Caller

pytestmark = pytest.mark.both_backends

LIFETIME = dt.timedelta(hours=12)


def purge_job(h: Harness) -> Job:
    """The job as the app builds it from the feature's declaration."""
    declared = next(j for j in make_router().jobs if j.id == "web_purge")
    settings = h.dispatcher.settings
    work = declared.make(settings, h.catalog)
    trigger = CronTrigger.from_crontab(declared.cron(settings), timezone=settings.tz)
    return Job(declared.id, trigger, work.run, declared.grace)


class Admin:
    """An admin asking for links and signing in, at the harness's clock."""

    def __init__(self, h: Harness) -> None:
        self.h = h

    async def link(self) -> str:
        now = self.h.clock.now()
        async with self.h.db.transaction() as tx:
            person = await people_repo.by_identity(tx, self.h.channel, "1")
            caller = Caller(await access.actor_of(tx, person, now.year), now.year)
            return await websignin.new_link(tx, caller, now)

    async def session(self) -> str:
        """A session started by a fresh link (the link spent): its cookie token."""
        token = await self.link()
        async with self.h.db.transaction() as tx:
            started = await websignin.redeem_link(tx, token, self.h.clock.now(), LIFETIME)
        assert started is not None
        return started.token

    async def sign_out(self, token: str) -> None:
        async with self.h.db.transaction() as tx:
            await websignin.sign_out(tx, token, self.h.clock.now())

    async def live(self, token: str) -> bool:
        async with self.h.db.transaction() as tx:
            return await websignin.session(tx, token, self.h.clock.now()) is not None


async def kept(h: Harness) -> tuple[int, int]:
    links = await h.scalar("SELECT COUNT(*) FROM web_links")
    sessions = await h.scalar("SELECT COUNT(*) FROM web_sessions")
    return int(str(links)), int(str(sessions))


async def tick_at(h: Harness, scheduler: Scheduler, day: int, hour: int, minute: int) -> str:
    h.clock.current = dt.datetime(2026, 3, day, hour, minute, tzinfo=TZ)
    firings = [f for f in await scheduler.tick() if f.job == "web_purge"]
    return ",".join(f.outcome for f in firings)


async def test_ended_links_and_sessions_go_a_day_later_live_ones_stay(h: Harness) -> None:
    await h.person(1, "hai_ba_trung", Role.ADMIN)
    admin = Admin(h)
    scheduler = Scheduler(h.db, h.clock, [purge_job(h)])
    h.clock.current = dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
    await admin.link()  # never used: ends at 9:10
    ended = await admin.session()  # its link spent; the session ends at 21:00
    signed_out = await admin.session()
    await admin.sign_out(signed_out)
    assert await kept(h) == (3, 2)

    # The night after: everything ended less than a day ago, nothing goes.
    assert await tick_at(h, scheduler, 11, 3, 20) == "ran"
    assert await kept(h) == (3, 2)

    # The next day: a long session, a fresh link, and a sign-out within the day.
    h.clock.current = dt.datetime(2026, 3, 11, 9, 0, tzinfo=TZ)
    await admin.session()  # ends at 21:00 on the 11th: within the grace tonight
    h.clock.current = dt.datetime(2026, 3, 12, 2, 0, tzinfo=TZ)
    recent = await admin.session()
    await admin.sign_out(recent)
    fresh = await admin.session()
    h.clock.current = dt.datetime(2026, 3, 12, 3, 15, tzinfo=TZ)
    unused = await admin.link()  # asked for just before the purge
    assert await kept(h) == (7, 5)

    assert await tick_at(h, scheduler, 12, 3, 20) == "ran"
    # gone: the 10th's three links, its ended session and its signed-out one
    assert await kept(h) == (4, 3)
    assert not await admin.live(ended) and not await admin.live(signed_out)
    assert await admin.live(fresh) and not await admin.live(recent)
    async with h.db.transaction() as tx:  # the link asked for just now still signs in
        assert await websignin.redeem_link(tx, unused, h.clock.now(), LIFETIME) is not None


async def test_a_failing_purge_is_logged_the_loop_goes_on_and_the_next_tick_purges(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await h.person(1, "hai_ba_trung", Role.ADMIN)
    admin = Admin(h)
    ran: list[dt.datetime] = []

    async def other(tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None) -> list[OutboxItem]:
        ran.append(fire_at)
        return []

    every_hour = Job("other", CronTrigger(minute=30, timezone=TZ), other)
    scheduler = Scheduler(h.db, h.clock, [purge_job(h), every_hour])
    h.clock.current = dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
    await admin.session()
    async with h.db.transaction() as tx:  # the table the purge needs has gone missing
        await tx.execute_schema("ALTER TABLE web_sessions RENAME TO web_sessions_away")

    caplog.set_level(logging.ERROR, logger="bot.scheduler")
    assert await tick_at(h, scheduler, 12, 3, 20) == "failed"
    assert any("web_purge" in r.getMessage() and r.exc_info for r in caplog.records)
    assert ran, "the other job still ran in the same tick"
    async with h.db.transaction() as tx:
        await tx.execute_schema("ALTER TABLE web_sessions_away RENAME TO web_sessions")
    assert await kept(h) == (1, 1)  # the failed firing removed nothing (rolled back)

    assert await tick_at(h, scheduler, 12, 3, 25) == "ran"  # the same firing, done now
    assert await kept(h) == (0, 0)
