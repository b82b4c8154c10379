"""Review of reports (issue 12 §1): the state machine, the queue, races, the trail, totals.

The use cases are called directly with real callers on a real database (SQLite and
PostgreSQL); reports are made the way officers make them, through the dispatcher.
The chat flows on every channel are in test_review_flow.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.config import AppConfig, load_config
from bot.scheduler import Job, Scheduler
from domain.errors import AccessDenied, UserInputError
from domain.models import ReportStatus, ReviewState, Role
from domain.periods import Period, PeriodKind
from domain.review import Counted, Reviewers, ReviewEvent, ReviewRules, bucket, next_state
from domain.scoring import UnitStanding
from handlers.review import ReviewReminders
from storage import people as people_repo
from storage import reports as reports_repo
from storage import review as review_repo
from storage import totals
from storage.db import Tx
from tests.harness import EXAMPLE, FakeClock, Harness, Sent, User
from usecases import access, review, standings
from usecases import reports as reports_uc
from usecases.access import Caller

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")
QUICK = "tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"


def reviewing(**rules: Any) -> AppConfig:
    """The example configuration with [review] set (by the cluster's head or deputy unless
    told otherwise)."""
    rules.setdefault("by", Reviewers.CLUSTER)
    return load_config(EXAMPLE).model_copy(update={"review": ReviewRules(**rules)})


async def make(tmp_path: Path, database: str, **rules: Any) -> Harness:
    return await Harness.create(tmp_path, FakeClock(), config=reviewing(**rules), database=database)


@pytest.fixture
async def rh(tmp_path: Path, database: str) -> AsyncIterator[Harness]:
    harness = await make(tmp_path, database)
    yield harness
    await harness.close()


async def caller_of(h: Harness, tx: Tx, user: User) -> Caller:
    person = await people_repo.by_identity(tx, h.channel, user.id)
    return Caller(await access.actor_of(tx, person, 2026), 2026)


async def saved(user: User, text: str = QUICK) -> None:
    await user.send(text)
    replies = await user.press("Lưu")
    assert "Đã lưu báo cáo" in replies[0].text


def test_the_state_machine() -> None:
    assert next_state(ReviewState.SUBMITTED, ReviewEvent.ACCEPT) is ReviewState.ACCEPTED
    assert next_state(ReviewState.SUBMITTED, ReviewEvent.RETURN) is ReviewState.RETURNED
    assert next_state(ReviewState.RETURNED, ReviewEvent.RESUBMIT) is ReviewState.SUBMITTED
    assert next_state(ReviewState.ACCEPTED, ReviewEvent.RESUBMIT) is ReviewState.SUBMITTED
    for state in (ReviewState.ACCEPTED, ReviewState.RETURNED):
        for event in (ReviewEvent.ACCEPT, ReviewEvent.RETURN):
            with pytest.raises(UserInputError):
                next_state(state, event)
    assert bucket(ReportStatus.ACTIVE, ReviewState.ACCEPTED) == "active"
    assert bucket(ReportStatus.ACTIVE, ReviewState.SUBMITTED) == "submitted"
    assert bucket(ReportStatus.RETRACTED, ReviewState.SUBMITTED) == "retracted"
    assert ReviewRules().by is Reviewers.NOBODY  # today's behaviour by default


async def test_nobody_reviews_by_default_reports_are_accepted(h: Harness) -> None:
    officer = await h.person(1, "ba_dinh")
    await saved(officer)
    assert await h.rows("SELECT review FROM reports") == [("accepted",)]
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    async with h.db.transaction() as tx:
        with pytest.raises(UserInputError) as off:
            await review.next_card(tx, await caller_of(h, tx, head), h.dispatcher.settings)
        assert off.value.key == "review.off"


async def test_accept_return_resubmit_with_totals_and_trail(rh: Harness) -> None:
    h = rh
    settings = h.dispatcher.settings
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await saved(officer)
    await saved(officer, "thành lập 3 công đoàn cơ sở ngày 1/3")
    assert await h.rows("SELECT id, review FROM reports ORDER BY id") == [
        (1, "submitted"),
        (2, "submitted"),
    ]
    async with h.db.transaction() as tx:
        c = await caller_of(h, tx, head)
        card = await review.next_card(tx, c, settings)
        assert card is not None and card.report.id == 1 and card.waiting == 2
        assert card.author == "Người 1"
        later = await review.next_card(tx, c, settings, after=1)
        assert later is not None and later.report.id == 2
        assert await review.next_card(tx, c, settings, after=2) is None
        done = await review.accept(tx, c, settings, 1, card.report.version, h.clock.now())
        assert done.result is review.Result.DONE and done.report.review is ReviewState.ACCEPTED
        back = await review.give_back(tx, c, settings, 2, 1, "  Thiếu ảnh  ", h.clock.now())
        assert back.result is review.Result.DONE and back.author is not None
        assert back.author.name == "Người 1"
        assert await totals.differences(tx) == []
        assert await review.next_card(tx, c, settings) is None
    # the officer fixes the returned report (long after the edit window) and it waits again
    h.clock.advance(days=3)
    async with h.db.transaction() as tx:
        oc = await caller_of(h, tx, officer)
        fixed = await reports_uc.changeable(tx, oc, settings, 2, h.clock.now())
        ind = settings.indicator(fixed.indicator)
        assert ind is not None
        values = {**fixed.values, "unions": 4}
        await reports_uc.update(
            tx,
            oc,
            settings,
            report_id=2,
            indicator=ind,
            values=values,
            added_photos=(),
            now=h.clock.now(),
        )
        assert await totals.differences(tx) == []
        trail = await review.trail(tx, oc, 2)
        assert [(e.action, e.before, e.after, e.reason) for e in trail] == [
            ("returned", "submitted", "returned", "Thiếu ảnh"),
            ("resubmitted", "returned", "submitted", None),
        ]
        c = await caller_of(h, tx, head)
        card = await review.next_card(tx, c, settings)
        assert card is not None and card.report.id == 2 and card.report.version == 2
    # accepted-only totals count report 1 alone; all count both
    async with h.db.transaction() as tx:
        first, last = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
        everything, _ = await totals.half_sums(tx, ["ba_dinh"], first, last, {"gifts": set()})
        accepted, _ = await totals.half_sums(
            tx, ["ba_dinh"], first, last, {"gifts": set(), "new_unions": set()}, accepted_only=True
        )
        assert [(i, n) for _u, i, _t, n in everything] == [("gifts", 1.0)]
        assert [(i, n) for _u, i, _t, n in accepted] == [("gifts", 1.0)]
        assert await totals.waiting(tx, ["ba_dinh"], first, last) == 1


async def test_own_unit_two_reviewers_stale_cards_and_a_long_reason(rh: Harness) -> None:
    h = rh
    settings = h.dispatcher.settings
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)  # head of cum1
    deputy = await h.person(3, "hoan_kiem", Role.CLUSTER_HEAD)  # deputy of cum1
    other = await h.person(4, "tay_ho", Role.CLUSTER_HEAD)  # head of cum2
    own = await h.person(5, "long_bien")  # an officer of the head's own unit
    await saved(officer)
    await saved(own)
    now = h.clock.now()
    async with h.db.transaction() as tx:
        hc, dc = await caller_of(h, tx, head), await caller_of(h, tx, deputy)
        # the head's own unit's report is not in their queue, and refused if asked for
        card = await review.next_card(tx, hc, settings)
        assert card is not None and card.report.id == 1 and card.waiting == 1
        with pytest.raises(AccessDenied) as mine:
            await review.accept(tx, hc, settings, 2, 1, now)
        assert mine.value.key == "review.own_unit"
        # another cluster's head may not review cum1's reports
        with pytest.raises(AccessDenied):
            await review.accept(tx, await caller_of(h, tx, other), settings, 1, 1, now)
        # two reviewers press at once: the second is told who was first
        first = await review.accept(tx, dc, settings, 1, 1, now)
        second = await review.give_back(tx, hc, settings, 1, 1, "Sai số liệu", now)
        assert first.result is review.Result.DONE
        assert second.result is review.Result.TAKEN and second.by == "Người 3"
        assert second.report.review is ReviewState.ACCEPTED
        # a 5,000-character reason is refused politely
        with pytest.raises(UserInputError) as long:
            await review.give_back(tx, dc, settings, 2, 1, "x" * 5000, now)
        assert long.value.key == "review.reason_too_long"
        assert long.value.params["limit"] == 500
    # a stale card: the officer edited the report, then retracted it
    await saved(officer)  # report 3
    async with h.db.transaction() as tx:
        oc = await caller_of(h, tx, officer)
        r3 = await reports_uc.changeable(tx, oc, settings, 3, now)
        ind = settings.indicator(r3.indicator)
        assert ind is not None
        await reports_uc.update(
            tx,
            oc,
            settings,
            report_id=3,
            indicator=ind,
            values={**r3.values, "count": 21},
            added_photos=(),
            now=now,
        )
        hc = await caller_of(h, tx, head)
        edited = await review.accept(tx, hc, settings, 3, 1, now)
        assert edited.result is review.Result.EDITED and edited.report.version == 2
        await reports_uc.retract(tx, oc, settings, 3, now)
        gone = await review.accept(tx, hc, settings, 3, 2, now)
        assert gone.result is review.Result.RETRACTED
        assert await totals.differences(tx) == []


async def test_a_returned_report_in_a_closed_period_is_refused_politely(rh: Harness) -> None:
    h = rh
    settings = h.dispatcher.settings
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await saved(officer)
    async with h.db.transaction() as tx:
        await review.give_back(
            tx, await caller_of(h, tx, head), settings, 1, 1, "Thiếu ảnh", h.clock.now()
        )
    h.clock.advance(days=150)  # đợt 1 closed 15 days after 30/6
    async with h.db.transaction() as tx:
        with pytest.raises(UserInputError) as closed:
            await reports_uc.changeable(
                tx, await caller_of(h, tx, officer), settings, 1, h.clock.now()
            )
        assert closed.value.key == "err.period_closed"  # offers "xin mở khóa"


async def test_reviewers_role_and_bulk_accept_and_reminders(tmp_path: Path, database: str) -> None:
    h = await make(tmp_path, database, by=Reviewers.REVIEWER, standings=Counted.ACCEPTED)
    try:
        settings = h.dispatcher.settings
        a = await h.person(1, "ba_dinh")
        b = await h.person(2, "tay_ho")
        checker = await h.person(3, "hai_ba_trung", Role.REVIEWER)
        head = await h.person(4, "long_bien", Role.CLUSTER_HEAD)
        for _ in range(3):
            await saved(a)
        await saved(b)
        async with h.db.transaction() as tx:
            with pytest.raises(AccessDenied):  # heads do not review in this configuration
                await review.next_card(tx, await caller_of(h, tx, head), settings)
            rc = await caller_of(h, tx, checker)
            assert [(u, n) for u, n, _ in await review.summary(tx, rc, settings)] == [
                ("ba_dinh", 3),
                ("tay_ho", 1),
            ]
            assert await review.reviewers_to_remind(tx, settings, h.clock.now()) == []
        h.clock.advance(days=4)
        async with h.db.transaction() as tx:
            due = await review.reviewers_to_remind(tx, settings, h.clock.now())
            assert [(p.name, n) for p, n in due] == [("Người 3", 4)]
            rc = await caller_of(h, tx, checker)
            assert (
                await review.accept_unit(tx, rc, settings, "ba_dinh", h.clock.now(), h.clock.now())
                == 3
            )
            assert [(u, n) for u, n, _ in await review.summary(tx, rc, settings)] == [("tay_ho", 1)]
            assert await totals.differences(tx) == []
    finally:
        await h.close()


def done(row: UnitStanding) -> float:
    """What a unit did on the grassroots-unions criterion."""
    return sum(c.done for c in row.criteria if c.criterion.measure == "new_unions")


async def test_standings_say_provisional_or_count_accepted_only(
    tmp_path: Path, database: str
) -> None:
    """All reports (the default) are counted and the text says how many wait; accepted
    only leaves them out and says so. The figure moves when the report is accepted."""
    for counted in (Counted.ALL, Counted.ACCEPTED):
        folder = tmp_path / counted.value
        folder.mkdir()
        h = await make(folder, database if counted is Counted.ALL else "", standings=counted)
        try:
            settings = h.dispatcher.settings
            officer = await h.person(1, "ba_dinh")
            head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
            await saved(officer, "thành lập 3 công đoàn cơ sở ngày 1/3")
            text = (await head.send("/standings"))[0].text
            period = Period(PeriodKind.YEAR, 2026, 1)
            async with h.db.transaction() as tx:
                before, _ = await standings.with_rates(tx, settings, "cum1", period, h.clock.now())
            row = next(r for r in before.standings.rows if r.unit.code == "ba_dinh")
            assert before.unreviewed == 1
            if counted is Counted.ALL:
                assert "Tạm tính: gồm 1 báo cáo chưa duyệt" in text
                assert done(row) == 3
            else:
                assert "Chỉ tính báo cáo đã duyệt; 1 báo cáo" in text
                assert done(row) == 0
            async with h.db.transaction() as tx:
                await review.accept(tx, await caller_of(h, tx, head), settings, 1, 1, h.clock.now())
            text = (await head.send("/standings"))[0].text
            assert "Tạm tính" not in text and "Chỉ tính báo cáo đã duyệt" not in text
            async with h.db.transaction() as tx:
                after, _ = await standings.with_rates(tx, settings, "cum1", period, h.clock.now())
            moved = next(r for r in after.standings.rows if r.unit.code == "ba_dinh")
            assert after.unreviewed == 0 and done(moved) == 3
        finally:
            await h.close()


async def test_reviewers_are_reminded_of_old_reports_once_a_day_with_snooze(rh: Harness) -> None:
    """Daily at [reminders] at (08:30): the head of cum1 is told of reports waiting more than
    3 days, once a day; "Nhắc lại sau" silences it until tomorrow; quiet hours move it."""
    h = rh
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await saved(officer)
    job = Job(
        "review_reminders",
        CronTrigger(minute=30, hour=8, timezone=VN),
        ReviewReminders(h.dispatcher.settings, h.catalog).fire,
    )
    scheduler = Scheduler(h.db, h.clock, [job])

    async def tick(day: int, hour: int = 8, minute: int = 31) -> list[Sent]:
        h.clock.current = dt.datetime(2026, 3, day, hour, minute, tzinfo=VN)
        await scheduler.tick()
        return [s for s in await h.collect() if s.chat_id == head.chat_id]

    async def press(sent: Sent, label: str) -> str:
        button = next(b for b in sent.buttons if label in b.label)
        return (await head.press_data(button.data, sent.message_id))[0].text

    assert await tick(11) == []  # one day old
    told = await tick(14)  # more than 3 days
    assert len(told) == 1 and "Có 1 báo cáo chờ bạn duyệt đã quá 3 ngày" in told[0].text
    assert await tick(14, 9) == []  # once a day
    assert "Đã hoãn" in await press(told[0], "Nhắc lại sau")
    assert await tick(15) == []  # snoozed until tomorrow at the same time (08:31)
    again = await tick(16)
    assert len(again) == 1
    assert "Báo cáo #1 chờ duyệt" in await press(again[0], "Duyệt ngay")


async def test_a_decision_on_a_report_read_before_another_was_saved_changes_nothing(
    rh: Harness,
) -> None:
    """The race underneath "one wins": a reviewer's copy read before the other reviewer's
    decision committed (another process) is refused by the conditional update, and the
    trail and totals hold the winner's decision only."""
    h = rh
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await saved(officer)
    async with h.db.transaction() as tx:
        stale = await reports_repo.get(tx, 1)
    assert stale is not None and stale.review is ReviewState.SUBMITTED
    async with h.db.transaction() as tx:
        c = await caller_of(h, tx, head)
        won = await review.accept(tx, c, h.dispatcher.settings, 1, 1, h.clock.now())
        assert won.result is review.Result.DONE
    async with h.db.transaction() as tx:
        lost = await review_repo.change(
            tx,
            stale,
            to=ReviewState.RETURNED,
            action="returned",
            person_id=2,
            now=h.clock.now(),
            reason="Sai",
        )
        assert lost is False
        assert [e.action for e in await review_repo.history(tx, [1])] == ["accepted"]
        assert await totals.differences(tx) == []
