"""Standings in chat with real figures: Long Biên 49/20 = 245,0%, Hoàn Kiếm 31/20 = 155,0%."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from domain.messages import ChatType, InboundKind
from domain.models import Role
from runtime import workers
from tests.harness import FakeClock, Harness, founded

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def h(tmp_path, database) -> AsyncIterator[Harness]:
    harness = await Harness.create(
        tmp_path, FakeClock(dt.datetime(2025, 12, 20, 9, 0, tzinfo=VN)), database=database
    )
    from storage import targets

    async with harness.db.transaction() as tx:
        await targets.sync_from_config(
            tx, [t.target() for t in harness.config.targets], harness.clock.now()
        )
    yield harness
    await harness.close()


async def test_standings_with_real_figures_chart_and_why(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    hk = await h.person(2, "hoan_kiem")
    await founded(lb, 49)
    await founded(hk, 31)
    replies = await lb.send("/standings 2025")
    text = replies[0].text
    assert "🏆 Xếp hạng Cụm thi đua số 1" in text and "\nCả năm 2025\n" in text
    assert "1. LĐLĐ quận Long Biên · 30,0 điểm" in text  # one compact entry per unit
    assert "49/20" not in text  # the details are behind "Vì sao?"
    assert "tham khảo" in text and "bình xét" in text
    assert all(len(line) <= 40 for line in text.splitlines()[:-1])  # the advisory may wrap
    chart = replies[1].reply.attachment
    assert chart is not None and chart.kind == "image"
    assert base64.b64decode(chart.data_b64).startswith(b"\x89PNG")
    why_button = next(b for b in replies[0].buttons if "Long Biên" in b.label)
    why = await lb.press_data(why_button.data, replies[0].message_id)
    assert "❓ LĐLĐ quận Long Biên — cả năm 2025" in why[0].text
    assert "• Thành lập CĐCS: 49/20 = 245,0%" in why[0].text


async def test_bad_periods_units_and_access(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    for bad in ("2030", "đợt 3", "abc"):
        reply = (await lb.send(f"/standings {bad}"))[0].text
        assert "Các kỳ hợp lệ" in reply and "năm 2025" in reply and "6 tháng đầu 2025" in reply
    assert "LĐLĐ quận Long Biên" in (await lb.send("/unit long bine"))[0].text
    assert "trong cụm của đơn vị bạn" in (await lb.send("/unit tay_ho"))[0].text
    mine = (await lb.send("/unit"))[0].text
    assert "Thành lập CĐCS" in mine or "CĐCS" in mine
    assert "quản trị viên" in (await lb.send("/standings all"))[0].text
    assert "chưa đăng ký" in (await h.user(99).send("/standings"))[0].text


async def test_retracted_reports_do_not_count(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    await founded(lb, 49)
    await lb.send("/retract 1")
    await lb.press("Rút báo cáo")
    replies = await lb.send("/standings 2025")
    why_button = next(b for b in replies[0].buttons if "Long Biên" in b.label)
    why = (await lb.press_data(why_button.data, replies[0].message_id))[0].text
    assert "Thành lập CĐCS: 0/20 = 0,0%" in why and "245,0%" not in why


async def test_group_link_posts_export_and_admin(h: Harness) -> None:
    head = await h.person(3, "dong_da", Role.CLUSTER_HEAD)
    officer = await h.person(1, "long_bien")
    admin = await h.person(9, "hoan_kiem", Role.ADMIN)
    group_head = h.user(3, "Người 3")
    group_head.chat_id, group_head.chat_type = "-100777", ChatType.GROUP
    assert "chưa được gắn" in (await group_head.send("/standings"))[0].text
    group_officer = h.user(1, "Người 1")
    group_officer.chat_id, group_officer.chat_type = "-100777", ChatType.GROUP
    assert "Chỉ Cụm trưởng" in (await group_officer.send("/linkgroup"))[0].text
    assert "Đã gắn nhóm" in (await group_head.send("/linkgroup"))[0].text
    assert "🏆 Xếp hạng Cụm thi đua số 1" in (await group_officer.send("/standings"))[0].text
    assert await group_officer.send("/report") != []  # points to the private chat

    await founded(officer, 49)
    exported = await head.send("/export 2025")
    document = exported[-1].reply.attachment
    assert document is not None and document.filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(document.data_b64)))
    assert book.sheetnames[:3] == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    assert "dành cho Cụm trưởng" in (await officer.send("/export"))[0].text

    leaders = (await admin.send("/standings all 2025"))[0].text
    assert "Cụm thi đua số 1" in leaders and "Cụm thi đua số 2" in leaders
    assert "Đã đặt chỉ tiêu" in (await admin.send("/target long_bien new_unions 2025 25"))[0].text
    negative = (await admin.send("/target long_bien new_unions 2025 -1.000"))[0].text
    assert negative.startswith(h.catalog("vi", "err.negative", text="-1.000"))
    unknown = (await admin.send("/target tay_hoo new_unions 2025 5"))[0].text
    assert "LĐLĐ quận Tây Hồ (tay_ho)" in unknown  # the one unit resolution, with suggestions
    replies = await officer.send("/standings 2025")
    why_button = next(b for b in replies[0].buttons if "Long Biên" in b.label)
    why = (await officer.press_data(why_button.data, replies[0].message_id))[0].text
    assert "Thành lập CĐCS: 49/25 = 196,0%" in why


async def test_completeness_columns_and_one_indicator(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    await lb.send("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp tết ngày 1/12")
    await lb.press("Lưu")
    text = (await lb.send("/standings 2025"))[0].text
    assert "📥 0,0%" in text and "📥 Tỷ lệ báo cáo" in text  # reporting rates join the ranking
    gifts = (await lb.send("/standings tặng quà 2025"))[0].text
    assert "🎁 Tặng quà" in gifts and "10.000.000 đ" in gifts and "20" in gifts


async def test_a_unit_that_moved_cluster_is_ranked_where_it_was_each_year(tmp_path) -> None:
    from bot.config import load_config
    from tests.harness import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8")
    # In 2026 Hoàn Kiếm leaves cluster 1 for cluster 2 (as wards replaced districts).
    marker = 'code = "cum2"\nyear = 2026'
    assert marker in text
    moved = text.replace('{ unit = "hoan_kiem", role = "deputy" },\n', "", 1)
    start = moved.index(marker)
    members = moved.index("members = [", start) + len("members = [")
    moved = moved[:members] + '\n    { unit = "hoan_kiem", role = "member" },' + moved[members:]
    path = tmp_path / "moved.toml"
    path.write_text(moved, encoding="utf-8")
    config = load_config(path)
    assert config.cluster_of("hoan_kiem", 2025).code == "cum1"
    assert config.cluster_of("hoan_kiem", 2026).code == "cum2"
    h = await Harness.create(tmp_path, FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN)), config)
    try:
        hk = await h.person(1, "hoan_kiem")
        this_year = (await hk.send("/standings 2026"))[0].text
        last_year = (await hk.send("/standings 2025"))[0].text
        assert "Cụm thi đua số 2" in this_year and "Tây Hồ" in this_year
        assert "Cụm thi đua số 1" in last_year and "Long Biên" in last_year
    finally:
        await h.close()


async def test_nobody_waits_for_the_chart_to_be_drawn(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart is drawn after the standings' transaction: while it is being drawn (held
    here until the test lets it go), another officer is answered; then it follows the
    standings text in that chat."""
    lb = await h.person(1, "long_bien")
    hk = await h.person(2, "hoan_kiem")
    await founded(lb, 49)
    drawing, release = asyncio.Event(), asyncio.Event()
    real_draw = workers.draw

    async def held_draw(fn, *args):  # the real drawing, started when the test says
        drawing.set()
        await release.wait()
        return await real_draw(fn, *args)

    monkeypatch.setattr(workers, "draw", held_draw)
    asking = lb.inbound(
        InboundKind.COMMAND, text="/standings 2025", command="standings", args="2025"
    )
    standings = asyncio.create_task(h.ingress.submit(asking))
    await asyncio.wait_for(drawing.wait(), 30)
    # Drawn inside the transaction, this would wait for the database until the deadline.
    help_ = await asyncio.wait_for(hk.send("/help"), 30)
    assert "/report" in help_[0].text and not standings.done()
    release.set()
    await standings
    await h.collect()
    lb_rows = [s for s in h.delivered if s.chat_id == lb.chat_id]
    text_at = next(n for n, s in enumerate(lb_rows) if "🏆 Xếp hạng" in s.text)
    chart_at = next(n for n, s in enumerate(lb_rows) if s.reply.attachment is not None)
    assert text_at < chart_at
