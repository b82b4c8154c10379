"""The standings chart: one PNG a cluster head can read on a phone and forward.

Horizontal bars, one per unit in rank order, each split into the points it
earned per criterion (so "why is Ba Đình behind?" is answered by looking), with
the score and rank at the bar's end and the advisory-ranking footnote the
domain requires. Every word on it comes from the message catalog (vi/en),
through the `translate` the caller passes in. Drawn with matplotlib's object
API and the Agg canvas: no pyplot, no global rcParams, no display, so it is
safe in a server process and next to other code that uses matplotlib. Pure:
standings in, PNG bytes out.

Text is drawn in DejaVu Sans (shipped with matplotlib; it covers Vietnamese),
normalised to NFC, with any character the font lacks (an emoji in a unit name)
dropped rather than rendered as a box with a warning in the log.
"""

from __future__ import annotations

import io
import math
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # matplotlib costs about a second to import: only when a chart is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

from domain.scoring import CriterionDef, Rating, Standings, UnitStanding, format_points

__all__ = ["Translate", "build_standings_figure", "standings_chart"]


class Translate(Protocol):
    """The message catalog: `translate(lang, key, **params)`; bot.i18n.Catalog is one."""

    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


class _Labels:
    """The chart's words in one language, from the catalog ("chart." keys and [rating])."""

    def __init__(self, translate: Translate, lang: str) -> None:
        self._translate = translate
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return self._translate(self.lang, f"chart.{key}", **params)

    def rating(self, rating: Rating) -> str:
        return self._translate(self.lang, rating.label_key)


FONT = "DejaVu Sans"
# 1080 px wide at 150 dpi: a phone shows it full width without scaling text away.
_WIDTH_IN = 7.2
_DPI = 150
# Telegram refuses photos whose width + height exceed 10000 px.
_MAX_SIDES_PX = 9800
# More bars than this are unreadable on a phone; the rest are in the workbook.
_MAX_UNITS = 40
_ROW_IN = 0.66
_TITLE_PT = 17.0
_NAME_PT = 13.0
_VALUE_PT = 13.0
_LEGEND_PT = 11.5
_NOTE_PT = 10.0
_TICK_PT = 10.0

# Okabe–Ito: tells criteria apart for colour-blind readers too.
_PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
)
_HATCHES = ("", "//", "..", "xx")
_BONUS_COLOR = "#4D9221"
_PENALTY_COLOR = "#C51B7D"


def standings_chart(standings: Standings, title: str, lang: str, translate: Translate) -> bytes:
    """A PNG of the standings, 1080 px wide, for sending as a photo; every word on it
    comes from the catalog through `translate`, in `lang`."""
    figure = build_standings_figure(standings, title, lang, translate)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def build_standings_figure(
    standings: Standings, title: str, lang: str, translate: Translate
) -> Figure:
    """The chart as a matplotlib Figure (what `standings_chart` renders), for tests."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    lang = "en" if lang == "en" else "vi"
    t = _Labels(translate, lang)
    rows = standings.rows[:_MAX_UNITS]
    hidden = len(standings.rows) - len(rows)
    criteria = _criteria(rows)
    legend_entries = _legend_entries(rows, criteria, t)
    notes = [t("footnote")]
    if any(row.rescaled for row in rows):
        notes.append(t("rescaled"))
    if hidden:
        notes.insert(0, t("more", n=hidden))

    title_lines = textwrap.wrap(_clean(title), 40, max_lines=3, placeholder=" …") or [""]
    note_lines = [line for note in notes for line in textwrap.wrap(note, 80)]
    legend_cols = 2 if all(len(label) <= 30 for label, _ in legend_entries) else 1
    legend_rows = math.ceil(len(legend_entries) / legend_cols)

    # Vertical layout in inches, top to bottom.
    top_in = 0.2 + 0.32 * len(title_lines) + 0.1
    body_in = (_ROW_IN * len(rows) + 0.55) if rows else 1.2
    legend_in = 0.25 * legend_rows + (0.2 if legend_rows else 0)
    notes_in = 0.22 * len(note_lines) + 0.3
    height_in = top_in + body_in + legend_in + notes_in
    dpi = min(_DPI, _MAX_SIDES_PX / (_WIDTH_IN + height_in))

    figure = Figure(figsize=(_WIDTH_IN, height_in), dpi=dpi, facecolor="white")
    FigureCanvasAgg(figure)  # attaches itself: off-screen Agg, whatever pyplot's backend is

    def y_frac(inches_from_top: float) -> float:
        return 1 - inches_from_top / height_in

    figure.text(
        0.04,
        y_frac(0.2),
        "\n".join(title_lines),
        ha="left",
        va="top",
        fontproperties=_font(_TITLE_PT, bold=True),
        parse_math=False,
    )
    axes_left, axes_right = 0.04, 0.97
    if rows:
        ticks_in = 0.35
        axes = figure.add_axes(
            (
                axes_left,
                y_frac(top_in + body_in - ticks_in),
                axes_right - axes_left,
                (body_in - ticks_in) / height_in,
            )
        )
        _draw_bars(axes, rows, criteria, t)
    else:
        figure.text(
            0.5,
            y_frac(top_in + body_in / 2),
            t("empty"),
            ha="center",
            va="center",
            color="#555555",
            fontproperties=_font(_NAME_PT),
            parse_math=False,
        )
    if legend_entries:
        handles = [
            Patch(facecolor=face, edgecolor=edge, hatch=hatch, label=label)
            for label, (face, edge, hatch) in legend_entries
        ]
        legend = figure.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(axes_left, y_frac(top_in + body_in + 0.1)),
            ncols=legend_cols,
            frameon=False,
            prop=_font(_LEGEND_PT),
            handlelength=1.4,
            columnspacing=1.2,
            borderaxespad=0,
            borderpad=0,
        )
        for text in legend.get_texts():
            text.set_parse_math(False)
    figure.text(
        axes_left,
        y_frac(height_in - 0.15),
        "\n".join(note_lines),
        ha="left",
        va="bottom",
        color="#444444",
        linespacing=1.4,
        fontproperties=_font(_NOTE_PT, italic=True),
        parse_math=False,
    )
    return figure


@dataclass(frozen=True, slots=True)
class _Segment:
    start: float
    width: float
    face: str
    edge: str
    hatch: str


def _draw_bars(
    axes: Axes,
    rows: Sequence[UnitStanding],
    criteria: Sequence[CriterionDef],
    t: _Labels,
) -> None:
    """Stacked bars (rank order, top to bottom), names above, score and rank at the end."""
    from matplotlib.transforms import blended_transform_factory

    styles = {c.code: _criterion_style(n) for n, c in enumerate(criteria)}
    ends: list[float] = []
    end_texts: list[Text] = []
    name_texts: list[Text] = []
    names = blended_transform_factory(axes.transAxes, axes.transData)
    for y, row in enumerate(rows):
        segments = _segments(row, styles)
        for s in segments:
            axes.barh(
                y + 0.17,
                s.width,
                left=s.start,
                height=0.42,
                color=s.face,
                edgecolor=s.edge,
                hatch=s.hatch,
                linewidth=0.6 if s.hatch else 0,
            )
        end = max([0.0, *(s.start + s.width for s in segments)])
        ends.append(end)
        name_texts.append(
            axes.text(
                0,
                y - 0.1,
                _clean(row.unit.name),
                transform=names,
                ha="left",
                va="bottom",
                clip_on=False,
                fontproperties=_font(_NAME_PT, bold=row.rank == 1),
                parse_math=False,
            )
        )
        end_texts.append(
            axes.annotate(
                _end_label(row, t),
                xy=(end, y + 0.17),
                xytext=(5, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                annotation_clip=False,
                fontproperties=_font(_VALUE_PT, bold=True),
                parse_math=False,
            )
        )

    # Room at the right for the longest "92,5 · hạng 1", measured, not guessed.
    axes_px = axes.get_window_extent().width
    for row, text in zip(rows, name_texts, strict=True):
        _fit(text, _clean(row.unit.name), f" · {t.rating(row.rating)}", axes_px)
    pad_px = 5 * axes.figure.dpi / 72 + 4
    x_max = max(100.0, *ends) * 1.02
    for end, text in zip(ends, end_texts, strict=True):
        room = axes_px - pad_px - text.get_window_extent().width
        if room > axes_px * 0.3:
            x_max = max(x_max, end * axes_px / room)
    axes.set_xlim(0, x_max)
    axes.set_ylim(len(rows) - 0.4, -0.65)

    ticks = [t for t in range(0, int(x_max) + 1, 20) if t <= x_max]
    axes.set_xticks(ticks, [str(t) for t in ticks], fontproperties=_font(_TICK_PT))
    axes.tick_params(axis="x", colors="#666666", length=0)
    axes.set_yticks([])
    axes.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color("#BBBBBB")


def _segments(row: UnitStanding, styles: dict[str, tuple[str, str, str]]) -> list[_Segment]:
    """The bar of one unit: criteria points scaled to its base, then bonus or penalty.

    When a criterion was left out (no target), the base is re-scaled to the
    sheet's total; the segments are scaled alike so they add up to what the
    unit is credited with. A penalty is drawn as a hatched end from the score
    back to the base, so the bar still shows what was earned before it.
    """
    scale = row.total_weight / row.counted_weight if row.counted_weight > 0 else 0.0
    segments: list[_Segment] = []
    x = 0.0
    for result in row.criteria:
        width = 0.0 if result.excluded else max(result.points, 0.0) * scale
        if width <= 0:
            continue
        face, edge, hatch = styles[result.criterion.code]
        segments.append(_Segment(x, width, face, edge, hatch))
        x += width
    if row.adjustment > 0:
        segments.append(_Segment(x, row.adjustment, _BONUS_COLOR, "white", ""))
    elif row.adjustment < 0 and row.score < x:
        segments.append(_Segment(row.score, x - row.score, "white", _PENALTY_COLOR, "////"))
    return segments


def _fit(text: Text, name: str, suffix: str, width_px: float) -> None:
    """Set `name + suffix`, cutting the name with "…" until it fits `width_px`.

    Unit names can be long ("Công đoàn ngành Xây dựng Thành phố Hà Nội"); the
    rating after it matters more than the tail of the name.
    """
    text.set_text(name + suffix)
    if text.get_window_extent().width <= width_px:
        return
    low, high = 0, len(name)  # the longest prefix that fits is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        text.set_text(name[:middle].rstrip() + "…" + suffix)
        if text.get_window_extent().width <= width_px:
            low = middle
        else:
            high = middle
    text.set_text(name[:low].rstrip() + "…" + suffix)


def _end_label(row: UnitStanding, t: _Labels) -> str:
    score = format_points(row.score, t.lang) + ("*" if row.rescaled else "")
    return t("rank_tied" if row.tied else "rank", score=score, rank=row.rank)


def _criteria(rows: Sequence[UnitStanding]) -> list[CriterionDef]:
    """The score sheet's criteria in sheet order (every row has the same sheet)."""
    seen: dict[str, CriterionDef] = {}
    for row in rows:
        for result in row.criteria:
            seen.setdefault(result.criterion.code, result.criterion)
    return list(seen.values())


def _criterion_style(n: int) -> tuple[str, str, str]:
    """(face, edge, hatch): colours first, hatching once the palette runs out."""
    hatch = _HATCHES[(n // len(_PALETTE)) % len(_HATCHES)]
    return _PALETTE[n % len(_PALETTE)], "white", hatch


def _legend_entries(
    rows: Sequence[UnitStanding], criteria: Sequence[CriterionDef], t: _Labels
) -> list[tuple[str, tuple[str, str, str]]]:
    entries = [(_legend_label(c, t.lang), _criterion_style(n)) for n, c in enumerate(criteria)]
    if any(row.adjustment > 0 for row in rows):
        entries.append((t("bonus"), (_BONUS_COLOR, "white", "")))
    if any(row.adjustment < 0 for row in rows):
        entries.append((t("penalty"), ("white", _PENALTY_COLOR, "////")))
    return entries


def _font(size: float, *, bold: bool = False, italic: bool = False) -> FontProperties:
    """Our font at a size; every text also gets parse_math=False ("$" stays a "$")."""
    from matplotlib.font_manager import FontProperties

    style: Literal["normal", "oblique"] = "oblique" if italic else "normal"
    return FontProperties(family=FONT, size=size, weight="bold" if bold else "normal", style=style)


def _legend_label(criterion: CriterionDef, lang: str) -> str:
    """The full label when it fits the legend, else the configured short label (never a
    label cut mid-word while a short one exists)."""
    full = _clean(criterion.label.get(lang))
    return full if len(full) <= 60 else _shorten(_clean(criterion.short(lang)), 60)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@lru_cache(maxsize=1)
def _charmap() -> frozenset[int]:
    """Code points every face we use (regular, bold, oblique) can draw."""
    from matplotlib.font_manager import findfont, get_font

    points: set[int] | None = None
    for properties in (_font(10), _font(10, bold=True), _font(10, italic=True)):
        path = findfont(properties, fallback_to_default=False)
        codes = set(get_font(path).get_charmap())
        points = codes if points is None else points & codes
    return frozenset(points or ())


def _clean(text: str) -> str:
    """NFC text without characters the font lacks (emoji, stray controls)."""
    known = _charmap()
    return "".join(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if ch == "\n" or (ord(ch) in known and unicodedata.category(ch) != "Cc")
    ).strip()
