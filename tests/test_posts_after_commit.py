"""Charts with the database free: the weekly group post queues its text in the firing's
transaction and its chart after the commit; a chart is drawn again only when its figures
change."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduler import Job, Scheduler
from domain.messages import ChatType
from domain.models import Role
from handlers.standings import GroupPosts
from runtime import workers
from storage import targets
from tests.harness import FakeClock, Harness, User, founded

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = dt.datetime(2025, 12, 22, 8, 0, tzinfo=VN)


@pytest.fixture
async def h(tmp_path) -> AsyncIterator[Harness]:
    harness = await Harness.create(tmp_path, FakeClock(dt.datetime(2025, 12, 20, 9, 0, tzinfo=VN)))
    async with harness.db.transaction() as tx:
        await targets.sync_from_config(
            tx, [t.target() for t in harness.config.targets], harness.clock.now()
        )
    yield harness
    await harness.close()


def posting(h: Harness) -> Scheduler:
    posts = GroupPosts(h.dispatcher.settings, h.catalog)
    job = Job(
        "standings-posts",
        CronTrigger(day_of_week="mon", hour=8, timezone=VN),
        posts.fire,
        after_commit=posts.after_commit,
    )
    return Scheduler(h.db, h.clock, [job])


async def linked_group(h: Harness) -> User:
    await h.person(3, "dong_da", Role.CLUSTER_HEAD)
    group = h.user(3, "Người 3")
    group.chat_id, group.chat_type = "-100777", ChatType.GROUP
    assert "Đã gắn nhóm" in (await group.send("/linkgroup"))[0].text
    return group


class Drawings:
    """Counts the drawings made, and holds each until the test lets it go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, hold: bool = False) -> None:
        self.count = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        real = workers.draw

        async def counted(fn, *args):
            self.count += 1
            self.started.set()
            await self.release.wait()
            return await real(fn, *args)

        monkeypatch.setattr(workers, "draw", counted)


async def test_the_weekly_post_draws_its_chart_with_the_database_free(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = await linked_group(h)
    officer = await h.person(1, "long_bien")
    other = await h.person(2, "hoan_kiem")
    await founded(officer, 49)
    await h.collect()
    drawings = Drawings(monkeypatch, hold=True)
    h.clock.current = MONDAY + dt.timedelta(minutes=1)
    firing = asyncio.create_task(posting(h).tick())
    await asyncio.wait_for(drawings.started.wait(), 30)
    # The firing has committed its text: the database is free while the chart is drawn.
    help_ = await asyncio.wait_for(other.send("/help"), 30)
    assert "/report" in help_[0].text
    await asyncio.wait_for(founded(other, 31), 30)
    assert not firing.done()
    drawings.release.set()
    [fired] = await firing
    assert (fired.outcome, fired.messages) == ("ran", 2)
    await h.collect()
    posts = [s for s in h.delivered if s.chat_id == group.chat_id]
    text_at = next(n for n, s in enumerate(posts) if "🏆 Xếp hạng" in s.text)
    chart_at = next(n for n, s in enumerate(posts) if s.reply.attachment is not None)
    assert text_at < chart_at
    assert posts[chart_at].reply.keeps_choices  # a post is not an answer
    assert await h.scalar("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'post:%'") == 2


async def test_a_chart_is_drawn_again_only_when_its_figures_change(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = await h.person(1, "long_bien")
    await founded(officer, 49)
    drawings = Drawings(monkeypatch)
    first = await officer.send("/standings 2025")
    again = await officer.send("/standings 2025")
    assert drawings.count == 1
    charts = [r[1].reply.attachment for r in (first, again)]
    assert charts[0] is not None and charts[0] == charts[1]  # the same picture
    await officer.send("/lang en")
    await officer.send("/standings 2025")
    assert drawings.count == 2  # another language is another picture
    await officer.send("/lang vi")
    await founded(await h.person(2, "hoan_kiem"), 31)  # the figures change
    changed = await officer.send("/standings 2025")
    assert drawings.count == 3
    assert changed[1].reply.attachment != charts[0]
    await officer.send("/standings 2025")
    assert drawings.count == 3


async def test_the_group_post_reuses_the_chart_the_cluster_just_saw(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await linked_group(h)
    officer = await h.person(1, "long_bien")
    await founded(officer, 49)
    h.clock.current = MONDAY - dt.timedelta(minutes=5)
    drawings = Drawings(monkeypatch)
    await officer.send("/standings 2025")
    assert drawings.count == 1
    h.clock.current = MONDAY + dt.timedelta(minutes=1)
    [fired] = await posting(h).tick()
    assert (fired.outcome, fired.messages) == ("ran", 2)
    assert drawings.count == 1
