"""Closing periods: finalising a cluster's standings (snapshot immutability, twice, open
items, reopen with a reason, the export), and unlock requests (grant, refuse, expiry on an
injected clock, two deciders at once), through the real dispatcher and SQLite.

The clock is 10/03/2026: 2025's second half closed on 15/01/2026 (15 days after it ended).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.config import load_config
from domain.access import Action
from domain.errors import UserInputError
from domain.messages import ChatType
from domain.models import Role
from domain.periods import Period, PeriodKind
from domain.review import Counted, Reviewers, ReviewRules
from domain.snapshots import Snapshot, make_snapshot
from handlers.standings import GroupPosts
from storage import finalised as finalised_repo
from storage import targets
from tests.harness import EXAMPLE, FakeClock, Harness, Sent, User
from tests.test_cli import thidua
from usecases import exports, finalize
from usecases import standings as ranking
from usecases.access import OPERATOR, Caller

VN = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = Period(PeriodKind.YEAR, 2026, 1)


pytestmark = pytest.mark.both_backends


@pytest.fixture
async def h(tmp_path: Path, database: str) -> AsyncIterator[Harness]:
    clock = FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN))
    harness = await Harness.create(tmp_path, clock, database=database)
    async with harness.db.transaction() as tx:
        await targets.sync_from_config(
            tx, [t.target() for t in harness.config.targets], harness.clock.now()
        )
    yield harness
    await harness.close()


async def founded_on(user: User, unions: int, day: str = "1/3") -> list[str]:
    """A quick report of `unions` grassroots unions founded on `day`, saved."""
    await user.send(f"thành lập {unions} công đoàn cơ sở ngày {day}")
    return [r.text for r in await user.press("Lưu")]


async def standing(h: Harness) -> Snapshot:
    async with h.db.transaction() as tx:
        found = await finalised_repo.standing(tx, "cum1", YEAR.key)
    assert found is not None
    return found


async def live_score(h: Harness, unit: str) -> float:
    async with h.db.transaction() as tx:
        result, _ = await ranking.of_cluster(
            tx, OPERATOR_IN_CUM1, h.dispatcher.settings, YEAR, h.clock.now()
        )
    row = result.standings.of(unit)
    assert row is not None
    return row.score


OPERATOR_IN_CUM1 = Caller(OPERATOR.actor, 2026, True, "cum1")  # as asked in cum1's group


def last_to(h: Harness, user: User) -> Sent:
    """The last message with buttons the bot sent to `user`'s chat (whoever caused it)."""
    return next(s for s in reversed(h.delivered) if s.chat_id == user.chat_id and s.buttons)


async def press_in(h: Harness, user: User, label: str) -> str:
    """Press `label` on the last message with buttons in `user`'s chat."""
    sent = last_to(h, user)
    button = next(b for b in sent.buttons if label in b.label)
    return (await user.press_data(button.data, sent.message_id))[0].text


async def test_finalise_then_change_a_report_the_snapshot_stays(h: Harness) -> None:
    lb = await h.person(1, "long_bien")  # an officer of Long Biên
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)  # Long Biên heads cum1 in 2026
    saved = await founded_on(lb, 10)
    assert "Đã lưu báo cáo #1" in saved[0]
    preview = (await head.send("/finalize 2026"))[0]
    assert "🔒 Chốt số liệu cả năm 2026 — Cụm thi đua số 1" in preview.text
    assert "Còn dang dở:" in preview.text and "LĐLĐ quận Hoàn Kiếm: mới gửi 0/" in preview.text
    assert [b.label for b in preview.buttons] == ["🔒 Chốt số liệu", "❌ Hủy"]
    done = (await head.press("Chốt số liệu"))[0].text
    assert "🔒 Đã chốt cả năm 2026 của Cụm thi đua số 1 lúc 09:00 10/03/2026" in done
    assert "1. LĐLĐ quận Long Biên —" in done
    snapshot = await standing(h)
    before = snapshot.row("long_bien")
    assert before is not None and before.report_ids == (1,)
    new_unions = next(f for f in before.figures if f.measure == "new_unions")
    assert new_unions.done == 10 and new_unions.report_ids == (1,)
    assert snapshot.finalised_by_name == "Người 2" and snapshot.open_items.missing
    frozen = before.score
    assert await live_score(h, "long_bien") == pytest.approx(frozen)

    # A report changed and another added after finalising: the live standings move ...
    h.clock.advance(hours=1)
    await lb.send("/edit 1")
    await lb.press("Sửa")
    await lb.press("Số CĐCS")
    await lb.send("20")
    assert "Đã cập nhật báo cáo #1" in (await lb.press("Lưu"))[0].text
    await founded_on(lb, 5, "2/3")
    assert await live_score(h, "long_bien") > frozen
    # ... the snapshot stays, and /standings shows it, saying when it was finalised.
    again = await standing(h)
    assert again == snapshot
    shown = (await lb.send("/standings 2026"))[0].text
    assert "🔒 Đã chốt ngày 10/03/2026 (Người 2)" in shown
    assert f"1. LĐLĐ quận Long Biên · {before.format_score('vi')} điểm" in shown
    assert "không thay đổi theo báo cáo mới" in shown
    why = next(b for b in (await lb.send("/standings 2026"))[0].buttons if "Long Biên" in b.label)
    explained = (await lb.press_data(why.data))[0].text
    assert "10/20" in explained and "35/20" not in explained  # the finalised figure


async def test_finalising_twice_is_refused_naming_when_and_who(h: Harness) -> None:
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    admin = await h.person(3, "hai_ba_trung", Role.ADMIN)
    await head.send("/finalize 2026")
    await head.press("Chốt số liệu")
    h.clock.advance(minutes=5)
    refused = (await admin.send("/finalize 2026"))[0].text
    assert "cả năm 2026 của Cụm thi đua số 1 đã được chốt lúc 09:00 10/03/2026 bởi Người 2" in (
        refused
    )
    # the use case refuses the same, and nothing more is stored
    async with h.db.transaction() as tx:
        with pytest.raises(UserInputError) as twice:
            await finalize.finalize(
                tx,
                OPERATOR,
                h.dispatcher.settings,
                YEAR,
                h.clock.now(),
                confirmed=True,
                cluster_code="cum1",
            )
    assert twice.value.key == "finalize.already" and twice.value.params["who"] == "Người 2"
    assert await h.scalar("SELECT COUNT(*) FROM finalised_periods") == 1


async def test_open_items_are_not_finalised_without_confirming(h: Harness) -> None:
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    async with h.db.transaction() as tx:
        with pytest.raises(UserInputError) as unconfirmed:
            await finalize.finalize(
                tx,
                OPERATOR,
                h.dispatcher.settings,
                YEAR,
                h.clock.now(),
                confirmed=False,
                cluster_code="cum1",
            )
    assert unconfirmed.value.key == "finalize.confirm_first"
    await head.send("/finalize 2026")
    assert "chọn 🔒 Chốt số liệu hoặc ❌ Hủy" in (await head.send("được"))[0].text
    assert "Đã hủy, chưa chốt gì" in (await head.send("hủy"))[0].text
    await head.send("/finalize 2026")
    assert "Đã hủy" in (await head.press("Hủy"))[0].text
    assert await h.scalar("SELECT COUNT(*) FROM finalised_periods") == 0
    # a deputy or an officer may not finalise; the head of another cluster only theirs
    deputy = await h.person(4, "hoan_kiem", Role.CLUSTER_HEAD)  # Hoàn Kiếm deputises cum1
    assert "dành cho Cụm trưởng" in (await deputy.send("/finalize 2026"))[0].text
    other = await h.person(5, "tay_ho", Role.CLUSTER_HEAD)
    assert "Cụm thi đua số 2" in (await other.send("/finalize 2026"))[0].text


async def test_reopen_is_an_admins_with_a_reason_in_the_trail(h: Harness) -> None:
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    admin = await h.person(3, "hai_ba_trung", Role.ADMIN)
    await head.send("/finalize 2026")
    await head.press("Chốt số liệu")
    assert "dành cho quản trị viên" in (await head.send("/reopen 2026 cum1 sai"))[0].text
    assert "Vui lòng ghi lý do" in (await admin.send("/reopen 2026 cum1"))[0].text
    long = "x" * 600
    assert "600 ký tự" in (await admin.send(f"/reopen 2026 cum1 {long}"))[0].text
    h.clock.advance(hours=2)
    reopened = (await admin.send("/reopen 2026 cum1 số liệu Ba Đình nhập sai"))[0].text
    assert "🔓 Đã mở lại cả năm 2026 của Cụm thi đua số 1" in reopened
    assert "Đã chốt ngày" not in (await head.send("/standings 2026"))[0].text
    async with h.db.transaction() as tx:
        trail = await finalize.trail(tx, OPERATOR, YEAR, "cum1")
        kept = await finalised_repo.reopened(tx, "cum1", YEAR.key)
    assert [(e.action, e.reason) for e in trail] == [
        ("finalised", None),
        ("reopened", "số liệu Ba Đình nhập sai"),
    ]
    assert trail[1].at - trail[0].at == dt.timedelta(hours=2)
    assert len(kept) == 1 and kept[0].reason == "số liệu Ba Đình nhập sai"
    # finalised anew: a second snapshot stands
    await head.send("/finalize 2026")
    assert "Đã chốt" in (await head.press("Chốt số liệu"))[0].text
    assert await h.scalar("SELECT COUNT(*) FROM finalised_periods") == 2
    assert "chưa được chốt" in (await admin.send("/reopen 2025 cum1 thử"))[0].text


async def test_the_export_of_a_finalised_period_shows_the_snapshot(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await founded_on(lb, 10)
    await head.send("/finalize 2026")
    await head.press("Chốt số liệu")
    await founded_on(lb, 30, "2/3")  # after finalising: not in the finalised sheet
    async with h.db.transaction() as tx:
        cluster = await ranking.asked_cluster(tx, OPERATOR_IN_CUM1, Action.EXPORT, 2026)
        data = await exports.gather(
            tx,
            OPERATOR,
            h.dispatcher.settings,
            h.catalog,
            "vi",
            cluster,
            YEAR,
            h.clock.now(),
            hold_reports=True,
        )
    assert [f.stem for f in data.filed] == ["thidua-cum1-2026"]
    book = openpyxl.load_workbook(io.BytesIO(exports.render(data, h.catalog)))
    cells = [str(c.value) for row in book["Xếp hạng"].iter_rows() for c in row if c.value]
    assert "(Số liệu đã chốt ngày 10/03/2026)" in cells
    assert not any("tạm tính" in c for c in cells)
    assert len(list(book["Báo cáo"].iter_rows())) >= 3  # the reports sheet is the live one


def test_thidua_finalize_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            'database = "thidua.sqlite3"', f'database = "{tmp_path / "db.sqlite3"}"'
        ),
        encoding="utf-8",
    )
    base = ("finalize", "--period", "2025", "--cluster", "cum1", "--config", str(config))
    asked: subprocess.CompletedProcess[str] = thidua(*base)
    assert asked.returncode == 1, asked.stderr
    assert "Còn dang dở:" in asked.stdout and "chạy lại lệnh kèm --yes" in asked.stderr
    done = thidua(*base, "--yes")
    assert done.returncode == 0, done.stderr
    assert "Đã chốt cả năm 2025 của Cụm thi đua số 1" in done.stdout
    again = thidua(*base, "--yes")
    assert again.returncode == 1
    assert "đã được chốt lúc" in again.stderr and "bởi quản trị viên, dòng lệnh" in again.stderr
    no_reason = thidua(*base, "--reopen", " ")
    assert no_reason.returncode == 1 and "lý do" in no_reason.stderr
    reopened = thidua(*base, "--reopen", "chốt nhầm")
    assert reopened.returncode == 0, reopened.stderr
    assert "Đã mở lại cả năm 2025 của Cụm thi đua số 1" in reopened.stdout


# ---- unlock requests ------------------------------------------------------------------------


async def ask_unlock(officer: User) -> str:
    """A new_unions report dated 10/12/2025 (closed): refused with 🔓, asked with a reason."""
    await officer.send("/report")
    await officer.press("Thành lập CĐCS")
    await officer.send("3")
    await officer.press("Bỏ qua")
    refused = (await officer.send("10/12/2025"))[0]
    assert "kỳ này đã khóa sổ từ 15/01/2026" in refused.text
    assert "/unlock 2025-H2" in refused.text
    assert "Ngày thành lập" in refused.text  # the question stays open under the refusal
    reason = (await officer.press("Xin mở khóa 6 tháng cuối năm 2025"))[0]
    assert "Vì sao cần mở khóa?" in reason.text
    sent = await officer.press("Bổ sung báo cáo còn thiếu")
    return sent[0].text


async def report_dated(officer: User, day: str) -> str:
    await officer.send("/report")
    await officer.press("Thành lập CĐCS")
    await officer.send("3")
    await officer.press("Bỏ qua")
    answer = (await officer.send(day))[0]
    if "kiểm tra lại" not in answer.text:
        return answer.text
    return (await officer.press("Lưu"))[0].text


async def test_unlock_granted_for_a_while_then_closed_again(h: Harness) -> None:
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    sent = await ask_unlock(officer)
    assert "Đã gửi yêu cầu mở khóa 6 tháng cuối năm 2025 cho LĐLĐ quận Ba Đình tới Người 2" in (
        sent
    )
    request = last_to(h, head)
    assert "Người 1 (LĐLĐ quận Ba Đình) xin mở khóa 6 tháng cuối năm 2025" in request.text
    assert "Lý do: Bổ sung báo cáo còn thiếu" in request.text
    assert "đang chờ Cụm trưởng" in (await officer.send("/unlock 2025-H2"))[0].text
    granted = await press_in(h, head, "Đồng ý mở khóa")
    assert "✅ Đã mở khóa 6 tháng cuối năm 2025 cho LĐLĐ quận Ba Đình đến 09:00 12/03/2026" in (
        granted
    )
    told = [s.text for s in h.delivered if s.chat_id == officer.chat_id][-1]
    assert "Người 2 đã đồng ý mở khóa 6 tháng cuối năm 2025" in told
    assert "Đã lưu báo cáo" in await report_dated(officer, "10/12/2025")
    assert await h.scalar("SELECT occurred_on FROM reports") == "2025-12-10"
    # past the granted 48 hours the period is closed again
    h.clock.advance(hours=49)
    assert "đã khóa sổ" in await report_dated(officer, "11/12/2025")
    assert await h.scalar("SELECT COUNT(*) FROM reports") == 1


async def test_unlock_refused_and_two_deciders_at_once(h: Harness) -> None:
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    admin = await h.person(3, "hai_ba_trung", Role.ADMIN)
    await ask_unlock(officer)
    request = last_to(h, head)
    # a request waiting is an open item of the periods it overlaps
    preview = (await head.send("/finalize 2025"))[0].text
    assert "• Yêu cầu mở khóa đang chờ: LĐLĐ quận Ba Đình" in preview
    await head.send("/cancel")
    refuse = next(b for b in request.buttons if "Từ chối" in b.label)
    assert "❌ Đã từ chối mở khóa" in (await head.press_data(refuse.data))[0].text
    told = [s.text for s in h.delivered if s.chat_id == officer.chat_id][-1]
    assert "Người 2 đã từ chối yêu cầu mở khóa 6 tháng cuối năm 2025" in told
    # the admin presses the same request's ✅ a moment later: decided already, by whom
    grant = next(b for b in request.buttons if "Đồng ý" in b.label)
    late = (await admin.press_data(grant.data))[0].text
    assert "đã được Người 2 từ chối rồi" in late
    assert "đã khóa sổ" in await report_dated(officer, "10/12/2025")
    # the head of another cluster may not decide it
    other = await h.person(4, "tay_ho", Role.CLUSTER_HEAD)
    assert "Bạn chỉ xem và làm việc được với cụm" in (await other.press_data(grant.data))[0].text
    assert await h.scalar("SELECT status FROM period_unlocks") == "refused"


async def test_unlock_of_an_open_period_is_not_needed(h: Harness) -> None:
    officer = await h.person(1, "ba_dinh")
    assert "chưa khóa sổ" in (await officer.send("/unlock 2026-H1"))[0].text
    assert "ghi kỳ cần mở khóa" in (await officer.send("/unlock"))[0].text
    await officer.send("/unlock 2025-H2")
    assert "Đã hủy, chưa gửi" in (await officer.send("hủy"))[0].text
    await officer.send("/unlock 2025-H2")
    too_long = (await officer.send("x" * 5000))[0].text
    assert "Lý do dài 5000 ký tự" in too_long and "Vì sao cần mở khóa?" in too_long
    sent = (await officer.send("số liệu tháng 12 còn thiếu 2 CĐCS"))[0].text
    assert "Đã gửi yêu cầu mở khóa" in sent
    assert (
        await h.scalar("SELECT reason FROM period_unlocks") == "số liệu tháng 12 còn thiếu 2 CĐCS"
    )


async def test_an_edit_after_the_period_closed_goes_through_unlock(h: Harness) -> None:
    """A report of December corrected on 16/01 (within its edit window, the period closed on
    15/01) — the returned report fixed late is this same path — is refused with 🔓, and
    saved once the unlock is granted."""
    h.clock.current = dt.datetime(2026, 1, 15, 20, 0, tzinfo=VN)
    officer = await h.person(1, "ba_dinh")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    assert "Đã lưu báo cáo #1" in (await founded_on(officer, 3, "10/12/2025"))[0]
    h.clock.current = dt.datetime(2026, 1, 16, 9, 0, tzinfo=VN)

    async def edit_to(unions: str) -> str:
        await officer.send("/edit 1")
        await officer.press("Sửa")
        await officer.press("Số CĐCS")
        await officer.send(unions)
        return (await officer.press("Lưu"))[0].text

    refused = await edit_to("5")
    assert "kỳ này đã khóa sổ từ 15/01/2026" in refused
    await officer.press("Xin mở khóa")
    await officer.press("Sửa số liệu đã gửi")
    assert "Lý do: Sửa số liệu đã gửi" in last_to(h, head).text
    await press_in(h, head, "Đồng ý mở khóa")
    assert "Đã cập nhật báo cáo #1" in await edit_to("5")
    assert '"unions": 5' in str(await h.scalar("SELECT values_json FROM reports"))


async def test_no_unlock_is_offered_to_an_admin_reporting_for_another_unit(h: Harness) -> None:
    """The unlock would be for the admin's own unit, not the one reported for."""
    admin = await h.person(3, "hai_ba_trung", Role.ADMIN)
    await admin.send("/report tay_ho")
    await admin.press("Thành lập CĐCS")
    await admin.send("3")
    await admin.press("Bỏ qua")
    refused = (await admin.send("10/12/2025"))[0]
    assert "đã khóa sổ" in refused.text
    assert not any("mở khóa" in b.label for b in refused.buttons)


async def test_reports_waiting_for_review_are_open_and_not_in_an_accepted_only_snapshot(
    tmp_path: Path, database: str
) -> None:
    """[review] by the cluster, standings of accepted reports only: a report waiting for
    review is listed before finalising, and the snapshot names only accepted reports."""
    config = load_config(EXAMPLE).model_copy(
        update={"review": ReviewRules(by=Reviewers.CLUSTER, standings=Counted.ACCEPTED)}
    )
    clock = FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN))
    h = await Harness.create(tmp_path, clock, config=config, database=database)
    try:
        lb = await h.person(1, "long_bien")
        head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
        await founded_on(lb, 10)
        await founded_on(lb, 4, "2/3")
        async with h.db.transaction() as tx:
            await tx.execute("UPDATE reports SET review = 'accepted' WHERE id = 2")
        preview = (await head.send("/finalize 2026"))[0].text
        assert "• 1 báo cáo chưa được duyệt" in preview
        await head.press("Chốt số liệu")
        row = (await standing(h)).row("long_bien")
        assert row is not None and row.report_ids == (2,)
        assert (await standing(h)).open_items.unreviewed == 1
    finally:
        await h.close()


async def test_the_weekly_post_of_a_finalised_year_is_the_snapshot(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    group = h.user(2, "Người 2")
    group.chat_id, group.chat_type = "-100777", ChatType.GROUP
    assert "Đã gắn nhóm" in (await group.send("/linkgroup"))[0].text
    await founded_on(lb, 10)
    await head.send("/finalize 2026")
    await head.press("Chốt số liệu")
    await founded_on(lb, 30, "2/3")  # after finalising
    posts = GroupPosts(h.dispatcher.settings, h.catalog)
    async with h.db.transaction() as tx:
        items = await posts.fire(tx, h.clock.now(), None)
    post = next(i.reply.text for i in items if i.chat_id == "-100777")
    assert "🔒 Đã chốt ngày 10/03/2026" in post
    frozen = (await standing(h)).row("long_bien")
    assert frozen is not None and f"{frozen.format_score('vi')} điểm" in post


async def test_the_snapshot_is_what_standings_showed_computed_once_per_step(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview's standings are the ones stored: each step (the preview, the confirm, the
    command line's preview-and-store) computes the standings once, and the snapshot is what
    /standings showed just before."""
    lb = await h.person(1, "long_bien")
    hk = await h.person(3, "hoan_kiem")
    head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
    await founded_on(lb, 10)
    await founded_on(hk, 4, "2/3")
    await founded_on(lb, 3, "3/3")
    settings = h.dispatcher.settings
    async with h.db.transaction() as tx:
        live, rates = await ranking.of_cluster(tx, OPERATOR_IN_CUM1, settings, YEAR, h.clock.now())
        units = [u.code for u in live.units]
        report_ids = await finalised_repo.report_ids(
            tx, units, YEAR.start, YEAR.end, accepted_only=False
        )
    shown_live = (await lb.send("/standings 2026"))[0].text

    computed: list[str] = []
    real = ranking.with_rates

    async def counted(tx: Any, s: Any, code: str, period: Period, now: dt.datetime) -> Any:
        computed.append(code)
        return await real(tx, s, code, period, now)

    monkeypatch.setattr(ranking, "with_rates", counted)
    assert "Còn dang dở" in (await head.send("/finalize 2026"))[0].text
    assert computed == ["cum1"]  # the preview: once
    assert "🔒 Đã chốt cả năm 2026" in (await head.press("Chốt số liệu"))[0].text
    assert computed == ["cum1", "cum1"]  # the confirm: once more, not twice
    monkeypatch.undo()

    snapshot = await standing(h)
    expected = make_snapshot(
        cluster="cum1",
        cluster_name=live.cluster.name,
        period=YEAR,
        standings=live.standings,
        measures=settings.measures,
        report_ids=report_ids,
        rates=rates,
        open_items=snapshot.open_items,
        finalised_at=snapshot.finalised_at,
        finalised_by=snapshot.finalised_by,
        finalised_by_name=snapshot.finalised_by_name,
    )
    assert snapshot.rows == expected.rows and snapshot.criteria == expected.criteria
    assert [r.rate for r in snapshot.rows] == [rates.get(r.unit) for r in snapshot.rows]
    shown_final = (await lb.send("/standings 2026"))[0].text
    ranked = re.compile(r"^=?\d+\. .*$", re.MULTILINE)
    assert ranked.findall(shown_final) == ranked.findall(shown_live) != []


async def test_the_command_lines_preview_and_store_compute_the_standings_once(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, now = h.dispatcher.settings, h.clock.now()
    computed: list[str] = []
    real = ranking.with_rates

    async def counted(tx: Any, s: Any, code: str, period: Period, at: dt.datetime) -> Any:
        computed.append(code)
        return await real(tx, s, code, period, at)

    monkeypatch.setattr(ranking, "with_rates", counted)
    async with h.db.transaction() as tx:  # as `thidua finalize --yes` does, in one transaction
        shown = await finalize.preview(tx, OPERATOR, settings, YEAR, now, "cum2")
        snapshot = await finalize.finalize(
            tx, OPERATOR, settings, YEAR, now, confirmed=True, cluster_code="cum2", shown=shown
        )
    assert computed == ["cum2"]
    assert sorted(r.unit for r in snapshot.rows) == sorted(u.code for u in shown.computed[0].units)
