"""Nobody reaches another cluster's data: the outsiders' findings, one by one, end to end."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.cli import MaskCodes
from bot.config import load_config
from bot.scheduler import Job, Scheduler
from domain.access import POLICY, Action, Actor, ActorRole, Target, actor_for, decide
from domain.messages import ChatType, InboundKind
from domain.models import ClusterRole, Language, Role
from handlers.reminders import Reminders
from runtime.dispatcher import Dispatcher
from storage import org, people
from storage.db import Database
from tests.harness import EXAMPLE, FakeClock, Harness, User
from tests.test_cli import thidua

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = "-100222"


@pytest.fixture
async def h(tmp_path, database) -> AsyncIterator[Harness]:
    harness = await Harness.create(
        tmp_path, FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN)), database=database
    )
    yield harness
    await harness.close()


def in_group(h: Harness, user: User, chat: str = GROUP) -> User:
    member = h.user(int(user.id), user.name)
    member.chat_id, member.chat_type = chat, ChatType.GROUP
    return member


# ---- the policy itself ----------------------------------------------------------------------


def test_heads_come_from_this_years_membership_not_the_person() -> None:
    this_year = {
        "long_bien": ("cum1", ClusterRole.HEAD),
        "hoan_kiem": ("cum1", ClusterRole.DEPUTY),
        "dong_da": ("cum1", ClusterRole.MEMBER),
    }
    last_years_head = actor_for(Role.CLUSTER_HEAD, "dong_da", this_year)
    assert last_years_head.roles == {ActorRole.OFFICER}
    head = actor_for(Role.CLUSTER_HEAD, "long_bien", this_year)
    assert head.heads == {"cum1"} and ActorRole.CLUSTER_HEAD in head.roles
    deputy = actor_for(Role.CLUSTER_HEAD, "hoan_kiem", this_year)
    assert deputy.deputises == {"cum1"}
    cum1 = Target(cluster="cum1")
    assert decide(head, Action.EXPORT, cum1).allowed
    assert decide(deputy, Action.EXPORT, cum1).allowed
    assert not decide(deputy, Action.LINKGROUP, cum1).allowed
    assert decide(last_years_head, Action.EXPORT, cum1).reason == "err.cluster_heads_only"
    assert not decide(head, Action.EXPORT, Target(cluster="cum2")).allowed
    # in a group, only the group's own cluster, even for an admin
    admin = Actor(ActorRole.ADMIN, 9, "hai_ba_trung", "cum1")
    assert decide(admin, Action.MISSING, Target(federation=True)).allowed
    elsewhere = Target(cluster="cum2", in_group=True, group_cluster="cum1")
    assert decide(admin, Action.MISSING, elsewhere).reason == "access.group_other_cluster"


# ---- groups: /export, /linkgroup, /missing, /completeness -----------------------------------


async def test_a_head_of_another_cluster_can_neither_export_nor_relink_a_group(h: Harness) -> None:
    head = await h.person(1, "long_bien", Role.CLUSTER_HEAD)  # cum1's head in 2026
    other = await h.person(2, "tay_ho", Role.CLUSTER_HEAD)  # cum2's head in 2026
    officer = await h.person(3, "ba_dinh")
    await officer.send("tặng 20 suất quà nhân dịp tết ngày 1/3")
    await officer.press("Lưu")
    assert "Đã gắn nhóm" in (await in_group(h, head).send("/linkgroup"))[0].text
    intruder = in_group(h, other)
    refused = await intruder.send("/export 2026")
    assert len(refused) == 1 and refused[0].reply.attachment is None
    relink = (await intruder.send("/linkgroup"))[0].text
    assert "Đã gắn" not in relink and "cụm" in relink
    assert await h.scalar("SELECT cluster_code FROM cluster_groups") == "cum1"
    missing = (await intruder.send("/missing"))[0].text
    assert "Ba Đình" not in missing and "Tây Hồ" not in missing
    # their own group is theirs to link
    assert "Đã gắn nhóm" in (await in_group(h, other, "-100333").send("/linkgroup"))[0].text


async def test_missing_and_completeness_answer_for_the_groups_cluster(h: Harness) -> None:
    h.clock.current = dt.datetime(2026, 4, 25, 9, 0, tzinfo=VN)  # March's report is overdue
    head = await h.person(1, "long_bien", Role.CLUSTER_HEAD)
    admin = await h.person(9, "hai_ba_trung", Role.ADMIN)
    await in_group(h, head).send("/linkgroup")
    for command in ("/missing", "/completeness"):
        text = (await in_group(h, admin).send(command))[0].text
        assert "Ba Đình" in text and "Tây Hồ" not in text and "Cầu Giấy" not in text
    everything = (await admin.send("/missing"))[0].text  # privately: the whole federation
    assert "Ba Đình" in everything and "Tây Hồ" in everything
    own = (await head.send("/missing"))[0].text
    assert "Ba Đình" in own and "Tây Hồ" not in own


async def test_last_years_head_loses_export_and_missing(h: Harness) -> None:
    """Đống Đa headed cum1 in 2025; in 2026 Long Biên does (config.example.toml)."""
    last_year = await h.person(1, "dong_da", Role.CLUSTER_HEAD)
    this_year = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    officer = await h.person(3, "ba_dinh")
    await officer.send("tặng 20 suất quà nhân dịp tết ngày 1/3")
    await officer.press("Lưu")
    for command in ("/export 2026", "/missing", "/completeness"):
        refused = await last_year.send(command)
        assert "dành cho Cụm trưởng" in refused[0].text and refused[-1].reply.attachment is None
    help_text = (await last_year.send("/help"))[0].text
    assert "/missing" not in help_text and "Bạn là cán bộ" in help_text
    exported = await this_year.send("/export 2026")
    assert exported[-1].reply.attachment is not None
    assert "/missing" in (await this_year.send("/help"))[0].text


async def test_the_digest_goes_to_this_years_head(tmp_path) -> None:
    h = await Harness.create(tmp_path, FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN)))
    try:
        last_year = await h.person(1, "dong_da", Role.CLUSTER_HEAD)
        this_year = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
        await h.collect()
        reminders = Reminders(h.dispatcher.settings, h.catalog)
        async with h.db.transaction() as tx:
            start = dt.datetime(2026, 7, 1, tzinfo=VN)
            planned = await reminders.plan(tx, start, start + dt.timedelta(days=40))
        digests = [p for p in planned if "digest" in p.kind]
        assert digests and {p.person.id for p in digests} == {2}
        assert last_year.id != this_year.id
    finally:
        await h.close()


# ---- reminder buttons -----------------------------------------------------------------------


@pytest.fixture
async def reminded(tmp_path) -> AsyncIterator[tuple[Harness, Scheduler]]:
    h = await Harness.create(tmp_path, FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN)))
    job = Job(
        "reminders",
        CronTrigger(minute="*/5", timezone=VN),
        Reminders(h.dispatcher.settings, h.catalog).fire,
        grace=dt.timedelta(hours=12),
    )
    yield h, Scheduler(h.db, h.clock, [job])
    await h.close()


async def test_an_edited_reminder_button_is_refused_and_stores_nothing(reminded) -> None:
    h, scheduler = reminded
    an = await h.person(1, "hoan_kiem")
    binh = await h.person(2, "long_bien")
    await h.collect()
    h.clock.current = dt.datetime(2026, 6, 27, 8, 31, tzinfo=VN)
    await scheduler.tick()
    sent = [s for s in await h.collect() if s.chat_id == an.chat_id]
    nothing = next(b for s in sent for b in s.buttons if "Không có hoạt động" in b.label)
    period = nothing.data.split(":")[3]
    for forged in (
        nothing.data.replace(period, "2026-12"),  # a future month, never offered
        nothing.data.replace(period, "2026-H2"),
        ":".join(nothing.data.split(":")[:4]),  # the signature dropped
        nothing.data[:-1] + ("a" if nothing.data[-1] != "a" else "b"),
    ):
        reply = (await an.press_data(forged))[0].text
        assert "không phải do bot gửi" in reply
    copied = (await binh.press_data(nothing.data))[0].text  # issued to An's chat, not Bình's
    assert "không phải do bot gửi" in copied
    assert await h.scalar("SELECT COUNT(*) FROM declarations") == 0
    assert "Đã ghi nhận" in (await an.press_data(nothing.data))[0].text  # the real one works
    assert await h.scalar("SELECT period_key FROM declarations") == period


# ---- people who left ------------------------------------------------------------------------


async def test_a_deactivated_person_gets_no_reminders_cannot_report_and_keeps_reports(
    reminded,
) -> None:
    h, scheduler = reminded
    admin = await h.person(9, "hai_ba_trung", Role.ADMIN)
    gone = await h.person(1, "hoan_kiem")
    colleague = await h.person(2, "hoan_kiem")
    await gone.send("tặng 20 suất quà nhân dịp tết ngày 1/6")
    await gone.press("Lưu")
    listing = (await admin.send("/people"))[0].text
    assert "#2 Người 1" in listing and "LĐLĐ quận Hoàn Kiếm" in listing
    assert "Đã khóa #2" in (await admin.send("/people deactivate 2"))[0].text
    assert "đã khóa" in (await admin.send("/people"))[0].text
    for attempt in ("/report", "tặng 5 suất quà", "/myreports", "/lang en"):
        assert "đã bị khóa" in (await gone.send(attempt))[0].text
    assert "đã bị khóa" in (await gone.send(f"/start {await h.invite('ba_dinh')}"))[0].text
    assert await h.scalar("SELECT COUNT(*) FROM people") == 3  # no second registration
    assert "#1" in (await colleague.send("/myreports"))[0].text  # the report stays
    await h.collect()
    h.clock.current = dt.datetime(2026, 6, 27, 8, 31, tzinfo=VN)
    await scheduler.tick()
    sent = await h.collect()
    assert [s for s in sent if s.chat_id == gone.chat_id] == []
    assert [s for s in sent if s.chat_id == colleague.chat_id] != []
    assert "không thể tự khóa" in (await admin.send("/people deactivate 1"))[0].text
    assert "Không có người dùng số 99" in (await admin.send("/people deactivate 99"))[0].text
    assert "/people deactivate SỐ" in (await admin.send("/people fire 2"))[0].text
    assert "dành cho quản trị viên" in (await colleague.send("/people"))[-1].text
    assert "Đã mở lại #2" in (await admin.send("/people reactivate 2"))[0].text
    assert "Bạn muốn báo cáo" in (await gone.send("/report"))[0].text


async def test_thidua_people_list_deactivate_reactivate(tmp_path: Path) -> None:
    config_path = tmp_path / "c.toml"
    config_path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(config_path)
    async with Database(tmp_path / "thidua.sqlite3") as db, db.transaction() as tx:
        await org.sync(tx, config.units, config.clusters)
        await people.create(
            tx,
            name="Trần Thị Bình",
            unit_code="long_bien",
            role=Role.OFFICER,
            language=Language.VI,
            channel="telegram",
            platform_id="42",
            now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )
    listed = thidua("--lang", "en", "people", "list", "--config", str(config_path))
    assert listed.returncode == 0, listed.stderr
    assert "Trần Thị Bình" in listed.stdout and "1 active" in listed.stdout
    off = thidua("--lang", "en", "people", "deactivate", "1", "--config", str(config_path))
    assert off.returncode == 0 and "deactivated" in off.stdout
    again = thidua("--lang", "en", "people", "list", "--config", str(config_path))
    assert "DEACTIVATED" in again.stdout
    on = thidua("--lang", "en", "people", "reactivate", "1", "--config", str(config_path))
    assert on.returncode == 0 and "active" in on.stdout
    unknown = thidua("--lang", "en", "people", "deactivate", "7", "--config", str(config_path))
    assert unknown.returncode == 1 and "7" in unknown.stderr


# ---- invite and link codes are secrets ------------------------------------------------------


async def test_codes_are_sealed_in_the_inbox_and_a_pending_start_survives_a_restart(
    h: Harness,
) -> None:
    code = await h.invite("ba_dinh")
    user = h.user(5, "Lê Văn Cường")
    inbound = user.inbound(
        InboundKind.COMMAND, text=f"/start {code}", command="start", args=code.lower()
    )
    assert await h.dispatcher.receive(inbound)  # recorded, then the process dies
    stored = str(await h.scalar("SELECT payload_json FROM inbox"))
    bare = code.replace("-", "")
    assert code not in stored and bare not in stored and bare.lower() not in stored
    restarted = Dispatcher(
        h.db, h.dispatcher.settings, h.catalog, h.clock, router=h.dispatcher.router
    )
    assert await restarted.recover() == 1
    assert "Chào mừng Lê Văn Cường" in (await h.collect())[0].text

    shown = (await user.send("/link"))[0].text
    link_code = shown.split("Mã liên kết: ")[1].split(" ")[0]
    outbox = str(await h.rows("SELECT payload_json FROM outbox"))
    assert link_code not in outbox  # delivered: only the masked text is kept
    on_zalo = h.user(77, "Cường Zalo", channel="zalo")
    assert "Đã liên kết" in (await on_zalo.send(f"/link {link_code}"))[0].text
    inbox = str(await h.rows("SELECT payload_json FROM inbox"))
    assert link_code not in inbox and link_code.replace("-", "") not in inbox


async def test_codes_never_reach_the_debug_log(h: Harness, caplog, backend: str) -> None:
    caplog.set_level(logging.DEBUG)
    code = await h.invite("ba_dinh")
    user = h.user(6, "Phạm Thu")
    await user.send(f"/start {code}")
    shown = (await user.send("/link"))[0].text
    link_code = shown.split("Mã liên kết: ")[1].split(" ")[0]
    await h.user(66, channel="zalo").send(f"/link {link_code}")
    if backend == "sqlite":  # aiosqlite logs each call (asyncpg logs no statements)
        assert any(r.name == "aiosqlite" for r in caplog.records)  # it did log, at DEBUG
    for secret in (code, code.replace("-", ""), link_code, link_code.replace("-", "")):
        assert secret not in caplog.text
    # whatever else logs a code (PTB's DEBUG lines show updates): the handler filter masks it
    record = logging.LogRecord(
        "telegram.ext.ExtBot",
        logging.DEBUG,
        "",
        0,
        "update %s",
        ({"text": f"/start {code}"},),
        None,
    )
    assert MaskCodes().filter(record) and code not in record.getMessage()


# ---- /lang before registration --------------------------------------------------------------


async def test_lang_works_before_registration_and_registration_keeps_it(h: Harness) -> None:
    newcomer = h.user(8, "Mai")
    assert "English" in (await newcomer.send("/lang en"))[0].text
    assert "not registered" in (await newcomer.send("/report"))[0].text
    welcome = (await newcomer.register(await h.invite("ba_dinh")))[0].text
    assert welcome.startswith("Welcome")
    async with h.db.transaction() as tx:
        found = await people.by_identity(tx, "test", "8")
    assert found is not None and found.language == Language.EN


def test_every_action_has_a_rule() -> None:
    assert set(POLICY) == set(Action)


async def test_this_years_deputy_sees_the_cluster_but_does_not_link_groups(h: Harness) -> None:
    deputy = await h.person(1, "hoan_kiem", Role.CLUSTER_HEAD)  # cum1's deputy in 2026
    officer = await h.person(2, "ba_dinh")
    await officer.send("tặng 20 suất quà nhân dịp tết ngày 1/3")
    await officer.press("Lưu")
    assert "Bạn là Cụm phó" in (await deputy.send("/help"))[0].text
    assert (await deputy.send("/export 2026"))[-1].reply.attachment is not None
    refused = (await in_group(h, deputy).send("/linkgroup"))[0].text
    assert "Chỉ Cụm trưởng" in refused
    assert await h.scalar("SELECT COUNT(*) FROM cluster_groups") == 0
