"""The standings chart: a PNG a phone can show, in Vietnamese, saying it is advisory."""

from __future__ import annotations

import struct
import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.i18n import Catalog
from documents.chart import build_standings_figure, standings_chart
from domain.models import LocalText, Unit
from domain.scoring import (
    CriterionDef,
    Method,
    PenaltyRule,
    ScoringDef,
    Standings,
    TieBreak,
    score_cluster,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CATALOG = Catalog()
FOOTNOTE_VI = "Xếp hạng mang tính tham khảo; kết quả chính thức do hội nghị bình xét"
FOOTNOTE_EN = "Advisory ranking; the official one is voted at the year-end review"

UNITS = [
    Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm"),
    Unit(code="hai_ba_trung", name="LĐLĐ quận Hai Bà Trưng"),
    Unit(code="long_bien", name="LĐLĐ quận Long Biên"),
    Unit(code="dong_da", name="LĐLĐ quận Đống Đa"),
    Unit(code="hoang_mai", name="LĐLĐ quận Hoàng Mai 🏢"),  # an emoji the font lacks
]

SCORING = ScoringDef(
    criteria=(
        CriterionDef(
            code="new_unions",
            label=LocalText(vi="Thành lập CĐCS", en="Grassroots unions founded"),
            measure="new_unions",
            weight=60,
            cap=1.2,
        ),
        CriterionDef(
            code="cba",
            label=LocalText(vi="Thỏa ước lao động tập thể", en="Collective agreements"),
            measure="cba",
            weight=40,
            method=Method.LEADER,
        ),
    ),
    adjustments=(
        PenaltyRule(code="late", label=LocalText(vi="Báo cáo trễ"), points=-2),
        PenaltyRule(code="bonus", label=LocalText(vi="Điểm thưởng"), points=1),
    ),
)


def standings() -> Standings:
    totals = {
        ("hoan_kiem", "new_unions"): 31,
        ("hai_ba_trung", "new_unions"): 12,
        ("long_bien", "new_unions"): 49,
        ("dong_da", "new_unions"): 18,
        ("hoang_mai", "new_unions"): 7,
        ("hoan_kiem", "cba"): 52,
        ("hai_ba_trung", "cba"): 64,
        ("long_bien", "cba"): 40,
        ("dong_da", "cba"): 70.37,
    }
    targets = {
        ("hoan_kiem", "new_unions"): 20,
        ("hai_ba_trung", "new_unions"): 15,
        ("long_bien", "new_unions"): 20,
        # Đống Đa has no target: its base is re-scaled (footnote "*").
        ("hoang_mai", "new_unions"): 10,
    }
    adjustments = {"hoan_kiem": -4.0, "hai_ba_trung": 1.0}
    return score_cluster(UNITS, totals, targets, SCORING, adjustments)


def texts(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text)]


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_is_phone_sized() -> None:
    data = standings_chart(standings(), "Cụm thi đua số 1 — năm 2025", "vi", CATALOG)
    assert data.startswith(PNG_SIGNATURE)
    width, height = png_size(data)
    assert width == 1080
    assert 500 < height < 2000
    assert width + height <= 10_000  # Telegram's limit for a photo


def test_no_missing_glyph_warnings_for_vietnamese() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        title = "Cụm thi đua số 1: Hoàn Kiếm, Hai Bà Trưng 🎯"
        standings_chart(standings(), title, "vi", CATALOG)
        standings_chart(standings(), "Cluster 1", "en", CATALOG)


def test_missing_glyph_check_would_catch_a_missing_glyph() -> None:
    # Guards the test above: drawing a character DejaVu Sans lacks does warn.
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "🎯", fontfamily="DejaVu Sans")
    with pytest.warns(UserWarning, match="[Gg]lyph"):
        figure.canvas.draw()


def test_vietnamese_texts_and_footnote() -> None:
    figure = build_standings_figure(standings(), "Cụm thi đua số 1", "vi", CATALOG)
    shown = texts(figure)
    joined = "\n".join(shown)
    assert FOOTNOTE_VI in joined
    assert "Xếp hạng mang tính tham khảo; kết quả chính thức do hội nghị bình xét" in joined
    assert any("LĐLĐ quận Hoàn Kiếm" in t for t in shown)
    assert any("LĐLĐ quận Hai Bà Trưng" in t for t in shown)
    assert any(t.startswith("LĐLĐ quận Hoàng Mai") and "🏢" not in t for t in shown)
    # Legend: criterion labels, and bonus/penalty since both occur.
    for label in ("Thành lập CĐCS", "Thỏa ước lao động tập thể", "Điểm thưởng", "Điểm trừ"):
        assert label in shown
    # Re-scaled Đống Đa is marked and explained.
    assert "* Điểm quy về thang 100 vì có tiêu chí chưa có chỉ tiêu" in joined


def test_score_and_rank_at_bar_end_with_decimal_comma() -> None:
    table = standings()
    figure = build_standings_figure(table, "Cụm 1", "vi", CATALOG)
    shown = texts(figure)
    for row in table.rows:
        score = row.format_score("vi")
        assert any(t.startswith(score) and f"hạng {row.rank}" in t for t in shown), score
    assert any("," in t and "hạng 1" in t for t in shown)  # e.g. "96,0 · hạng 1"


def test_english_uses_decimal_point_and_english_footnote() -> None:
    table = standings()
    figure = build_standings_figure(table, "Cluster 1", "en", CATALOG)
    shown = texts(figure)
    assert FOOTNOTE_EN in "\n".join(shown)
    top = table.rows[0]
    assert top.rescaled  # Đống Đa: no target for one criterion
    assert f"{top.format_score('en')}* · #1" in shown
    second = table.rows[1]
    assert f"{second.format_score('en')} · #2" in shown
    assert "." in second.format_score("en")
    assert "Grassroots unions founded" in shown


def test_ties_are_labelled() -> None:
    targets = {(u.code, "new_unions"): 10.0 for u in UNITS}
    tied = score_cluster(UNITS[:2], {}, targets, SCORING)
    shown = texts(build_standings_figure(tied, "Cụm", "vi", CATALOG))
    assert shown.count("0,0 · đồng hạng 1") == 2


def test_empty_standings() -> None:
    empty = Standings(rows=(), tie_rule=TieBreak.NAME)
    data = standings_chart(empty, "Cụm thi đua số 1", "vi", CATALOG)
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data)[0] == 1080
    shown = texts(build_standings_figure(empty, "Cụm thi đua số 1", "vi", CATALOG))
    assert "Chưa có dữ liệu xếp hạng" in shown
    assert FOOTNOTE_VI in "\n".join(shown)


def test_many_units_stay_within_photo_limits() -> None:
    units = [Unit(code=f"u{i}", name=f"Công đoàn phường số {i}") for i in range(60)]
    totals = {(u.code, "new_unions"): float(i) for i, u in enumerate(units)}
    table = score_cluster(units, totals, {}, SCORING)
    data = standings_chart(table, "Toàn thành phố", "vi", CATALOG)
    width, height = png_size(data)
    assert width + height <= 10_000
    shown = texts(build_standings_figure(table, "Toàn thành phố", "vi", CATALOG))
    assert any("và 20 đơn vị khác" in t for t in shown)


def test_dollar_signs_are_not_mathtext() -> None:
    units = [Unit(code="a", name="Công đoàn $ngành$ A")]
    table = score_cluster(units, {}, {}, SCORING)
    data = standings_chart(table, "Giá $5 ", "vi", CATALOG)
    assert data.startswith(PNG_SIGNATURE)
    assert any("$ngành$" in t for t in texts(build_standings_figure(table, "x", "vi", CATALOG)))


def test_a_label_too_long_for_the_legend_uses_the_short_label() -> None:
    long_label = "Ký kết thỏa ước lao động tập thể có nhiều nội dung có lợi hơn cho người lao động"
    criteria = (
        SCORING.criteria[0],
        SCORING.criteria[1].model_copy(
            update={
                "label": LocalText(vi=long_label),
                "short_label": LocalText(vi="TƯLĐTT có lợi"),
            }
        ),
    )
    scoring = SCORING.model_copy(update={"criteria": criteria})
    result = score_cluster(UNITS, {("long_bien", "cba"): 3}, {}, scoring)
    shown = texts(build_standings_figure(result, "Cụm thi đua số 1", "vi", CATALOG))
    assert "TƯLĐTT có lợi" in shown
    assert not any(t.startswith("Ký kết thỏa ước") for t in shown)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_word_on_the_chart_comes_from_the_catalog(lang: str) -> None:
    """Legend, end labels, ratings and notes in the language asked for: no catalog key
    left showing, and no Vietnamese word on an English chart."""
    table = standings()
    shown = "\n".join(texts(build_standings_figure(table, "Cluster 1", lang, CATALOG)))
    assert "chart." not in shown and "rating." not in shown
    if lang == "en":
        assert "#1" in shown and "hạng" not in shown and "Điểm" not in shown
        assert CATALOG("en", table.rows[0].rating.label_key) in shown
    else:
        assert "hạng 1" in shown
        assert CATALOG("vi", table.rows[0].rating.label_key) in shown
