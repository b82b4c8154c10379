"""Lateness and returns cost points through the score sheet's bonus/penalty rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from domain.models import LocalText, Role, Unit
from domain.obligations import Tally
from domain.periods import Period, PeriodKind
from domain.scoring import (
    CriterionDef,
    PenaltyRule,
    PenaltySource,
    ScoringDef,
    explain,
    score_cluster,
)
from storage import org, people, reports, targets
from tests.harness import EXAMPLE, FakeClock, Harness
from usecases import review
from usecases import standings as ranking
from usecases.access import OPERATOR, Caller, actor_of

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LATE = PenaltyRule(
    code="late",
    label=LocalText(vi="Báo cáo trễ hạn", en="Late reports"),
    points=-1,
    source=PenaltySource.LATE,
    limit=2.5,
)
MISSING = PenaltyRule(
    code="missing",
    label=LocalText(vi="Thiếu báo cáo"),
    points=-2,
    source=PenaltySource.MISSING,
)
MODEL = PenaltyRule(code="model", label=LocalText(vi="Mô hình hay"), points=3)
SHEET = ScoringDef(
    criteria=(
        CriterionDef(
            code="new_unions",
            label=LocalText(vi="Thành lập CĐCS"),
            measure="new_unions",
            weight=100,
        ),
    ),
    adjustments=(LATE, MISSING, MODEL),
)
UNITS = [Unit(code="a", name="Đơn vị A"), Unit(code="b", name="Đơn vị B")]


def test_a_rule_counts_per_item_within_its_limit() -> None:
    assert LATE.applied(2) == -2
    assert LATE.applied(4) == -2.5  # at most 2.5 points
    assert MODEL.applied(1) == 3
    assert SHEET.sources == {PenaltySource.LATE, PenaltySource.MISSING}
    assert SHEET.adjustment({"late": 4, "model": 1}) == 0.5


def test_items_from_counts_per_source() -> None:
    counts = {
        PenaltySource.LATE: {"a": 3, "b": 0},
        PenaltySource.MISSING: {"b": 1},
        PenaltySource.RETURNED: {"a": 9},  # no rule counts returns here
    }
    assert SHEET.items_from(counts) == {"a": {"late": 3}, "b": {"missing": 1}}


def test_tally_late_and_missing() -> None:
    tally = Tally(expected=6, met=5, on_time=2, late=1) + Tally(2, 1, 1, 0)
    assert (tally.late, tally.missing) == (1, 2)


def test_standings_and_why_show_each_rule() -> None:
    totals = {("a", "new_unions"): 20, ("b", "new_unions"): 20}
    targets = {("a", "new_unions"): 20.0, ("b", "new_unions"): 20.0}
    items = {"a": {"late": 4, "model": 1}, "b": {"missing": 1}}
    standings = score_cluster(UNITS, totals, targets, SHEET, {"b": 0.5}, items=items)
    a, b = standings.rows
    assert (a.unit.code, a.score, a.adjustment) == ("a", 100.5, 0.5)
    assert (b.unit.code, b.score, b.adjustment) == ("b", 98.5, -1.5)
    assert [(x.rule.code, x.count, x.points) for x in a.adjusted] == [
        ("late", 4, -2.5),
        ("model", 1, 3),
    ]
    phrases = explain(a, "vi")
    keys = [p.key for p in phrases]
    assert keys == ["why.target", "why.adjusted_limited", "why.adjusted", "why.total"]
    limited = phrases[1]
    assert limited.label == "Báo cáo trễ hạn"
    assert dict(limited.params) == {
        "count": "4",
        "per_item": "-1,0",
        "points": "-2,5",
        "limit": "2,5",
    }
    # A net adjustment given besides the counted rules is still explained.
    keys_b = [p.key for p in explain(b, "en")]
    assert keys_b == ["why.target", "why.adjusted", "why.adjustment", "why.total"]


def test_check_config_reads_sources(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        + '\n[[scoring.adjustments]]\ncode = "late"\nlabel = { vi = "Trễ hạn" }\n'
        + 'points = -1\nsource = "late"\nlimit = 5\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.scoring is not None
    assert config.scoring.adjustments[0].source is PenaltySource.LATE


LATE_RULE = """
[[scoring.adjustments]]
code = "late"
label = { vi = "Báo cáo trễ hạn", en = "Late reports" }
points = -1.5
source = "late"
"""


@pytest.fixture
async def h(tmp_path: Path, database: str) -> AsyncIterator[Harness]:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8") + LATE_RULE, encoding="utf-8")
    clock = FakeClock(dt.datetime(2025, 3, 12, 9, 0, tzinfo=VN))
    harness = await Harness.create(tmp_path, clock, load_config(path), database=database)
    async with harness.db.transaction() as tx:
        await targets.sync_from_config(
            tx, [t.target() for t in harness.config.targets], harness.clock.now()
        )
    yield harness
    await harness.close()


@pytest.mark.both_backends
async def test_a_late_report_costs_points_and_why_says_so(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    hk = await h.person(2, "hoan_kiem")
    for user in (lb, hk):  # February's report, due 20/3: both on time
        await user.send("thành lập 2 công đoàn cơ sở ngày 10/2")
        await user.press("Lưu")
    await lb.send("thành lập 2 công đoàn cơ sở ngày 10/3")
    await lb.press("Lưu")
    h.clock.current = dt.datetime(2025, 4, 25, 9, 0, tzinfo=VN)  # March: due 20/4, grace 22/4
    await hk.send("thành lập 2 công đoàn cơ sở ngày 11/3")
    await hk.press("Lưu")
    replies = await lb.send("/standings 6 tháng đầu 2025")
    text = replies[0].text
    # Both founded 4 of a pro-rated 10; Hoàn Kiếm loses 1,5 for March's late report.
    assert "LĐLĐ quận Long Biên · 10,0 điểm" in text
    assert "LĐLĐ quận Hoàn Kiếm · 8,5 điểm" in text
    button = next(b for b in replies[0].buttons if "Hoàn Kiếm" in b.label)
    why = (await lb.press_data(button.data, replies[0].message_id))[0].text
    assert "• Báo cáo trễ hạn: 1 × -1,5 → -1,5 điểm" in why
    button = next(b for b in replies[0].buttons if "Long Biên" in b.label)
    why = (await lb.press_data(button.data, replies[0].message_id))[0].text
    assert "trễ hạn" not in why
    # The same through the query service the export and the scheduled posts use.
    async with h.db.transaction() as tx:
        cluster = await org.cluster(tx, "cum1", 2025)
        assert cluster is not None
        period = Period(PeriodKind.HALF, 2025, 1)
        result = await ranking.compute(
            tx, h.dispatcher.settings, cluster, period, h.clock.current.date(), now=h.clock.now()
        )
    row = result.standings.of("hoan_kiem")
    assert row is not None and row.adjustment == -1.5
    assert [(a.rule.code, a.count) for a in row.adjusted] == [("late", 1)]


RETURNED_RULE = """
[[scoring.adjustments]]
code = "returned"
label = { vi = "Báo cáo bị trả lại", en = "Reports returned" }
points = -0.5
source = "returned"
"""


@pytest.mark.both_backends
async def test_returns_cost_points_in_standings_and_why(tmp_path: Path, database: str) -> None:
    path = tmp_path / "config.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        '[review]\nby = "nobody"', '[review]\nby = "cluster"'
    )
    path.write_text(text + RETURNED_RULE, encoding="utf-8")
    clock = FakeClock(dt.datetime(2025, 3, 12, 9, 0, tzinfo=VN))
    h = await Harness.create(tmp_path, clock, load_config(path), database=database)
    try:
        async with h.db.transaction() as tx:
            await targets.sync_from_config(
                tx, [t.target() for t in h.config.targets], h.clock.now()
            )
        lb = await h.person(1, "long_bien")
        await h.person(9, "dong_da", Role.CLUSTER_HEAD)  # heads Cụm thi đua số 1 in 2025
        for day in ("10/2", "11/2", "12/2"):
            await lb.send(f"thành lập 2 công đoàn cơ sở ngày {day}")
            await lb.press("Lưu")
        settings = h.dispatcher.settings
        async with h.db.transaction() as tx:  # the head returns two of them
            found = await tx.fetch_all("SELECT id FROM people WHERE unit_code = 'dong_da'")
            head = Caller(await actor_of(tx, await people.get(tx, found[0][0]), 2025), 2025)
            for report_id in (1, 2):
                report = await reports.get(tx, report_id)
                assert report is not None
                done = await review.give_back(
                    tx, head, settings, report_id, report.version, "Thiếu ảnh", clock.now()
                )
                assert done.result is review.Result.DONE
        replies = await lb.send("/standings 6 tháng đầu 2025")
        assert "LĐLĐ quận Long Biên · 14,0 điểm" in replies[0].text  # 15 − 2 × 0,5
        button = next(b for b in replies[0].buttons if "Long Biên" in b.label)
        why = (await lb.press_data(button.data, replies[0].message_id))[0].text
        assert "• Báo cáo bị trả lại: 2 × -0,5 → -1,0 điểm" in " ".join(why.split())
        async with h.db.transaction() as tx:
            half = Period(PeriodKind.HALF, 2025, 1)
            every = await ranking.every_cluster(tx, OPERATOR, settings, half, clock.current.date())
        row = next(r for c in every for r in c.standings.rows if r.unit.code == "long_bien")
        assert row.adjustment == -1.0
    finally:
        await h.close()
