"""Scheduled work that runs at most once per firing, also across restarts.

APScheduler (AsyncIOScheduler, Asia/Ho_Chi_Minh) only wakes us up; what is due
is decided by `tick()` from the injected clock and each job's trigger. Every
firing is claimed by a row (job, fire time) in the same transaction as its
effects (outbox rows), so a crash either leaves no trace of the firing, and it
is redone, or leaves both the claim and every message it produced. Firings
missed while the bot was down are caught up at start when they are still
within the job's grace window, otherwise recorded as skipped and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from domain.messages import OutboxItem
from runtime.context import Clock
from storage import schedule
from storage.db import Database, Tx

log = logging.getLogger(__name__)

JobRun = Callable[[Tx, dt.datetime, dt.datetime | None], Awaitable[list[OutboxItem]]]
"""(transaction, this fire time, previous fire time) → the outbox rows it wrote."""

AfterCommit = Callable[
    [dt.datetime, Callable[[], AbstractAsyncContextManager[Tx]]], Awaitable[list[OutboxItem]]
]
"""(this fire time, a way to open a transaction) → the outbox rows of slow work (charts)
made after the firing committed, with the database free, and queued in a short step."""

_TINY = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Job:
    id: str
    trigger: BaseTrigger
    run: JobRun
    grace: dt.timedelta = dt.timedelta(hours=6)
    after_commit: AfterCommit | None = None


@dataclass(frozen=True)
class Firing:
    job: str
    fire_at: dt.datetime
    outcome: str  # "ran", "skipped" (too late), "taken" (another process had it), "failed"
    messages: int = 0


@dataclass
class Scheduler:
    db: Database
    clock: Clock
    jobs: list[Job] = field(default_factory=list)
    on_outbox: Callable[[list[OutboxItem]], None] = lambda items: None
    housekeeping: list[tuple[Callable[[], Awaitable[object]], float]] = field(default_factory=list)
    timed: list[tuple[Callable[[], Awaitable[object]], BaseTrigger]] = field(default_factory=list)
    """Work outside any transaction at a trigger's times (backups); not claimed per firing."""
    on_tick: Callable[[], None] = lambda: None
    """Told after every tick that ran to its end (the health report's "scheduler")."""
    leads: Callable[[], bool] = lambda: True
    """Whether this process runs the firings (bot.elections: one of several processes on
    one database does; the claims below make each firing once-only even so)."""
    _aps: AsyncIOScheduler | None = None

    def due_times(self, job: Job, after: dt.datetime, until: dt.datetime) -> Iterable[dt.datetime]:
        fire = job.trigger.get_next_fire_time(None, after + _TINY)
        while fire is not None and fire <= until:
            yield fire
            fire = job.trigger.get_next_fire_time(fire, fire + _TINY)

    async def tick(self) -> list[Firing]:
        """Run every firing due by now that nobody has run yet."""
        if not self.leads():  # standing by: another process runs them
            self.on_tick()
            return []
        now = self.clock.now()
        done: list[Firing] = []
        for job in self.jobs:
            async with self.db.transaction() as tx:
                last = await schedule.last_fired(tx, job.id)
            start = last if last is not None else now - job.grace
            previous = last
            for fire_at in self.due_times(job, start, now):
                try:
                    done.append(await self._fire(job, fire_at, previous, now))
                except Exception:  # logged, left unclaimed: the next tick tries again
                    log.exception("schedule: %s at %s failed", job.id, fire_at)
                    done.append(Firing(job.id, fire_at, "failed"))
                    break
                previous = fire_at
        self.on_tick()
        return done

    async def _fire(
        self, job: Job, fire_at: dt.datetime, previous: dt.datetime | None, now: dt.datetime
    ) -> Firing:
        late = now - fire_at > job.grace
        items: list[OutboxItem] = []
        async with self.db.transaction() as tx:
            claimed = await schedule.claim(tx, job.id, fire_at, now, "skipped" if late else "ran")
            if claimed and not late:
                items = await job.run(tx, fire_at, previous)
        if not claimed:
            return Firing(job.id, fire_at, "taken")
        if late:
            log.warning("schedule: %s at %s missed by %s; skipped", job.id, fire_at, now - fire_at)
            return Firing(job.id, fire_at, "skipped")
        if items:
            self.on_outbox(items)
        if job.after_commit is not None:
            try:
                later = await job.after_commit(fire_at, self.db.transaction)
            except Exception:  # the firing's own messages are out; only these are lost
                log.exception(
                    "schedule: %s at %s: the work after the commit failed", job.id, fire_at
                )
                later = []
            if later:
                self.on_outbox(later)
            items += later
        return Firing(job.id, fire_at, "ran", len(items))

    def start(self, timezone: dt.tzinfo) -> None:
        """Wake up at every job's trigger, and once a minute as a safety net."""
        aps = AsyncIOScheduler(timezone=timezone)
        for job in self.jobs:
            aps.add_job(self.tick, job.trigger, id=job.id, max_instances=1, coalesce=True)
        aps.add_job(self.tick, "interval", minutes=1, id="tick", max_instances=1, coalesce=True)
        for n, (work, seconds) in enumerate(self.housekeeping):
            aps.add_job(
                work,
                "interval",
                seconds=seconds,
                id=f"housekeeping-{n}",
                max_instances=1,
                coalesce=True,
            )
        for n, (work, trigger) in enumerate(self.timed):
            aps.add_job(work, trigger, id=f"timed-{n}", max_instances=1, coalesce=True)
        aps.start()
        self._aps = aps

    def add(self, job: Job) -> None:
        self.jobs.append(job)

    def stop(self) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None
