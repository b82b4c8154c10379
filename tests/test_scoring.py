"""Measures, targets and scoring, checked against figures reported in the union press."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.i18n import Catalog
from domain.measures import (
    MeasureDef,
    MeasureHow,
    check_measures,
    default_measures,
    measure_totals,
)
from domain.models import IndicatorDef, LocalText, Report, ReportStatus, Unit
from domain.numbers import format_percent
from domain.periods import Period, PeriodKind
from domain.scoring import (
    CriterionDef,
    Method,
    MissingTarget,
    PenaltyRule,
    Phrase,
    Rating,
    ScoringDef,
    Standings,
    Target,
    Thresholds,
    TieBreak,
    UnitStanding,
    check_scoring,
    format_points,
    score_cluster,
    targets_for,
    targets_for_period,
)
from domain.scoring import explain as phrases_of

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
CATALOG = Catalog()


def said(phrases: Sequence[Phrase], lang: str) -> list[str]:
    """The phrases as the catalog words them (full labels, no line breaking)."""
    return [
        CATALOG(lang, p.key, **p.params, label=p.label)
        if p.label
        else CATALOG(lang, p.key, **p.params)
        for p in phrases
    ]


def explain(row: UnitStanding, lang: str) -> list[str]:
    return said(phrases_of(row, lang), lang)


UNITS = {
    code: Unit(code=code, name=name)
    for code, name in [
        ("hoan_kiem", "LĐLĐ quận Hoàn Kiếm"),
        ("long_bien", "LĐLĐ quận Long Biên"),
        ("dong_da", "LĐLĐ quận Đống Đa"),
        ("thanh_xuan", "LĐLĐ quận Thanh Xuân"),
        ("tay_ho", "LĐLĐ quận Tây Hồ"),
        ("nam_tu_liem", "LĐLĐ quận Nam Từ Liêm"),
        ("bac_tu_liem", "LĐLĐ quận Bắc Từ Liêm"),
        ("cau_giay", "LĐLĐ quận Cầu Giấy"),
        ("ha_dong", "LĐLĐ quận Hà Đông"),
    ]
}
CLUSTER2 = [UNITS[c] for c in ("tay_ho", "nam_tu_liem", "bac_tu_liem", "cau_giay", "ha_dong")]


def crit(code: str, weight: float, method: Method = Method.TARGET, **kw: Any) -> CriterionDef:
    measure = kw.pop("measure", code)
    label = kw.pop("label", code)
    return CriterionDef(
        code=code,
        label=LocalText(vi=label, en=kw.pop("en", label)),
        group=kw.pop("group", "building the organisation"),
        measure=measure,
        weight=weight,
        method=method,
        **kw,
    )


def sheet(*criteria: CriterionDef, **kw: Any) -> ScoringDef:
    return ScoringDef(criteria=criteria, **kw)


def names(standings: Standings) -> list[str]:
    return [row.unit.code for row in standings.rows]


def report(
    unit: str,
    indicator: str,
    values: dict[str, Any],
    on: dt.date = dt.date(2025, 3, 8),
    status: ReportStatus = ReportStatus.ACTIVE,
    rid: int = 1,
) -> Report:
    return Report(
        id=rid,
        unit_code=unit,
        person_id=1,
        indicator=indicator,
        values=values,
        occurred_on=on,
        created_at=dt.datetime(2025, 3, 8, 9, 0, tzinfo=dt.UTC),
        status=status,
        source_key=f"k{rid}",
    )


# --- target ratios: the reported figures -----------------------------------------

NEW_UNIONS = crit("new_unions", 20, label="Thành lập CĐCS", en="Grassroots unions founded")
NEW_MEMBERS = crit("new_members", 80, label="Phát triển đoàn viên", en="Members enrolled")


@pytest.mark.parametrize(
    ("done", "target", "vi", "en"),
    [
        (49, 20, "245,0%", "245.0%"),  # Long Biên
        (31, 20, "155,0%", "155.0%"),  # Hoàn Kiếm
        (855, 492, "173,8%", "173.8%"),  # Hanoi
        (6257, 6000, "104,3%", "104.3%"),  # new members
    ],
)
def test_reported_target_ratios(done: int, target: int, vi: str, en: str) -> None:
    unit = UNITS["long_bien"]
    standings = score_cluster(
        [unit],
        {("long_bien", "new_unions"): done},
        {("long_bien", "new_unions"): target},
        sheet(crit("new_unions", 100)),
    )
    result = standings.rows[0].criteria[0]
    assert result.ratio is not None
    assert result.ratio == pytest.approx(done / target)
    assert format_percent(result.ratio, "vi") == vi
    assert format_percent(result.ratio, "en") == en
    assert result.points == 100  # over the target, capped at the full weight


def test_long_bien_and_hoan_kiem_explained() -> None:
    units = [UNITS["long_bien"], UNITS["hoan_kiem"]]
    totals = {
        ("long_bien", "new_unions"): 49.0,
        ("hoan_kiem", "new_unions"): 31.0,
        ("long_bien", "new_members"): 6257.0,
        ("hoan_kiem", "new_members"): 3000.0,
    }
    targets = {
        ("long_bien", "new_unions"): 20.0,
        ("hoan_kiem", "new_unions"): 20.0,
        ("long_bien", "new_members"): 6000.0,
        ("hoan_kiem", "new_members"): 6000.0,
    }
    standings = score_cluster(units, totals, targets, sheet(NEW_UNIONS, NEW_MEMBERS))
    long_bien, hoan_kiem = standings.rows
    assert (long_bien.unit.code, long_bien.rank, long_bien.score) == ("long_bien", 1, 100)
    assert long_bien.rating is Rating.EXCELLENT
    assert explain(long_bien, "vi") == [
        "Thành lập CĐCS: 49/20 = 245,0% → 20,0/20 điểm",
        "Phát triển đoàn viên: 6.257/6.000 = 104,3% → 80,0/80 điểm",
        "Tổng: 100,0 điểm — xuất sắc (hạng 1)",
    ]
    assert explain(hoan_kiem, "en") == [
        "Grassroots unions founded: 31/20 = 155.0% → 20.0/20 points",
        "Members enrolled: 3,000/6,000 = 50.0% → 40.0/80 points",
        "Total: 60.0 points — average (rank 2)",
    ]


def test_cap_rewards_over_achievement_up_to_the_cap() -> None:
    scoring = sheet(crit("new_unions", 20, cap=1.2), crit("other", 80, Method.YESNO))
    standings = score_cluster(
        [UNITS["long_bien"]],
        {("long_bien", "new_unions"): 49},
        {("long_bien", "new_unions"): 20},
        scoring,
    )
    assert standings.rows[0].criteria[0].points == pytest.approx(24)
    assert explain(standings.rows[0], "vi")[0] == "new_unions: 49/20 = 245,0% → 24,0/24 điểm"


# --- leader-relative: Cluster 2, 2019 ---------------------------------------------

CBA_2019 = {
    "bac_tu_liem": 52,
    "nam_tu_liem": 75.2,
    "cau_giay": 62.6,
    "tay_ho": 69,
    "ha_dong": 70.37,
}
WELFARE_2019 = {"bac_tu_liem": 2, "nam_tu_liem": 3, "cau_giay": 6, "tay_ho": 2, "ha_dong": 1}


def test_cluster2_collective_agreements_leader() -> None:
    scoring = sheet(crit("cba", 100, Method.LEADER, label="Thỏa ước LĐTT"))
    totals = {(unit, "cba"): rate for unit, rate in CBA_2019.items()}
    standings = score_cluster(CLUSTER2, totals, {}, scoring)
    assert names(standings) == ["nam_tu_liem", "ha_dong", "tay_ho", "cau_giay", "bac_tu_liem"]
    assert [row.rank for row in standings.rows] == [1, 2, 3, 4, 5]
    best, *_, last = standings.rows
    assert best.score == 100
    assert last.score == pytest.approx(100 * 52 / 75.2)
    assert explain(standings.rows[1], "vi")[0] == (
        "Thỏa ước LĐTT: 70,37 / cao nhất cụm 75,2 = 93,6% → 93,6/100 điểm"
    )


def test_cluster2_welfare_ties_share_a_rank_listed_by_name() -> None:
    scoring = sheet(crit("welfare", 100, Method.LEADER))
    totals = {(unit, "welfare"): n for unit, n in WELFARE_2019.items()}
    standings = score_cluster(list(reversed(CLUSTER2)), totals, {}, scoring)
    assert standings.tie_rule is TieBreak.NAME
    assert names(standings) == ["cau_giay", "nam_tu_liem", "bac_tu_liem", "tay_ho", "ha_dong"]
    assert [row.rank for row in standings.rows] == [1, 2, 3, 3, 5]
    assert [row.tied for row in standings.rows] == [False, False, True, True, False]
    assert standings.rows[2].score == pytest.approx(100 / 3)
    assert "share a rank" in CATALOG("en", standings.tie_rule.label_key)
    assert "đồng hạng" in CATALOG("vi", standings.tie_rule.label_key)


def test_weight_order_tie_break_prefers_the_heaviest_criterion() -> None:
    # Both score 70: Bắc Từ Liêm by the light criterion, Tây Hồ by the heavy one.
    criteria = (crit("heavy", 60), crit("light", 40))
    units = [UNITS["bac_tu_liem"], UNITS["tay_ho"]]
    totals = {
        ("bac_tu_liem", "heavy"): 5,
        ("bac_tu_liem", "light"): 10,
        ("tay_ho", "heavy"): 10,
        ("tay_ho", "light"): 2.5,
    }
    targets = {(u.code, m): 10 for u in units for m in ("heavy", "light")}
    by_name = score_cluster(units, totals, targets, sheet(*criteria))
    by_weight = score_cluster(
        units, totals, targets, sheet(*criteria, tie_break=TieBreak.WEIGHT_ORDER)
    )
    assert [row.score for row in by_name.rows] == [pytest.approx(70)] * 2
    assert names(by_name) == ["bac_tu_liem", "tay_ho"]
    assert names(by_weight) == ["tay_ho", "bac_tu_liem"]
    assert by_weight.tie_rule is TieBreak.WEIGHT_ORDER
    assert [row.rank for row in by_weight.rows] == [1, 1]


def test_all_zero_leader_gives_everybody_zero() -> None:
    scoring = sheet(crit("welfare", 40, Method.LEADER), crit("cba", 60, Method.LEADER))
    standings = score_cluster(CLUSTER2, {(u.code, "cba"): 10 for u in CLUSTER2}, {}, scoring)
    for row in standings.rows:
        welfare, cba = row.criteria
        assert (welfare.points, welfare.ratio, welfare.best) == (0, None, 0)
        assert cba.points == 60
        assert row.rank == 1
    assert explain(standings.rows[0], "vi")[0] == "welfare: 0, cả cụm chưa có kết quả → 0,0/40 điểm"
    assert explain(standings.rows[0], "en")[0] == (
        "welfare: 0, nobody in the cluster has any yet → 0.0/40 points"
    )


def test_rank_precision_is_one_hundredth() -> None:
    scoring = sheet(crit("x", 100, Method.COUNT, points_per_item=0.001))
    units = [UNITS["hoan_kiem"], UNITS["long_bien"], UNITS["dong_da"], UNITS["thanh_xuan"]]
    done = {"hoan_kiem": 90_000, "long_bien": 80_004, "dong_da": 80_000, "thanh_xuan": 79_990}
    standings = score_cluster(units, {(u, "x"): n for u, n in done.items()}, {}, scoring)
    # 80.004 and 80.000 are equal at 0.01; 79.99 is not.
    assert [(row.unit.code, row.rank) for row in standings.rows] == [
        ("hoan_kiem", 1),
        ("dong_da", 2),
        ("long_bien", 2),
        ("thanh_xuan", 4),
    ]


def test_vietnamese_alphabetical_order() -> None:
    units = [
        Unit(code=c, name=n)
        for c, n in [
            ("e", "Em"),
            ("dd", "Đống Đa"),
            ("h", "Hà Đông"),
            ("d", "Dịch Vọng"),
            ("a2", "Ân Thi"),
            ("a1", "An Khánh"),
        ]
    ]
    standings = score_cluster(units, {}, {}, sheet(crit("x", 100, Method.YESNO)))
    assert names(standings) == ["a1", "a2", "d", "dd", "e", "h"]


# --- missing targets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "score", "points", "excluded"),
    [
        (MissingTarget.ZERO, 40.0, 0.0, False),
        (MissingTarget.FULL, 60.0, 20.0, False),
        (MissingTarget.EXCLUDE, 50.0, 0.0, True),  # 40 of the 80 points that count, × 100/80
    ],
)
@pytest.mark.parametrize("target", [None, 0.0])
def test_missing_target_modes(
    mode: MissingTarget, score: float, points: float, excluded: bool, target: float | None
) -> None:
    scoring = sheet(crit("new_unions", 20, missing_target=mode), crit("new_members", 80))
    targets = {("hoan_kiem", "new_members"): 6000.0}
    if target is not None:
        targets[("hoan_kiem", "new_unions")] = target
    totals = {("hoan_kiem", "new_unions"): 31.0, ("hoan_kiem", "new_members"): 3000.0}
    row = score_cluster([UNITS["hoan_kiem"]], totals, targets, scoring).rows[0]
    unions = row.criteria[0]
    assert row.score == pytest.approx(score)
    assert (unions.points, unions.excluded, unions.ratio) == (points, excluded, None)
    assert unions.target == target
    assert row.rescaled is excluded
    lines = explain(row, "vi")
    shown = "—" if target is None else "0 (chỉ tiêu bằng 0)"  # "—" is explained once, below
    expected = {
        MissingTarget.ZERO: f"new_unions: 31/{shown} → 0,0/20 điểm",
        MissingTarget.FULL: f"new_unions: 31/{shown} → 20,0/20 điểm (tính đủ điểm)",
        MissingTarget.EXCLUDE: f"new_unions: 31/{shown} → không tính",
    }
    assert lines[0] == expected[mode]
    if excluded:
        assert lines[2] == "Quy về thang 100: 40,0/80 → 50,0"
        assert explain(row, "en")[2] == "Re-scaled to 100: 40.0/80 → 50.0"


def test_every_criterion_excluded_scores_zero() -> None:
    scoring = sheet(crit("new_unions", 50), crit("new_members", 50))
    totals = {("long_bien", "new_unions"): 49.0}
    row = score_cluster([UNITS["long_bien"]], totals, {}, scoring).rows[0]
    assert (row.score, row.counted_weight, row.rating) == (0.0, 0.0, Rating.WEAK)


def test_default_missing_target_is_exclude() -> None:
    assert crit("x", 100).missing_target is MissingTarget.EXCLUDE


# --- pro-rating -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "on_track", "suffix"),
    [
        (10, True, "đúng tiến độ (cần 10 đến hôm nay)"),
        (25, True, "đúng tiến độ (cần 10 đến hôm nay)"),
        (9, False, "chậm tiến độ: cần 10 đến hôm nay, theo tiến độ"),
    ],
)
def test_pro_rating(done: int, on_track: bool, suffix: str) -> None:
    unit = UNITS["long_bien"]
    totals = {("long_bien", "new_unions"): done}
    targets = {("long_bien", "new_unions"): 20}
    scoring = sheet(crit("new_unions", 100))
    standings = score_cluster([unit], totals, targets, scoring, progress=0.5)
    result = standings.rows[0].criteria[0]
    assert (result.on_track, result.expected) == (on_track, 10)
    assert standings.progress == 0.5
    assert result.points == pytest.approx(100 * min(done / 20, 1))  # against the full target
    assert explain(standings.rows[0], "vi")[1] == suffix
    no_progress = score_cluster([unit], totals, targets, scoring).rows[0].criteria[0]
    assert (no_progress.on_track, no_progress.expected) == (None, None)


def test_pro_rating_english_and_other_methods() -> None:
    scoring = sheet(crit("new_unions", 50), crit("welfare", 50, Method.LEADER))
    totals = {("long_bien", "new_unions"): 4, ("long_bien", "welfare"): 1}
    row = score_cluster(
        [UNITS["long_bien"]], totals, {("long_bien", "new_unions"): 20}, scoring, progress=0.25
    ).rows[0]
    assert explain(row, "en")[:2] == [
        "new_unions: 4/20 = 20.0% → 10.0/50 points",
        "behind: 5 needed by today, pro rata",
    ]
    assert row.criteria[1].on_track is None


@pytest.mark.parametrize("progress", [-0.1, 1.01, float("nan")])
def test_progress_out_of_range(progress: float) -> None:
    with pytest.raises(ValueError, match="progress"):
        score_cluster([UNITS["long_bien"]], {}, {}, sheet(crit("x", 100)), progress=progress)


# --- count and yes/no, adjustments -----------------------------------------------------


@pytest.mark.parametrize(
    ("done", "cap", "points"), [(3, None, 6), (5, None, 10), (8, None, 10), (8, 1.5, 15)]
)
def test_count_method(done: int, cap: float | None, points: float) -> None:
    scoring = sheet(
        crit("initiatives", 10, Method.COUNT, points_per_item=2, cap=cap),
        crit("other", 90, Method.YESNO),
    )
    row = score_cluster([UNITS["dong_da"]], {("dong_da", "initiatives"): done}, {}, scoring).rows[0]
    assert row.criteria[0].points == points
    max_points = "15" if cap else "10"
    assert explain(row, "vi")[0] == (
        f"initiatives: {done} × 2 → {format_points(points, 'vi')}/{max_points} điểm"
    )


def test_yesno_method() -> None:
    scoring = sheet(crit("houses", 10, Method.YESNO, label="Mái ấm Công đoàn"), crit("x", 90))
    units = [UNITS["dong_da"], UNITS["long_bien"]]
    standings = score_cluster(units, {("dong_da", "houses"): 2}, {}, scoring)
    dong_da, long_bien = (standings.of(u.code) for u in units)
    assert dong_da is not None and long_bien is not None
    assert (dong_da.criteria[0].points, long_bien.criteria[0].points) == (10, 0)
    assert explain(dong_da, "vi")[0] == "Mái ấm Công đoàn: có → 10,0/10 điểm"
    assert explain(long_bien, "vi")[0] == "Mái ấm Công đoàn: chưa có → 0,0/10 điểm"
    assert explain(long_bien, "en")[0] == "Mái ấm Công đoàn: not yet → 0.0/10 points"


def test_adjustments_after_rescaling_and_never_below_zero() -> None:
    rules = (
        PenaltyRule(code="late", label=LocalText(vi="Nộp báo cáo muộn"), points=-1),
        PenaltyRule(code="model", label=LocalText(vi="Mô hình hay"), points=2),
    )
    scoring = sheet(crit("new_unions", 100), adjustments=rules)
    assert scoring.adjustment({"late": 3, "model": 1}) == -1
    with pytest.raises(ValueError, match="unknown bonus/penalty"):
        scoring.adjustment({"veto": 1})
    units = [UNITS["long_bien"], UNITS["hoan_kiem"]]
    totals = {("long_bien", "new_unions"): 18, ("hoan_kiem", "new_unions"): 1}
    targets = {(u.code, "new_unions"): 20 for u in units}
    adjustments = {"long_bien": 2.0, "hoan_kiem": -10.0, "elsewhere": 5.0}
    standings = score_cluster(units, totals, targets, scoring, adjustments)
    long_bien, hoan_kiem = standings.rows
    assert long_bien.base == pytest.approx(90)
    assert long_bien.score == pytest.approx(92)
    assert hoan_kiem.base == pytest.approx(5)
    assert hoan_kiem.score == 0
    assert explain(long_bien, "vi")[-2:] == [
        "Điểm thưởng/trừ: +2,0",
        "Tổng: 92,0 điểm — vững mạnh (hạng 1)",
    ]
    assert explain(hoan_kiem, "en")[-2] == "Bonus/penalty: -10.0"


# --- ratings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "rating", "vi"),
    [
        (100, Rating.EXCELLENT, "xuất sắc"),
        (96, Rating.EXCELLENT, "xuất sắc"),
        (95.99, Rating.STRONG, "vững mạnh"),
        (90, Rating.STRONG, "vững mạnh"),
        (89.99, Rating.GOOD, "khá"),
        (70, Rating.GOOD, "khá"),
        (69.99, Rating.AVERAGE, "trung bình"),
        (50, Rating.AVERAGE, "trung bình"),
        (49.9, Rating.WEAK, "yếu"),
        (0, Rating.WEAK, "yếu"),
    ],
)
def test_rating_thresholds(score: float, rating: Rating, vi: str) -> None:
    assert Thresholds().rate(score) is rating
    assert CATALOG("vi", rating.label_key) == vi
    # Through the whole pipeline: a count criterion gives exactly `score` points.
    scoring = sheet(crit("x", 100, Method.COUNT, points_per_item=0.01))
    row = score_cluster([UNITS["dong_da"]], {("dong_da", "x"): score * 100}, {}, scoring).rows[0]
    assert row.rating is rating


def test_rating_uses_the_unrounded_score() -> None:
    scoring = sheet(crit("x", 100, Method.COUNT, points_per_item=0.01))
    row = score_cluster([UNITS["dong_da"]], {("dong_da", "x"): 9599}, {}, scoring).rows[0]
    assert row.display_score == 96.0
    assert row.format_score("vi") == "96,0"
    assert row.rating is Rating.STRONG


def test_custom_thresholds() -> None:
    assert Thresholds(excellent=95, strong=85).rate(95) is Rating.EXCELLENT
    assert CATALOG("en", Rating.STRONG.label_key) == "strong"
    with pytest.raises(ValidationError, match="must decrease: excellent > strong"):
        Thresholds(strong=97)


# --- validation --------------------------------------------------------------------------


def test_weights_must_sum_to_100() -> None:
    with pytest.raises(ValidationError, match="criteria: weights must sum to 100, got 95") as e:
        sheet(crit("a", 60), crit("b", 35))
    assert e.value.errors()[0]["msg"].endswith("criteria: weights must sum to 100, got 95")
    with pytest.raises(ValidationError, match=r"got 100\.5"):
        sheet(crit("a", 60), crit("b", 40.5))
    assert sheet(crit("a", 60), crit("b", 39.9995)).total_weight == pytest.approx(99.9995)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"weight": 0}, "greater than 0"),
        ({"method": Method.LEADER, "cap": 1.2}, "cap: only target and count"),
        ({"cap": 0.8}, "greater than or equal to 1"),
        ({"method": Method.COUNT}, "points_per_item: a count criterion needs"),
        ({"points_per_item": 1}, "points_per_item: only count"),
        (
            {"method": Method.YESNO, "missing_target": MissingTarget.ZERO},
            "missing_target: only target",
        ),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_criterion_validation(kw: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "code": "x",
        "label": {"vi": "X"},
        "measure": "x",
        "weight": 100,
    } | kw
    with pytest.raises(ValidationError, match=message):
        CriterionDef(**args)


def test_sheet_validation() -> None:
    with pytest.raises(ValidationError, match="duplicate criterion code 'a'"):
        sheet(crit("a", 50), crit("a", 50))
    rule = PenaltyRule(code="late", label=LocalText(vi="Muộn"), points=-1)
    with pytest.raises(ValidationError, match="duplicate rule code 'late'"):
        sheet(crit("a", 100), adjustments=(rule, rule))
    with pytest.raises(ValidationError, match="points: a bonus or penalty of 0"):
        PenaltyRule(code="x", label=LocalText(vi="X"), points=0)
    scoring = sheet(crit("a", 50, measure="new_unions"), crit("b", 50, measure="nope"))
    codes = [m.code for m in default_measures()]
    assert [(path, str(rule)) for path, rule in check_scoring(scoring, codes)] == [
        ("scoring.criteria[1].measure", "unknown measure 'nope'")
    ]


def test_score_cluster_rejects_bad_data() -> None:
    scoring = sheet(crit("x", 100))
    with pytest.raises(ValueError, match="listed twice"):
        score_cluster([UNITS["dong_da"], UNITS["dong_da"]], {}, {}, scoring)
    with pytest.raises(ValueError, match="total"):
        score_cluster([UNITS["dong_da"]], {("dong_da", "x"): float("inf")}, {}, scoring)
    assert score_cluster([], {}, {}, scoring).rows == ()


def test_targets_for_one_period() -> None:
    targets = [
        Target("long_bien", "new_unions", "2025", 20),
        Target("hoan_kiem", "new_unions", "2025", 20),
        Target("long_bien", "new_unions", "2026", 25),
    ]
    assert targets_for(targets, "2025") == {
        ("long_bien", "new_unions"): 20,
        ("hoan_kiem", "new_unions"): 20,
    }
    with pytest.raises(ValueError, match="duplicate target"):
        targets_for([*targets, Target("long_bien", "new_unions", "2026", 30)], "2026")
    with pytest.raises(ValueError, match="finite number"):
        Target("long_bien", "new_unions", "2025", -1)


# --- measures --------------------------------------------------------------------------------


def sample_indicators() -> list[IndicatorDef]:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    return [IndicatorDef.model_validate(i) for i in data["indicators"]]


def test_default_measures_fit_the_sample_config() -> None:
    measures = default_measures()
    assert [m.code for m in measures] == [
        "gifts_count",
        "gifts_vnd",
        "events",
        "participants",
        "new_members",
        "new_unions",
        "cba",
        "welfare",
    ]
    assert check_measures(measures, sample_indicators()) == []
    gifts_vnd = measures[1]
    assert (gifts_vnd.how, gifts_vnd.fields, gifts_vnd.unit) == (
        MeasureHow.PRODUCT,
        ("count", "value_per_gift"),
        "vnd",
    )


def test_check_measures_names_paths() -> None:
    label = LocalText(vi="x")
    bad = [
        MeasureDef(code="a", label=label, indicator="gifts", field="occasion"),
        MeasureDef(code="a", label=label, indicator="gifts", field="nope"),
        MeasureDef(code="b", label=label, indicator="nope", how=MeasureHow.COUNT),
        MeasureDef(code="c", label=label, indicator="gifts", how="product", fields=("count", "x")),
    ]
    assert [(path, str(rule)) for path, rule in check_measures(bad, sample_indicators())] == [
        ("measures[0].field", "field 'occasion' is choice, not a number"),
        ("measures[1].code", "duplicate measure code 'a'"),
        ("measures[1].field", "gifts has no field 'nope'"),
        ("measures[2].indicator", "unknown indicator 'nope'"),
        ("measures[3].fields", "gifts has no field 'x'"),
    ]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"how": "sum"}, "a sum measure needs `field`"),
        ({"how": "sum", "field": "a", "fields": ("a", "b")}, "a sum measure needs"),
        ({"how": "count", "field": "a"}, "a count measure counts reports"),
        ({"how": "product", "fields": ("a",)}, "exactly two"),
        ({"how": "average", "field": "a"}, "Input should be"),
    ],
)
def test_measure_validation(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MeasureDef(code="m", label=LocalText(vi="m"), indicator="gifts", **kw)


def test_measure_totals_gifts_from_the_press() -> None:
    reports = [
        # 20 gifts × 500.000 đ to 20 women members on 8/3
        report("hoan_kiem", "gifts", {"count": 20, "value_per_gift": 500_000}, rid=1),
        report("hoan_kiem", "gifts", {"count": 400, "value_per_gift": 1_000_000}, rid=2),
        report("long_bien", "gifts", {"count": 3600, "value_per_gift": 500_000}, rid=3),
        # no value per gift given: counts as gifts, adds nothing to the VND total
        report("long_bien", "gifts", {"count": 5}, rid=4),
        # retracted: never counts
        report(
            "long_bien",
            "gifts",
            {"count": 999, "value_per_gift": 1},
            status=ReportStatus.RETRACTED,
            rid=5,
        ),
        report("long_bien", "new_unions", {"unions": 49}, rid=6),
        report("dong_da", "events", {"count": 1, "participants": 300}, rid=7),
    ]
    totals = measure_totals(reports, default_measures(), None)
    assert totals == {
        ("hoan_kiem", "gifts_count"): 420,
        ("hoan_kiem", "gifts_vnd"): 410_000_000,
        ("long_bien", "gifts_count"): 3605,
        ("long_bien", "gifts_vnd"): 1_800_000_000,
        ("long_bien", "new_unions"): 49,
        ("dong_da", "events"): 1,
        ("dong_da", "participants"): 300,
    }


def test_measure_totals_retracted_and_period() -> None:
    count = MeasureDef(
        code="reports", label=LocalText(vi="Số báo cáo"), indicator="new_unions", how="count"
    )
    measures = (*default_measures(), count)
    reports = [
        report("long_bien", "new_unions", {"unions": 30}, on=dt.date(2025, 1, 1), rid=1),
        report("long_bien", "new_unions", {"unions": 19}, on=dt.date(2025, 6, 30), rid=2),
        report("long_bien", "new_unions", {"unions": 7}, on=dt.date(2025, 7, 1), rid=3),
        report("long_bien", "new_unions", {"unions": 5}, on=dt.date(2024, 12, 31), rid=4),
        report(
            "long_bien",
            "new_unions",
            {"unions": 100},
            on=dt.date(2025, 3, 1),
            status=ReportStatus.RETRACTED,
            rid=5,
        ),
        report(
            "hoan_kiem",
            "new_unions",
            {"unions": 3},
            on=dt.date(2025, 3, 1),
            status=ReportStatus.RETRACTED,
            rid=6,
        ),
    ]
    first_half = Period(PeriodKind.HALF, 2025, 1)
    assert measure_totals(reports, measures, first_half) == {
        ("long_bien", "new_unions"): 49,
        ("long_bien", "reports"): 2,
    }
    year = measure_totals(reports, measures, Period(PeriodKind.YEAR, 2025, 1))
    assert year[("long_bien", "new_unions")] == 56
    everything = measure_totals(reports, measures, None)
    assert everything[("long_bien", "new_unions")] == 61
    assert ("hoan_kiem", "new_unions") not in everything


def test_measure_ignores_values_that_are_not_numbers() -> None:
    measure = default_measures()[0]
    assert measure.value_of(report("x", "gifts", {"count": "20"})) == 0
    assert measure.value_of(report("x", "gifts", {"count": True})) == 0
    assert measure.value_of(report("x", "gifts", {"count": 2.5})) == 2.5


# --- properties --------------------------------------------------------------------------------

_METHODS = list(Method)


@st.composite
def cluster_cases(draw: st.DrawFn) -> dict[str, Any]:
    cuts = sorted(draw(st.lists(st.integers(1, 99), unique=True, max_size=4)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    criteria = []
    for n, weight in enumerate(weights):
        method = draw(st.sampled_from(_METHODS))
        kw: dict[str, Any] = {}
        if method in (Method.TARGET, Method.COUNT):
            kw["cap"] = draw(st.sampled_from([None, 1.0, 1.25]))
        if method is Method.COUNT:
            kw["points_per_item"] = draw(st.sampled_from([0.5, 1.0, 3.0]))
        if method is Method.TARGET:
            kw["missing_target"] = draw(st.sampled_from(list(MissingTarget)))
        criteria.append(crit(f"c{n}", weight, method, **kw))
    scoring = sheet(*criteria, tie_break=draw(st.sampled_from(list(TieBreak))))
    n_units = draw(st.integers(0, 7))
    units = [
        Unit(code=f"u{i}", name=draw(st.sampled_from(["A", "Ă", "Đ", "B"]))) for i in range(n_units)
    ]
    amount = st.one_of(st.integers(0, 1000), st.floats(0, 1e6, allow_nan=False))
    totals = {
        (u.code, c.measure): draw(amount) for u in units for c in criteria if draw(st.booleans())
    }
    targets = {
        (u.code, c.measure): draw(amount) for u in units for c in criteria if draw(st.booleans())
    }
    adjustments = {
        u.code: draw(st.floats(-30, 30, allow_nan=False)) for u in units if draw(st.booleans())
    }
    progress = draw(st.one_of(st.none(), st.floats(0, 1)))
    return {
        "units": units,
        "totals": totals,
        "targets": targets,
        "scoring": scoring,
        "adjustments": adjustments,
        "progress": progress,
    }


def hundredths(score: float) -> int:
    """Scores are compared at 0.01, halves rounded up (the contract, restated)."""
    return int(Decimal(repr(round(score, 9))).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)


@settings(max_examples=150, deadline=None)
@given(cluster_cases())
def test_scores_bounded_and_ranking_valid(case: dict[str, Any]) -> None:
    standings = score_cluster(**case)
    scoring: ScoringDef = case["scoring"]
    rows = standings.rows
    assert sorted(row.unit.code for row in rows) == sorted(u.code for u in case["units"])
    max_cap = max(c.cap or 1.0 for c in scoring.criteria)
    keys = [hundredths(row.score) for row in rows]
    assert keys == sorted(keys, reverse=True)
    for row, key in zip(rows, keys, strict=True):
        bonus = max(case["adjustments"].get(row.unit.code, 0.0), 0.0)
        assert 0 <= row.score <= 100 * max_cap + bonus + 1e-6
        if max_cap == 1.0:
            assert row.score <= 100 + bonus + 1e-6
        assert row.rating is scoring.thresholds.rate(row.score)
        # competition ranking (1, 2, 2, 4): 1 + the number of units strictly ahead
        assert row.rank == 1 + sum(1 for k in keys if k > key)
        assert row.tied == (keys.count(key) > 1)
        for result in row.criteria:
            assert 0 <= result.points <= result.criterion.max_points + 1e-9
        assert len(explain(row, "vi")) >= len(scoring.criteria) + 1


@pytest.mark.parametrize(
    ("points", "vi", "en"),
    [
        (20, "20,0", "20.0"),
        (95.95, "96,0", "96.0"),
        (1234567.05, "1.234.567,1", "1,234,567.1"),
        (-3.25, "-3,3", "-3.3"),
        (float("inf"), "—", "—"),
    ],
)
def test_format_points(points: float, vi: str, en: str) -> None:
    assert (format_points(points, "vi"), format_points(points, "en")) == (vi, en)


# --- pro-rating in whole units; half-year targets from the year's -------------------------


def test_pro_rated_need_is_whole_units() -> None:
    """1.100 × the share of the year gone is 1.061,92: people are told "cần 1.062"."""
    scoring = sheet(crit("new_members", 100, label="Phát triển đoàn viên"))
    progress = 1061.92 / 1100
    row = score_cluster(
        [UNITS["long_bien"]],
        {("long_bien", "new_members"): 1058},
        {("long_bien", "new_members"): 1100},
        scoring,
        progress=progress,
    ).rows[0]
    result = row.criteria[0]
    assert (result.expected, result.on_track) == (1062, False)
    lines = explain(row, "vi")
    assert lines[1] == "chậm tiến độ: cần 1.062 đến hôm nay, theo tiến độ"
    assert not any("1.061,92" in line for line in lines)
    exactly = score_cluster(
        [UNITS["long_bien"]],
        {("long_bien", "new_members"): 1062},
        {("long_bien", "new_members"): 1100},
        scoring,
        progress=progress,
    ).rows[0]
    assert exactly.criteria[0].on_track is True


def test_half_year_ranked_against_the_years_target_pro_rated() -> None:
    """Targets registered only per year: the first 6 months use half of them, and say so."""
    registered = [
        Target("long_bien", "new_unions", "2025", 25),  # half: 12,5 → 13 whole unions
        Target("long_bien", "new_members", "2025", 1100),  # half: 550
        Target("hoan_kiem", "new_unions", "2025-H1", 10),  # its own half-year target wins
        Target("hoan_kiem", "new_unions", "2025", 40),
    ]
    h1 = targets_for_period(registered, Period(PeriodKind.HALF, 2025, 1))
    assert h1.values == {
        ("long_bien", "new_unions"): 13,
        ("long_bien", "new_members"): 550,
        ("hoan_kiem", "new_unions"): 10,
    }
    assert h1.from_year == {("long_bien", "new_unions"): 25, ("long_bien", "new_members"): 1100}
    assert h1.share == Fraction(1, 2)
    year = targets_for_period(registered, Period(PeriodKind.YEAR, 2025, 1))
    assert year.from_year == {} and year.values[("long_bien", "new_members")] == 1100

    scoring = sheet(crit("new_unions", 50, label="Thành lập CĐCS"), crit("new_members", 50))
    totals = {("long_bien", "new_unions"): 13, ("long_bien", "new_members"): 600}
    row = score_cluster(
        [UNITS["long_bien"]], totals, h1.values, scoring, from_year=h1.from_year
    ).rows[0]
    assert row.score == 100 and not row.rescaled  # ranked, not left out against "—"
    lines = explain(row, "vi")
    assert lines[:2] == [
        "Thành lập CĐCS: 13/13 = 100,0% → 50,0/50 điểm",
        "chỉ tiêu kỳ này 13, tính theo tỷ lệ từ chỉ tiêu năm 25",
    ]
    assert "pro-rated from the year's 1,100" in explain(row, "en")[3]


def test_short_labels_are_validated() -> None:
    ok = crit("cba", 100, short_label=LocalText(vi="TƯLĐTT", en="CBAs"))
    assert ok.short("vi") == "TƯLĐTT" and crit("cba", 100).short("vi") == "cba"
    for bad in ("Thỏa ước lao động tập thể", " TƯLĐTT", "TƯ  LĐTT"):
        with pytest.raises(ValidationError, match="short_label"):
            crit("cba", 100, short_label=LocalText(vi=bad))
    with pytest.raises(ValidationError, match="short_label"):
        MeasureDef(
            code="cba",
            label=LocalText(vi="Thỏa ước lao động tập thể"),
            short_label=LocalText(vi="TƯLĐTT", en="Collective agreements"),
            indicator="cba",
            field="agreements",
        )
    assert all(m.short_label is not None for m in default_measures())
