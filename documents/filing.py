"""The documents a cluster files: the summary table and a draft of the review-meeting minutes.

Two .docx files (python-docx) laid out as Vietnamese administrative documents
are (Nghị định 30/2020/NĐ-CP, Phụ lục I): A4, Times New Roman, margins 2 cm
top and bottom, 3 cm left, 1.5 cm right; a borderless two-column heading with
the federation (upper case) and the cluster (upper case, bold, a short rule
under it) on the left, the national heading on the right ("CỘNG HÒA XÃ HỘI
CHỦ NGHĨA VIỆT NAM" bold upper case, "Độc lập - Tự do - Hạnh phúc" bold with a
rule as long as itself) and under it the place and date in italics, with a 0
before days under 10 and months 1 and 2 ("Hà Nội, ngày 05 tháng 01 năm 2026").

- "Bảng tổng hợp kết quả thi đua" (landscape): the ranking with each
  criterion's points, bonus/penalty, score and rating; the advisory note;
  "Người lập biểu" and "Cụm trưởng" sign.
- "Biên bản họp bình xét thi đua" (portrait): a draft the secretary completes:
  who attended (the member units listed, names left to fill in), the ranking
  with a column for the votes, the proposal for awards (đề nghị khen thưởng:
  the cluster's leader and the units rated xuất sắc), the advisory note;
  "Thư ký" and "Chủ trì" sign.

Plain models in, bytes out: no database, no clock; every word comes from the
message catalog (vi/en) through the `translate` the caller passes in. Made
outside any transaction (in the worker process or a thread). The zip entries
and the document properties are dated `generated_at`, so the same filing twice
is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from domain.scoring import Rating, Standings, TieBreak, format_points

if TYPE_CHECKING:  # python-docx (and lxml) load when a document is made, not with the CLI
    from docx.document import Document
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

__all__ = [
    "FiledCriterion",
    "FiledUnit",
    "Filing",
    "Translate",
    "minutes_docx",
    "summary_docx",
]

_FONT = "Times New Roman"
_BODY_PT = 13
_HEADING_PT = 13
_TITLE_PT = 14
_TABLE_PT = 12
# Nghị định 30/2020/NĐ-CP: A4; top and bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
_PAGE_CM = (21.0, 29.7)
_MARGINS_CM = {"top": 2.0, "bottom": 2.0, "left": 3.0, "right": 1.5}
# The heading's columns: the agency on the left, the national heading on the right.
_LEFT_SHARE = 0.4
_DOTS = "……………………"
_NO_DATE = dt.datetime(1980, 1, 1)


class Translate(Protocol):
    """The message catalog: `translate(lang, key, **params)`; bot.i18n.Catalog is one."""

    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class FiledCriterion:
    """A column of the summary: the criterion's short label and the most it can earn."""

    label: str
    max_points: float


@dataclass(frozen=True, slots=True)
class FiledUnit:
    """One unit's line: `points` per criterion in the order of `Filing.criteria` (None: the
    criterion did not count for it)."""

    rank: int
    name: str
    score: float
    rating: Rating
    adjustment: float = 0.0
    points: tuple[float | None, ...] = ()
    tied: bool = False


@dataclass(frozen=True, slots=True)
class Filing:
    """What both documents show: who files, for which cluster and period, where and when.

    `day` dates the documents (the heading's place and date line);
    `finalised_on` is the day the figures were finalised (None: provisional,
    and the documents say "tạm tính"); `head_unit` the cluster head's unit,
    named beside "Chủ trì" in the minutes; `members` the cluster's units in
    the order the minutes list them (by default the ranking's).
    """

    federation: str
    cluster: str
    period_label: str
    place: str
    day: dt.date
    criteria: tuple[FiledCriterion, ...]
    units: tuple[FiledUnit, ...]
    tie_rule: TieBreak = TieBreak.NAME
    finalised_on: dt.date | None = None
    head_unit: str = ""
    members: tuple[str, ...] = ()
    lang: str = "vi"
    generated_at: dt.datetime | None = None

    @classmethod
    def of_standings(
        cls,
        standings: Standings,
        *,
        federation: str,
        cluster: str,
        period_label: str,
        place: str,
        day: dt.date,
        lang: str = "vi",
        **more: Any,
    ) -> Filing:
        """The filing of a computed ranking (live standings, or a snapshot's rebuilt)."""
        lang = "en" if lang == "en" else "vi"
        seen: dict[str, FiledCriterion] = {}
        for row in standings.rows:
            for result in row.criteria:
                c = result.criterion
                seen.setdefault(c.code, FiledCriterion(c.short(lang), c.max_points))
        codes = list(seen)
        units = []
        for row in standings.rows:
            by_code = {r.criterion.code: r for r in row.criteria}
            points = tuple(
                None if (r := by_code.get(code)) is None or r.excluded else r.points
                for code in codes
            )
            units.append(
                FiledUnit(
                    row.rank,
                    row.unit.name,
                    row.score,
                    row.rating,
                    row.adjustment,
                    points,
                    row.tied,
                )
            )
        return cls(
            federation=federation,
            cluster=cluster,
            period_label=period_label,
            place=place,
            day=day,
            criteria=tuple(seen.values()),
            units=tuple(units),
            tie_rule=standings.tie_rule,
            lang=lang,
            **more,
        )


class _Words:
    """Catalog look-ups in the filing's language."""

    def __init__(self, translate: Translate, lang: str) -> None:
        self._translate = translate
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return self._translate(self.lang, key, **params)


def summary_docx(filing: Filing, translate: Translate) -> bytes:
    """Bảng tổng hợp kết quả thi đua: heading, the ranking table, notes, signatures."""
    w = _Words(translate, filing.lang)
    doc = _document(filing, w("filing.summary_title"), landscape=True)
    _national_heading(doc, filing, w, number=None)
    _title(doc, w("filing.summary_title"), f"{filing.cluster} — {filing.period_label}")
    _italic_line(doc, _status(filing, w))
    _summary_table(doc, filing, w)
    _note(doc, w("filing.advisory"))
    _note(doc, w(filing.tie_rule.label_key))
    _signatures(doc, (w("filing.prepared_by"), w("filing.cluster_head")), w)
    return _saved(doc, filing)


def minutes_docx(filing: Filing, translate: Translate) -> bytes:
    """Biên bản họp bình xét thi đua: a draft, its blanks dotted for the secretary to fill."""
    w = _Words(translate, filing.lang)
    doc = _document(filing, w("filing.minutes_title"), landscape=False)
    _national_heading(doc, filing, w, number=w("filing.minutes_number"))
    _title(doc, w("filing.minutes_kind"), w("filing.minutes_about", period=filing.period_label))
    _body(doc, w("filing.minutes_opening", cluster=filing.cluster, period=filing.period_label))

    _section(doc, w("filing.attendance"))
    head = w("filing.chair_of", unit=filing.head_unit) if filing.head_unit else ""
    _body(doc, w("filing.chair_line", dots=_DOTS, of=head))
    _body(doc, w("filing.secretary_line", dots=_DOTS))
    members = filing.members or tuple(u.name for u in filing.units)
    _body(doc, w("filing.members_line", count=len(members)))
    for name in members:
        _body(doc, w("filing.member_line", unit=name, dots=_DOTS), indent=False)

    _section(doc, w("filing.content"))
    _body(doc, w("filing.results_intro", period=filing.period_label, status=_status(filing, w)))
    _minutes_table(doc, filing, w)
    _body(doc, w("filing.discussion", dots=_DOTS * 3))

    _section(doc, w("filing.proposal"))
    _proposal(doc, filing, w)
    _note(doc, w("filing.advisory"))
    _body(doc, w("filing.closing", dots="……"))
    _signatures(doc, (w("filing.secretary"), w("filing.chair")), w)
    return _saved(doc, filing)


# --- the page and its heading --------------------------------------------------------


def _document(filing: Filing, title: str, *, landscape: bool) -> Document:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = docx.Document()
    section = doc.sections[0]
    width, height = _PAGE_CM
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        width, height = height, width
    section.page_width, section.page_height = Cm(width), Cm(height)
    for side, cm in _MARGINS_CM.items():
        setattr(section, f"{side}_margin", Cm(cm))
    style = doc.styles["Normal"]
    style.font.name = _FONT
    style.font.size = Pt(_BODY_PT)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), _FONT)
    style.paragraph_format.space_after = Pt(6)
    props = doc.core_properties
    props.title = f"{title} — {filing.cluster} — {filing.period_label}"
    props.author = "thidua"
    props.last_modified_by = "thidua"
    props.revision = 1
    stamp = _stamp(filing)
    props.created = stamp
    props.modified = stamp
    return doc


def _text_width_cm(doc: Document) -> float:
    section = doc.sections[0]
    assert section.page_width is not None
    assert section.left_margin is not None and section.right_margin is not None
    return (section.page_width - section.left_margin - section.right_margin) / 360000


def _national_heading(doc: Document, filing: Filing, w: _Words, number: str | None) -> None:
    """The two-column heading: agency left, national heading right, then place and date."""
    from docx.shared import Cm

    full = _text_width_cm(doc)
    left_cm = round(full * _LEFT_SHARE, 2)
    right_cm = round(full - left_cm, 2)
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    left, right = table.rows[0].cells
    for cell, cm in ((left, left_cm), (right, right_cm)):
        cell.width = Cm(cm)
    _centred(left.paragraphs[0], _upper(filing.federation), size=_HEADING_PT)
    _centred(left.add_paragraph(), _upper(filing.cluster), size=_HEADING_PT, bold=True)
    _rule(left, left_cm, share=1 / 3)
    if number is not None:
        _centred(left.add_paragraph(), number, size=_BODY_PT)
    _centred(right.paragraphs[0], w("filing.nation"), size=_HEADING_PT, bold=True)
    motto = _centred(right.add_paragraph(), w("filing.motto"), size=_TITLE_PT, bold=True)
    motto.runs[0].underline = True  # the rule under the motto: exactly as long as it
    _centred(right.add_paragraph(), "", size=4)
    _centred(right.add_paragraph(), _place_date(filing, w), size=_BODY_PT, italic=True)
    doc.add_paragraph()


def _place_date(filing: Filing, w: _Words) -> str:
    """ "Hà Nội, ngày 05 tháng 01 năm 2026": days under 10 and months 1–2 with a 0."""
    day = filing.day
    return w(
        "filing.place_date",
        place=filing.place or _DOTS,
        day=f"{day.day:02d}",
        month=f"{day.month:02d}" if day.month < 3 else str(day.month),
        year=day.year,
    )


def _status(filing: Filing, w: _Words) -> str:
    if filing.finalised_on is not None:
        return w("filing.finalised_on", date=f"{filing.finalised_on:%d/%m/%Y}")
    return w("filing.provisional", date=f"{filing.day:%d/%m/%Y}")


def _title(doc: Document, kind: str, about: str) -> None:
    """The document's kind (upper case, bold) and what it is about, a short rule under it."""
    from docx.shared import Cm

    _centred(doc.add_paragraph(), _upper(kind), size=_TITLE_PT, bold=True, after=0)
    about_paragraph = _centred(doc.add_paragraph(), about, size=_TITLE_PT, bold=True, after=0)
    about_paragraph.paragraph_format.keep_with_next = True
    full = _text_width_cm(doc)
    line = doc.add_paragraph()
    _border(line, "bottom")
    indent = full * (1 - 1 / 4) / 2
    line.paragraph_format.left_indent = Cm(indent)
    line.paragraph_format.right_indent = Cm(indent)
    line.paragraph_format.space_after = _pt(6)
    _size(line, 4)


def _italic_line(doc: Document, text: str) -> None:
    _centred(doc.add_paragraph(), text, size=_BODY_PT, italic=True)


def _section(doc: Document, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_before = _pt(6)
    paragraph.add_run(text).bold = True


def _body(doc: Document, text: str, *, indent: bool = True) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    paragraph = doc.add_paragraph(text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Cm(1.27 if indent else 0)
    paragraph.paragraph_format.left_indent = Cm(0 if indent else 1.27)


def _note(doc: Document, text: str) -> None:
    paragraph = doc.add_paragraph()
    run = paragraph.add_run(text)
    run.italic = True
    run.font.size = _pt(_TABLE_PT)


# --- tables ------------------------------------------------------------------------


def _summary_table(doc: Document, filing: Filing, w: _Words) -> None:
    """Rank, unit, each criterion's points (of its maximum), bonus/penalty, score, rating."""
    lang = filing.lang
    headers = [w("filing.rank"), w("filing.unit")]
    headers += [
        w("filing.criterion_points", criterion=c.label, max=_points(c.max_points, lang))
        for c in filing.criteria
    ]
    show_adjustment = any(u.adjustment for u in filing.units)
    if show_adjustment:
        headers.append(w("filing.adjustment"))
    headers += [w("filing.score"), w("filing.rating")]
    rows: list[list[str]] = []
    for unit in filing.units:
        cells = [_rank(unit, w), unit.name]
        cells += ["—" if p is None else _points(p, lang) for p in unit.points]
        if show_adjustment:
            cells.append(_signed(unit.adjustment, lang) if unit.adjustment else "")
        cells += [_points(unit.score, lang), w(unit.rating.label_key)]
        rows.append(cells)
    if not rows:
        _body(doc, w("filing.no_standings"))
        return
    name_cm = 5.0
    other = (_text_width_cm(doc) - name_cm - 1.3) / max(1, len(headers) - 2)
    _grid(doc, headers, rows, [1.3, name_cm, *[other] * (len(headers) - 2)], name_column=1)


def _minutes_table(doc: Document, filing: Filing, w: _Words) -> None:
    """Rank, unit, score, rating, and an empty column for the votes (số phiếu đồng ý)."""
    headers = [
        w("filing.rank"),
        w("filing.unit"),
        w("filing.score"),
        w("filing.rating"),
        w("filing.votes"),
    ]
    rows = [
        [
            _rank(unit, w),
            unit.name,
            _points(unit.score, filing.lang),
            w(unit.rating.label_key),
            "",
        ]
        for unit in filing.units
    ]
    if not rows:
        _body(doc, w("filing.no_standings"))
        return
    _grid(doc, headers, rows, [1.3, 6.0, 2.2, 3.0, 4.0], name_column=1)


def _grid(
    doc: Document,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_cm: Sequence[float],
    *,
    name_column: int,
) -> None:
    """A bordered table; its header row repeats on every page and rows never split."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header_row = table.rows[0]
    header_props = header_row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    for n, row in enumerate(table.rows):
        props = row._tr.get_or_add_trPr()
        no_split = OxmlElement("w:cantSplit")
        no_split.set(qn("w:val"), "true")
        props.append(no_split)
        texts = headers if n == 0 else rows[n - 1]
        for column, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
            cell.width = Cm(widths_cm[column])
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = _pt(0)
            if n == 0 or column != name_column:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(text)
            run.font.size = _pt(_TABLE_PT)
            run.bold = n == 0
    doc.add_paragraph()


def _proposal(doc: Document, filing: Filing, w: _Words) -> None:
    """Đề nghị khen thưởng: the cluster's leader(s), then the units rated xuất sắc."""
    lang = filing.lang
    _body(doc, w("filing.proposal_intro", federation=filing.federation))

    def named(units: Sequence[FiledUnit]) -> str:
        return "; ".join(
            w(
                "filing.proposal_unit",
                unit=u.name,
                score=_points(u.score, lang),
                rating=w(u.rating.label_key),
            )
            for u in units
        )

    leaders = [u for u in filing.units if u.rank == 1]
    excellent = [u for u in filing.units if u.rating is Rating.EXCELLENT and u.rank != 1]
    none = w("filing.proposal_none")
    _body(doc, w("filing.proposal_leader", units=named(leaders) or none), indent=False)
    _body(doc, w("filing.proposal_excellent", units=named(excellent) or none), indent=False)


# --- signatures ---------------------------------------------------------------------


def _signatures(doc: Document, titles: tuple[str, str], w: _Words) -> None:
    """Two signature blocks side by side (left, right), borderless, each with its hint."""
    from docx.shared import Cm

    half = _text_width_cm(doc) / 2
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    for cell, title in zip(table.rows[0].cells, titles, strict=True):
        cell.width = Cm(half)
        _centred(cell.paragraphs[0], _upper(title), size=_BODY_PT, bold=True, after=0)
        _centred(cell.add_paragraph(), w("filing.sign_hint"), size=_BODY_PT, italic=True)


# --- small pieces ------------------------------------------------------------------


def _upper(text: str) -> str:
    return unicodedata.normalize("NFC", text).upper()


def _rank(unit: FiledUnit, w: _Words) -> str:
    return w("filing.rank_tied", rank=unit.rank) if unit.tied else str(unit.rank)


def _points(points: float, lang: str) -> str:
    return format_points(points, lang)


def _signed(points: float, lang: str) -> str:
    return ("+" if points >= 0 else "−") + format_points(abs(points), lang)


def _pt(size: float) -> Any:
    from docx.shared import Pt

    return Pt(size)


def _size(paragraph: Paragraph, size: float) -> None:
    """The paragraph mark's own size: an empty paragraph is as tall as this."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = paragraph._p.get_or_add_pPr()
    mark = OxmlElement("w:rPr")
    value = OxmlElement("w:sz")
    value.set(qn("w:val"), str(int(size * 2)))
    mark.append(value)
    props.append(mark)


def _centred(
    paragraph: Paragraph,
    text: str,
    *,
    size: float,
    bold: bool = False,
    italic: bool = False,
    after: float = 0,
) -> Paragraph:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = _pt(after)
    paragraph.paragraph_format.first_line_indent = _pt(0)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold
        run.italic = italic
        run.font.size = _pt(size)
    else:
        _size(paragraph, size)
    return paragraph


def _border(paragraph: Paragraph, side: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{side}")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        line.set(qn(name), value)
    borders.append(line)
    props.append(borders)


def _rule(cell: _Cell, cell_cm: float, *, share: float) -> None:
    """A centred rule under the agency's name, `share` of the column wide (1/3 to 1/2)."""
    from docx.shared import Cm

    paragraph = cell.add_paragraph()
    _border(paragraph, "bottom")
    indent = cell_cm * (1 - share) / 2
    paragraph.paragraph_format.left_indent = Cm(indent)
    paragraph.paragraph_format.right_indent = Cm(indent)
    paragraph.paragraph_format.space_after = _pt(2)
    _size(paragraph, 2)


def _stamp(filing: Filing) -> dt.datetime:
    at = filing.generated_at
    if at is None:
        return _NO_DATE
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def _saved(doc: Document, filing: Filing) -> bytes:
    """The document's bytes, every zip entry dated `generated_at` (reproducible)."""
    raw = io.BytesIO()
    doc.save(raw)
    stamp = _stamp(filing)
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            dest.writestr(info, source.read(entry.filename))
    return out.getvalue()
