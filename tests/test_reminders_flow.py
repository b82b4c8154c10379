"""Deadlines end to end through the dispatcher: who is reminded, buttons, digest, commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduler import Job, Scheduler
from domain.models import Role
from handlers.reminders import Reminders
from tests.harness import FakeClock, Harness, Sent, User

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def setup(tmp_path, database) -> AsyncIterator[tuple[Harness, Scheduler]]:
    h = await Harness.create(
        tmp_path, FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN)), database=database
    )
    job = Job(
        "reminders",
        CronTrigger(minute="*/5", timezone=VN),
        Reminders(h.dispatcher.settings, h.catalog).fire,
        grace=dt.timedelta(hours=12),
    )
    yield h, Scheduler(h.db, h.clock, [job])
    await h.close()


async def person(h: Harness, user_id: int, unit: str, role: Role, name: str) -> User:
    user = h.user(user_id, name)
    await user.register(await h.invite(unit, role))
    return user


async def tick_at(
    h: Harness, scheduler: Scheduler, day: int, month: int = 6, hour: int = 8, minute: int = 31
) -> list[Sent]:
    h.clock.current = dt.datetime(2026, month, day, hour, minute, tzinfo=VN)
    await scheduler.tick()
    return await h.collect()


def to(sent: list[Sent], user: User) -> list[Sent]:
    return [s for s in sent if s.chat_id == user.chat_id]


async def press(user: User, sent: Sent, label: str) -> list[Sent]:
    button = next(b for b in sent.buttons if label in b.label)
    return await user.press_data(button.data, sent.message_id)


async def test_only_officers_of_owing_units_are_reminded_and_buttons_work(setup) -> None:
    h, scheduler = setup
    an = await person(h, 1, "hoan_kiem", Role.OFFICER, "An")
    binh = await person(h, 2, "long_bien", Role.OFFICER, "Bình")
    chu = await person(h, 3, "hoan_kiem", Role.CHAIR, "Chủ tịch Hoàn Kiếm")
    head = await person(h, 4, "long_bien", Role.CLUSTER_HEAD, "Cụm trưởng")
    await h.collect()

    sent = await tick_at(h, scheduler, 27)  # 3 days before 30/6 (cba, đợt 1)
    mine = to(sent, an)
    assert len(mine) == 1 and "Báo cáo thỏa ước lao động tập thể" in mine[0].text
    assert (
        "6 tháng đầu năm 2026" in mine[0].text
        and "30/06/2026" in mine[0].text
        and "còn 3 ngày" in mine[0].text
    )
    assert [b.label for b in mine[0].buttons] == [
        "📝 Báo cáo ngay",
        "Không có hoạt động",
        "⏰ Nhắc lại sau",
    ]
    assert len(to(sent, binh)) == 1
    assert to(sent, chu) == [] and to(sent, head) == []
    assert await scheduler.tick() == [] and await h.collect() == []  # no second copy

    declared = await press(an, mine[0], "Không có hoạt động")
    assert "không có hoạt động" in declared[0].text
    stale = await press(an, mine[0], "Báo cáo ngay")  # the old button, after the fact
    assert "đã báo “Không có hoạt động”" in stale[0].text

    form = await press(binh, to(sent, binh)[0], "Báo cáo ngay")
    assert "Thỏa ước lao động tập thể" in form[0].text  # straight into the cba form
    await binh.send("3")
    dates = await binh.send("bỏ qua")
    assert "📅 27/06/2026" in [b.label for b in dates[0].buttons]
    await binh.press("📅 27/06/2026")
    await binh.press("Lưu")
    again = await press(binh, to(sent, binh)[0], "Báo cáo ngay")
    assert "đã báo cáo" in again[0].text and "#1" in again[0].text

    sent = await tick_at(h, scheduler, 29)  # 1 day before: both units are done now
    assert to(sent, an) == [] and to(sent, binh) == []


async def test_escalation_digest_and_a_unit_without_officers(setup) -> None:
    h, scheduler = setup
    an = await person(h, 1, "hoan_kiem", Role.OFFICER, "An")
    chu = await person(h, 3, "hoan_kiem", Role.CHAIR, "Chủ tịch")
    head = await person(h, 4, "long_bien", Role.CLUSTER_HEAD, "Cụm trưởng")
    await h.collect()
    for day in (27, 28, 29, 30):
        await tick_at(h, scheduler, day)
    sent = await tick_at(h, scheduler, 1, month=7)  # 1 day overdue
    assert "đã quá hạn 1 ngày" in to(sent, an)[0].text
    digest = to(sent, head)
    assert len(digest) == 1 and "Các đơn vị chưa báo cáo" in digest[0].text
    assert "LĐLĐ quận Hoàn Kiếm" in digest[0].text
    assert "LĐLĐ quận Ba Đình — chưa có người báo cáo" in digest[0].text
    assert "Quận Tây Hồ" not in digest[0].text  # another cluster
    assert to(sent, chu) == []
    sent = await tick_at(h, scheduler, 2, month=7)  # 2 days overdue: the chair is told
    assert "Đồng chí Chủ tịch vui lòng nhắc" in to(sent, chu)[0].text


async def test_snooze_mute_and_a_person_who_left(setup) -> None:
    h, scheduler = setup
    an = await person(h, 1, "hoan_kiem", Role.OFFICER, "An")
    binh = await person(h, 2, "hoan_kiem", Role.OFFICER, "Bình")
    cuong = await person(h, 5, "hoan_kiem", Role.OFFICER, "Cường")
    await h.collect()
    assert "Đã tắt" in (await binh.send("/mute"))[0].text
    async with h.db.transaction() as tx:
        from storage import people

        gone = await people.by_identity(tx, "test", cuong.id)
        assert gone is not None
        await people.deactivate(tx, gone.id)  # Cường left the unit
    sent = await tick_at(h, scheduler, 27)
    assert len(to(sent, an)) == 1 and to(sent, binh) == [] and to(sent, cuong) == []
    first = await press(an, to(sent, an)[0], "Nhắc lại sau")
    second = await press(an, to(sent, an)[0], "Nhắc lại sau")
    assert "08:31 28/06/2026" in first[0].text and first[0].text == second[0].text
    sent = await tick_at(h, scheduler, 28, minute=36)  # the 08:35 firing covers 08:31
    assert len(to(sent, an)) == 1  # the snoozed reminder comes back once
    sent = await tick_at(h, scheduler, 29)
    assert len(to(sent, an)) == 1 and len(to(sent, binh)) == 0  # muted: no "before" nudge
    sent = await tick_at(h, scheduler, 30)
    assert len(to(sent, binh)) == 1  # due-day reminders are not muted


async def test_deadlines_missing_completeness_commands(setup) -> None:
    h, _ = setup
    an = await person(h, 1, "hoan_kiem", Role.OFFICER, "An")
    head = await person(h, 4, "long_bien", Role.CLUSTER_HEAD, "Cụm trưởng")
    deadlines = (await an.send("/deadlines"))[0].text
    assert (
        "Báo cáo thỏa ước lao động tập thể — 6 tháng đầu năm 2026: hạn 30/06/2026 — chưa báo cáo"
        in deadlines
    )
    assert "tháng 6/2026: hạn 20/07/2026" in deadlines
    assert "dành cho Cụm trưởng" in (await an.send("/missing"))[0].text
    missing = (await head.send("/missing tháng 5"))[0].text
    assert "tháng 5/2026: 6 đơn vị chưa báo cáo" in missing and "LĐLĐ quận Hoàn Kiếm" in missing
    assert "Không hiểu kỳ" in (await head.send("/missing đợt 3"))[0].text
    rates = (await head.send("/completeness"))[0].text
    # Monthly reports for January–May are due (May's on 20/6); the half-year one only on
    # 30/6: it is "not due yet", never 0 %.
    assert "Tỷ lệ báo cáo cả năm 2026" in rates
    assert "LĐLĐ quận Long Biên: 0/5 = 0,0% · đúng hạn 0,0%" in rates
    assert "LĐLĐ quận Long Biên: chưa có báo cáo nào đến hạn" in rates
