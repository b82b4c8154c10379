"""The Excel export federation staff ask for: standings, every report, the targets.

One .xlsx as a clerk files it. Each cluster's standings sheet carries the
official heading (federation, cluster, "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA", the
period, "tạm tính" with the date), units by name, the rank and name columns
frozen, a totals row and a signature block (Người lập biểu, Cụm trưởng); an
export of every cluster has one such sheet per cluster. Then the reports and
the targets, each with a frozen, filterable header. Real numbers and dates in
the cells (so the staffer can sum, filter and pivot) with Vietnamese-friendly
number formats. Every label comes from the message catalog (vi/en), through
the `translate` the caller passes in.

Reports stream: they come as an iterable of plain `ReportLine` tuples (a
database cursor, in the export use case) and are written with XlsxWriter's
constant-memory mode, one row at a time, so a federation's year of a million
reports needs neither the reports nor the sheet in memory (chosen by
measurement over openpyxl's write-only mode: bench/export.py). Past Excel's
1,048,576-row limit the reports continue on "Báo cáo (2)", "(3)"…: never a
broken file. The columns depend on which indicators have reports and whether
any value has no column of its own (`ReportShape`): the caller that streams
says so up front; given a list, it is worked out here.

Pure: values in, bytes (or a file) out; no database, no clock. The document
properties and the zip entries are dated `generated_at`, so the same export
twice is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from domain.exports import ReportLine
from domain.models import FieldDef, FieldType, IndicatorDef, Report
from domain.numbers import format_number
from domain.obligations import Tally
from domain.scoring import (
    CriterionDef,
    CriterionResult,
    Method,
    Rating,
    Standings,
    UnitStanding,
)

if TYPE_CHECKING:  # xlsxwriter is imported when a workbook is made, not with the CLI
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

__all__ = [
    "ClusterSheet",
    "ReportLine",
    "ReportRow",
    "ReportShape",
    "TargetRow",
    "Translate",
    "export_workbook",
    "write_workbook",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Excel's limits: rows per sheet (one is the header), characters per cell and
# per sheet name, and the characters a sheet name may not contain.
_MAX_DATA_ROWS = 1_048_575
_MAX_CELL_CHARS = 32_767
_MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# What Excel cannot hold in a cell (XML 1.0 forbids these control characters).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PROGRESS_EVERY = 1000
# Zip entries cannot be dated before 1980; used when no `generated_at` is given.
_NO_DATE = dt.datetime(1980, 1, 1)

_INTEGER = "#,##0"
_DECIMAL = "#,##0.0#"
_POINTS = "0.0"
_PERCENT = "0.0%"
_DATE = "dd/mm/yyyy"
_DATETIME = "dd/mm/yyyy hh:mm"

_HEADER: dict[str, Any] = {
    "bold": True,
    "bg_color": "#DDEBF7",
    "pattern": 1,
    "text_wrap": True,
    "valign": "top",
}
_NOTE: dict[str, Any] = {"italic": True, "font_color": "#555555"}
_MESSAGE: dict[str, Any] = {"bold": True, "font_size": 13}
_TOTAL: dict[str, Any] = {"bold": True, "top": 1, "bottom": 6}
_TITLE: dict[str, Any] = {"bold": True, "font_size": 14}
_BOLD: dict[str, Any] = {"bold": True}
_ITALIC: dict[str, Any] = {"italic": True}
_PLAIN: dict[str, Any] = {}
_CENTER: dict[str, Any] = {"align": "center", "valign": "vcenter"}

# The standings sheet: the heading's rows, then the column headers (1-based, as Excel shows).
_FEDERATION_ROW = 1
_CLUSTER_ROW = 2
_TITLE_ROW = 4
_PERIOD_ROW = 5
_PROVISIONAL_ROW = 6
_HEADER_ROW = 8
# The rank and unit name columns stay in view when scrolling right.
_FROZEN_COLUMNS = 2
# The left block (federation, cluster) spans this many columns.
_LEFT_BLOCK = 4


_Value = int | float | str | dt.date | None
"""What a cell holds here (a datetime is a date)."""


class Translate(Protocol):
    """The message catalog: `translate(lang, key, **params)`; bot.i18n.Catalog is one."""

    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class ClusterSheet:
    """One cluster's standings sheet: its ranking and each unit's reporting rate.

    `standings` is None when the configuration has no scoring; `rates` holds
    the units that owed reports (a unit absent from it shows no rate).
    """

    name: str
    standings: Standings | None
    rates: Mapping[str, Tally] = dataclass_field(default_factory=dict)
    #: The day the period was finalised for this cluster (None: provisional, "tạm tính").
    finalised_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """A report object with the names a reader needs (for callers that hold reports)."""

    report: Report
    unit_name: str
    person_name: str
    photo_count: int | None = None
    """Evidence photos, when the report was loaded without them; else len(report.photos)."""

    def line(self) -> ReportLine:
        r = self.report
        photos = len(r.photos) if self.photo_count is None else self.photo_count
        return ReportLine(
            r.id,
            r.occurred_on,
            self.unit_name,
            self.person_name,
            r.indicator,
            str(r.status),
            r.created_at,
            r.updated_at,
            r.version,
            photos,
            r.values,
        )


@dataclass(frozen=True, slots=True)
class ReportShape:
    """What the reports sheet's columns depend on, known before its first row is written.

    `indicators`: the indicators that have reports (each configured one gets
    a column per field); `has_other`: some value has no column of its own (an
    indicator or field no longer configured, or a date field that differs from
    the report's date), so "Giá trị khác" is needed; `count`: the rows, for
    the progress bar.
    """

    indicators: frozenset[str]
    has_other: bool
    count: int

    @classmethod
    def of(cls, lines: Sequence[ReportLine], indicators: Sequence[IndicatorDef]) -> ReportShape:
        """The shape of reports held in memory."""
        by_code = {i.code: i for i in indicators}
        return cls(
            frozenset(line.indicator for line in lines),
            any(_other_values(line, by_code) for line in lines)
            or any(line.indicator not in by_code for line in lines),
            len(lines),
        )

    @classmethod
    def from_keys(
        cls,
        keys: Iterable[tuple[str, str | None, bool]],
        count: int,
        indicators: Sequence[IndicatorDef],
    ) -> ReportShape:
        """The shape from (indicator, value key or None, the value differs from the report's
        date) triples, as a database can list them without reading a report."""
        by_code = {i.code: i for i in indicators}
        used: set[str] = set()
        other = False
        for indicator_code, key, differs in keys:
            used.add(indicator_code)
            indicator = by_code.get(indicator_code)
            if indicator is None:
                other = True
                continue
            if key is None:
                continue
            field = indicator.field(key)
            if field is None or (field is indicator.date_field and differs):
                other = True
        return cls(frozenset(used), other, count)


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One target as the "Chỉ tiêu" sheet shows it: codes for re-import, names for people."""

    unit_code: str
    unit_name: str
    measure_code: str
    measure_label: str
    period_key: str
    value: float


class _Labels:
    """Catalog look-ups in one language, all under "workbook."."""

    def __init__(self, translate: Translate, lang: str) -> None:
        self._translate = translate
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return self._translate(self.lang, f"workbook.{key}", **params)

    def optional(self, key: str) -> str | None:
        """The label, or None when the catalog has no such key (it answers with the key)."""
        text = self(key)
        return None if text == f"workbook.{key}" else text

    def rating(self, rating: Rating) -> str:
        """A rating's published words, from the catalog's [rating] table."""
        return self._translate(self.lang, rating.label_key)


class _Styles:
    """XlsxWriter formats, one per distinct look (a workbook keeps every format it is given)."""

    def __init__(self, book: Workbook) -> None:
        self._book = book
        self._made: dict[tuple[tuple[str, Any], ...], Format] = {}

    def __call__(self, *looks: Mapping[str, Any], num_format: str | None = None) -> Format:
        props: dict[str, Any] = {}
        for look in looks:
            props.update(look)
        if num_format is not None:
            props["num_format"] = num_format
        key = tuple(sorted(props.items()))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._book.add_format(props)
        return made


class _Sheet:
    """A worksheet written top to bottom (constant-memory mode allows nothing else)."""

    def __init__(self, sheet: Worksheet, styles: _Styles) -> None:
        self.ws = sheet
        self.styles = styles
        self.row = 0  # the next row to write, 0-based

    def append(self, cells: Sequence[tuple[_Value, Format | None]]) -> None:
        for column, (value, style) in enumerate(cells):
            _put(self.ws, self.row, column, value, style)
        self.row += 1

    def skip(self) -> None:
        self.row += 1


def export_workbook(**kwargs: Any) -> bytes:
    """The .xlsx bytes (see `write_workbook` for the arguments)."""
    buffer = io.BytesIO()
    write_workbook(buffer, **kwargs)
    return buffer.getvalue()


def write_workbook(
    target: str | Path | IO[bytes],
    *,
    translate: Translate,
    federation: str,
    scope: str,
    period_label: str,
    clusters: Sequence[ClusterSheet],
    reports: Iterable[ReportLine | ReportRow],
    targets: Sequence[TargetRow],
    indicators: Sequence[IndicatorDef],
    lang: str = "vi",
    shape: ReportShape | None = None,
    progress: Callable[[int, int], None] | None = None,
    generated_at: dt.datetime | None = None,
    tz: dt.tzinfo = VIETNAM,
) -> None:
    """Write the workbook to `target` (a path or a seekable binary file): a standings sheet
    per cluster, then "Báo cáo" (more past Excel's row limit) and "Chỉ tiêu".

    `scope` names what the file covers (a cluster, or the federation) in its
    document title. With one cluster its sheet is called "Xếp hạng"; with
    several, each sheet is named after its cluster. `reports` are read once,
    in order; when they are not a list, `shape` must say what their columns
    need. `progress(done, total)` is called as report rows are written (at
    the start, every 1000 rows and at the end), for a CLI progress bar. Times
    are shown on `tz`'s clock (naive datetimes are read as UTC);
    `generated_at` is the "tạm tính" date and dates the file.
    """
    from xlsxwriter import Workbook

    lang = "en" if lang == "en" else "vi"
    t = _Labels(translate, lang)
    if shape is None:
        if not isinstance(reports, Sequence):
            raise TypeError("streamed reports need their ReportShape")
        held = [r.line() if isinstance(r, ReportRow) else r for r in reports]
        shape = ReportShape.of(held, indicators)
        reports = held
    utc = _NO_DATE if generated_at is None else _local(generated_at, dt.UTC)
    options = {
        "constant_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "use_zip64": True,
    }
    path = str(target) if isinstance(target, str | Path) else None
    book = Workbook(path if path is not None else target, options)
    book.set_properties(
        {
            "title": t("document_title", scope=scope, period=period_label),
            "author": "thidua",
            "created": utc,
        }
    )
    styles = _Styles(book)
    heading = _Heading(federation, period_label, generated_at, tz)
    reserved = {t("sheet_reports"), t("sheet_targets")}
    if len(clusters) == 1:
        names = [t("sheet_standings")]
    else:
        names = _sheet_names([c.name for c in clusters], reserved)
    taken = {name.casefold() for name in names}  # the reports sheets come next
    for name, cluster in zip(names, clusters, strict=True):
        sheet = _Sheet(book.add_worksheet(name), styles)
        if cluster.standings is not None and cluster.standings.rows:
            _write_standings(sheet, cluster, heading, t)
        else:
            message = t("no_standings") if shape.count else t("no_reports")
            _write_message(sheet, heading, cluster.name, message, t)
    if not clusters:
        sheet = _Sheet(book.add_worksheet(t("sheet_standings")), styles)
        _write_message(sheet, heading, scope, t("no_clusters"), t)
        taken.add(t("sheet_standings").casefold())
    lines = (r.line() if isinstance(r, ReportRow) else r for r in reports)
    _write_reports(book, styles, taken, lines, shape, indicators, t, tz, progress)
    _write_targets(_Sheet(book.add_worksheet(t("sheet_targets")), styles), targets, t)
    book.close()
    stamp = _NO_DATE if generated_at is None else _local(generated_at, VIETNAM)
    if path is not None:
        with open(path, "r+b") as written:
            _date_zip_entries(written, stamp)
    else:
        assert not isinstance(target, str | Path)
        _date_zip_entries(target, stamp)


def _sheet_names(wanted: Sequence[str], reserved: set[str]) -> list[str]:
    """Names Excel accepts, one per cluster: no []:*?/\\, at most 31 characters, unique."""
    taken = {name.casefold() for name in reserved}
    return [_unique_name(raw, taken) for raw in wanted]


def _unique_name(raw: str, taken: set[str]) -> str:
    """`raw` made a valid sheet name not in `taken` (casefolded), and added to it."""
    base = " ".join(_BAD_SHEET_CHARS.sub(" ", _clean(raw)).split()).strip("'") or "?"
    name = base[:_MAX_SHEET_NAME]
    n = 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: _MAX_SHEET_NAME - len(suffix)] + suffix
        n += 1
    taken.add(name.casefold())
    return name


# --- the standings sheet ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Heading:
    """What every standings sheet's heading and signature block share."""

    federation: str
    period_label: str
    generated_at: dt.datetime | None
    tz: dt.tzinfo
    finalised_on: dt.date | None = None

    @property
    def day(self) -> dt.date | None:
        return None if self.generated_at is None else _local(self.generated_at, self.tz).date()


def _write_heading(sheet: _Sheet, heading: _Heading, cluster: str, width: int, t: _Labels) -> None:
    """The official heading, rows 1 to 7: who issues it, for whom, what, for when, as of when.

    The federation and the cluster stand top left, upper case (the cluster in
    bold), as on an official document; the title, the period and the
    "tạm tính" line are centred over the table.
    """
    day = heading.day
    provisional = (
        t("provisional", date=f"{day:%d/%m/%Y}") if day is not None else t("provisional_undated")
    )
    if heading.finalised_on is not None:
        provisional = t("finalised", date=f"{heading.finalised_on:%d/%m/%Y}")
    left = min(_LEFT_BLOCK, width)
    rows: dict[int, tuple[str, dict[str, Any], int]] = {
        _FEDERATION_ROW: (heading.federation.upper(), _PLAIN, left),
        _CLUSTER_ROW: (cluster.upper(), _BOLD, left),
        _TITLE_ROW: (t("title"), _TITLE, width),
        _PERIOD_ROW: (heading.period_label, _BOLD, width),
        _PROVISIONAL_ROW: (provisional, _ITALIC, width),
    }
    for n in range(1, _HEADER_ROW):
        if n not in rows:
            sheet.skip()
            continue
        text, look, span = rows[n]
        style = sheet.styles(look, _CENTER)
        if span > 1:
            sheet.ws.merge_range(sheet.row, 0, sheet.row, span - 1, _clean(text), style)
            sheet.skip()
        else:
            sheet.append([(text, style)])


def _write_standings(sheet: _Sheet, cluster: ClusterSheet, heading: _Heading, t: _Labels) -> None:
    """Heading; one row per unit in rank order (what was done, against what, points); totals;
    notes; signatures."""
    standings = cluster.standings
    assert standings is not None
    criteria = _criteria(standings.rows)
    show_rates = any(r.unit.code in cluster.rates for r in standings.rows)
    headers = [t("rank"), t("unit"), t("score"), t("rating")]
    widths: list[float] = [7, 32, 9, 13]
    formats: list[str | None] = [None, None, _POINTS, None]
    if show_rates:
        headers += [t("rate_complete"), t("rate_on_time")]
        widths += [12, 12]
        formats += [_PERCENT, _PERCENT]
    headers.append(t("adjustment"))
    widths.append(11)
    formats.append(_POINTS)
    for criterion in criteria:
        for header, number_format in _criterion_columns(criterion, t):
            headers.append(header)
            widths.append(14)
            formats.append(number_format)
    headers.append(t("notes"))
    widths.append(36)
    formats.append(None)
    width = len(headers)

    _start(sheet, widths, header_row=_HEADER_ROW - 1, frozen_columns=_FROZEN_COLUMNS)
    if cluster.finalised_on is not None:
        heading = replace(heading, finalised_on=cluster.finalised_on)
    _write_heading(sheet, heading, cluster.name, width, t)
    _write_header(sheet, headers)
    first = sheet.row

    for row in standings.rows:
        values: list[_Value] = [
            row.rank,
            row.unit.name,
            _round(row.score, "0.1"),
            t.rating(row.rating),
        ]
        if show_rates:
            values += _rate_values(cluster.rates.get(row.unit.code), t)
        values.append(_round(row.adjustment, "0.1") if row.adjustment else None)
        by_code = {r.criterion.code: r for r in row.criteria}
        for criterion in criteria:
            values.extend(_criterion_values(by_code.get(criterion.code), criterion))
        values.append(_standing_note(row, t))
        sheet.append(_formatted(sheet.styles, values, formats))
    totals = _totals_values(cluster, criteria, show_rates, t)
    sheet.append(_formatted(sheet.styles, totals, formats, _TOTAL, every=width))
    sheet.ws.autofilter(first - 1, 0, sheet.row - 1, width - 1)

    sheet.skip()
    notes = [t("advisory"), t("tie_rule", rule=standings.tie_rule)]
    if heading.generated_at is not None:
        at = _local(heading.generated_at, heading.tz)
        notes.append(t("generated", at=f"{at:%H:%M %d/%m/%Y}"))
    for note in notes:
        sheet.append([(note, sheet.styles(_NOTE))])
    sheet.skip()
    _write_signatures(sheet, heading, width, t)


def _totals_values(
    cluster: ClusterSheet, criteria: Sequence[CriterionDef], show_rates: bool, t: _Labels
) -> list[_Value]:
    """ "Tổng cộng": what the cluster did, against what, and its reporting rate, as values.

    Values, not formulas: a file written here carries no cached results, and a
    phone's preview would show a formula's cell empty. Per criterion: the sum
    done; the sum of targets and done ÷ target over the units that have one
    (target method); the cluster's best (leader method). Points and scores are
    per unit and are not added up.
    """
    assert cluster.standings is not None
    rows = cluster.standings.rows
    values: list[_Value] = [None, t("totals"), None, None]
    if show_rates:
        owed = [cluster.rates[r.unit.code] for r in rows if r.unit.code in cluster.rates]
        values += _rate_values(sum(owed, Tally()), t)
    values.append(None)
    for criterion in criteria:
        results = [r for row in rows for r in row.criteria if r.criterion.code == criterion.code]
        done = _number(_round(sum(r.done for r in results), "0.01"))
        if criterion.method is Method.TARGET:
            with_target = [r for r in results if r.target]
            target = sum(r.target or 0.0 for r in with_target)
            reached = sum(r.done for r in with_target)
            ratio = _round(reached / target, "0.001") if target else None
            values += [done, _number(target) if with_target else None, ratio, None]
        elif criterion.method is Method.LEADER:
            best = max((r.best for r in results if r.best is not None), default=None)
            values += [done, _opt_number(best), None, None]
        else:
            values += [done, None]
    values.append(None)
    return values


def _rate_values(tally: Tally | None, t: _Labels) -> list[_Value]:
    """Reports sent and sent on time ÷ owed; "chưa đến hạn" when nothing is due yet (as
    /standings says it), blank for a unit that owes no report at all."""
    if tally is None:
        return [None, None]
    if not tally.expected:
        return [t("rate_not_due"), t("rate_not_due")]
    return [tally.completeness, tally.on_time_rate]


def _write_signatures(sheet: _Sheet, heading: _Heading, width: int, t: _Labels) -> None:
    """Signature block: the date on the right; "Người lập biểu" left, "Cụm trưởng" right."""
    right = max(_FROZEN_COLUMNS + 2, width - 2)
    day = heading.day
    lines: list[tuple[str | None, str | None, dict[str, Any]]] = []
    if day is not None:
        on = t("signed_on", day=f"{day:%d}", month=f"{day:%m}", year=f"{day:%Y}")
        lines.append((None, on, _ITALIC))
    lines.append((t("prepared_by"), t("cluster_head"), _BOLD))
    lines.append((t("sign_hint"), t("sign_hint"), _ITALIC))
    for left_text, right_text, look in lines:
        style = sheet.styles(look, _CENTER)
        row: list[tuple[_Value, Format | None]] = [(None, None)] * right
        for column, text in ((_FROZEN_COLUMNS, left_text), (right, right_text)):
            if text is not None:
                row[column - 1] = (text, style)
        sheet.append(row)


def _criteria(rows: Iterable[UnitStanding]) -> list[CriterionDef]:
    seen: dict[str, CriterionDef] = {}
    for row in rows:
        for result in row.criteria:
            seen.setdefault(result.criterion.code, result.criterion)
    return list(seen.values())


def _criterion_columns(criterion: CriterionDef, t: _Labels) -> list[tuple[str, str | None]]:
    """(header, number format) per column: what a criterion's method can show."""
    label = criterion.label.get(t.lang)
    shown_max = format_number(_round(criterion.max_points, "0.1"), t.lang)
    points = (t("criterion_points", criterion=label, max=shown_max), _POINTS)
    done = (t("criterion_done", criterion=label), _DECIMAL)
    if criterion.method is Method.TARGET:
        return [
            done,
            (t("criterion_target", criterion=label), _DECIMAL),
            (t("criterion_ratio", criterion=label), _PERCENT),
            points,
        ]
    if criterion.method is Method.LEADER:
        return [
            done,
            (t("criterion_best", criterion=label), _DECIMAL),
            (t("criterion_ratio_best", criterion=label), _PERCENT),
            points,
        ]
    return [done, points]


def _criterion_values(result: CriterionResult | None, criterion: CriterionDef) -> list[_Value]:
    width = 4 if criterion.method in (Method.TARGET, Method.LEADER) else 2
    if result is None:
        return [None] * width
    points = None if result.excluded else _round(result.points, "0.1")
    ratio = None if result.ratio is None else _round(result.ratio, "0.001")
    if criterion.method is Method.TARGET:
        return [_number(result.done), _opt_number(result.target), ratio, points]
    if criterion.method is Method.LEADER:
        return [_number(result.done), _opt_number(result.best), ratio, points]
    return [_number(result.done), points]


def _standing_note(row: UnitStanding, t: _Labels) -> str | None:
    """Why a row reads as it does: ties, criteria left out, re-scaling."""
    parts: list[str] = []
    if row.tied:
        parts.append(t("tied"))
    left_out = [r.criterion.label.get(t.lang) for r in row.criteria if r.excluded]
    if left_out:
        parts.append(t("left_out", criteria=", ".join(left_out)))
    if row.rescaled:
        parts.append(t("rescaled"))
    return "; ".join(parts) or None


# --- the reports sheet(s) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FieldColumn:
    indicator: IndicatorDef
    field: FieldDef
    header: str
    number_format: str | None
    width: float


def _field_columns(
    indicators: Sequence[IndicatorDef], used: frozenset[str], lang: str
) -> list[_FieldColumn]:
    """A column per field of each indicator that has reports, grouped by indicator.

    The indicator's date is the report's own "date" column, and photos are
    counted in "Số ảnh", so neither gets a column of its own.
    """
    columns: list[_FieldColumn] = []
    for indicator in indicators:
        if indicator.code not in used:
            continue
        date_field = indicator.date_field
        for field in indicator.fields:
            if field.type is FieldType.PHOTO or field is date_field:
                continue
            header = f"{indicator.label.get(lang)}: {field.label.get(lang)}"
            if field.unit is not None and field.type in (FieldType.MONEY, FieldType.NUMBER):
                header += f" ({field.unit.get(lang)})"
            number_format = {
                FieldType.INTEGER: _INTEGER,
                FieldType.MONEY: _INTEGER,
                FieldType.NUMBER: _DECIMAL,
                FieldType.DATE: _DATE,
            }.get(field.type)
            width = 30 if field.type is FieldType.TEXT else 16
            columns.append(_FieldColumn(indicator, field, header, number_format, width))
    return columns


def _write_reports(
    book: Workbook,
    styles: _Styles,
    taken: set[str],
    lines: Iterator[ReportLine],
    shape: ReportShape,
    indicators: Sequence[IndicatorDef],
    t: _Labels,
    tz: dt.tzinfo,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Every report, one row each: number, date and unit (frozen), who, what, status, fields.

    Rows are written as they come; a new sheet ("Báo cáo (2)"…) starts when one
    is full. Each sheet's filter covers what it holds, set once it is done.
    """
    lang = t.lang
    by_code = {i.code: i for i in indicators}
    columns = _field_columns(indicators, shape.indicators, lang)
    headers = [
        t("report_no"),
        t("report_date"),
        t("unit"),
        t("reported_by"),
        t("indicator"),
        t("status"),
        t("sent_at"),
        t("edited_at"),
        t("version"),
        t("photos"),
    ]
    widths: list[float] = [10, 12, 28, 22, 24, 14, 16, 16, 9, 8]
    headers += [c.header for c in columns]
    widths += [c.width for c in columns]
    if shape.has_other:
        headers.append(t("other_values"))
        widths.append(40)
    # Per indicator: (column, field, format) of each field that has a column.
    placed: dict[str, list[tuple[int, FieldDef, Format | None, Format | None]]] = {}
    for n, c in enumerate(columns, start=10):
        whole = styles(num_format=_INTEGER) if c.number_format == _DECIMAL else None
        style = styles(num_format=c.number_format) if c.number_format else None
        placed.setdefault(c.indicator.code, []).append((n, c.field, style, whole))
    other_column = len(headers) - 1 if shape.has_other else None
    date_style = styles(num_format=_DATE)
    time_style = styles(num_format=_DATETIME)
    statuses: dict[str, str] = {}
    names: dict[str, str] = {}

    clean: dict[str, str] = {}  # names repeat a million times: cleaned once each

    def cleaned(text: str) -> str:
        if text not in clean:
            if len(clean) > 100_000:
                clean.clear()
            clean[text] = _clean(text)
        return clean[text]

    def indicator_label(code: str) -> str:
        if code not in names:
            indicator = by_code.get(code)
            names[code] = _clean(indicator.label.get(lang) if indicator else code)
        return names[code]

    total = shape.count
    if progress is not None:
        progress(0, total)
    name = t("sheet_reports")
    sheet = _new_reports_sheet(book, styles, _unique_name(name, taken), headers, widths)
    done = 0
    for line in lines:
        if sheet.row > _MAX_DATA_ROWS:
            _finish_reports_sheet(sheet, len(headers))
            sheet = _new_reports_sheet(book, styles, _unique_name(name, taken), headers, widths)
        ws, r = sheet.ws, sheet.row
        ws.write_number(r, 0, line.id)
        ws.write_datetime(r, 1, line.occurred_on, date_style)
        ws.write_string(r, 2, cleaned(line.unit_name))
        ws.write_string(r, 3, cleaned(line.person_name))
        ws.write_string(r, 4, indicator_label(line.indicator))
        raw = line.status
        if raw not in statuses:
            statuses[raw] = _clean(t.optional(f"report_status.{raw}") or raw)
        ws.write_string(r, 5, statuses[raw])
        ws.write_datetime(r, 6, _local(line.created_at, tz), time_style)
        if line.updated_at is not None:
            ws.write_datetime(r, 7, _local(line.updated_at, tz), time_style)
        ws.write_number(r, 8, line.version)
        if line.photos:
            ws.write_number(r, 9, line.photos)
        values = line.values
        for n, field_def, style, whole in placed.get(line.indicator, ()):
            value = values.get(field_def.code)
            if value is None:
                continue
            shown = _field_value(field_def, value, lang)
            _put(ws, r, n, shown, whole if whole is not None and isinstance(shown, int) else style)
        if other_column is not None:
            other = _other_values(line, by_code)
            if other:
                _put(ws, r, other_column, other, None)
        sheet.row += 1
        done += 1
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, total)
    if not done:
        sheet.append([(t("no_reports"), styles(_MESSAGE))])
    _finish_reports_sheet(sheet, len(headers))
    if progress is not None and done % _PROGRESS_EVERY:
        progress(done, total)


def _new_reports_sheet(
    book: Workbook, styles: _Styles, name: str, headers: Sequence[str], widths: Sequence[float]
) -> _Sheet:
    sheet = _Sheet(book.add_worksheet(name), styles)
    _start(sheet, widths, header_row=0, frozen_columns=3)
    _write_header(sheet, headers)
    return sheet


def _finish_reports_sheet(sheet: _Sheet, width: int) -> None:
    if sheet.row > 1:
        sheet.ws.autofilter(0, 0, sheet.row - 1, width - 1)


def _field_value(field: FieldDef, value: Any, lang: str) -> _Value:
    """A stored value as a cell: numbers stay numbers, choices become their label."""
    match field.type:
        case FieldType.INTEGER | FieldType.MONEY | FieldType.NUMBER:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return _number(float(value))
        case FieldType.DATE:
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                pass
        case FieldType.CHOICE:
            choice = field.choice(str(value))
            return choice.label.get(lang) if choice else str(value)
        case _:
            pass
    return str(value)


def _other_values(line: ReportLine, by_code: Mapping[str, IndicatorDef]) -> str:
    """Values no column shows: fields no longer configured, or a date that differs."""
    indicator = by_code.get(line.indicator)
    parts: list[str] = []
    for code, value in line.values.items():
        field = indicator.field(code) if indicator else None
        if field is None or (
            indicator is not None
            and field is indicator.date_field
            and str(value) != line.occurred_on.isoformat()
        ):
            parts.append(f"{code}: {value}")
    return "; ".join(parts)


# --- the targets sheet --------------------------------------------------------------


def _write_targets(sheet: _Sheet, targets: Sequence[TargetRow], t: _Labels) -> None:
    """Codes (for re-import through `thidua targets import`) beside names (for people)."""
    _start(sheet, [14, 30, 16, 30, 10, 14], header_row=0, frozen_columns=2)
    headers = [
        t("target_unit_code"),
        t("target_unit_name"),
        t("target_measure_code"),
        t("target_measure_name"),
        t("target_period"),
        t("target_value"),
    ]
    _write_header(sheet, headers)
    if not targets:
        sheet.append([(t("no_targets"), sheet.styles(_MESSAGE))])
        return
    formats = [None, None, None, None, None, _DECIMAL]
    for target in targets:
        values: list[_Value] = [
            target.unit_code,
            target.unit_name,
            target.measure_code,
            target.measure_label,
            target.period_key,
            _number(target.value),
        ]
        sheet.append(_formatted(sheet.styles, values, formats))
    sheet.ws.autofilter(0, 0, sheet.row - 1, len(headers) - 1)


# --- cells and sheets ---------------------------------------------------------------


def _start(
    sheet: _Sheet, widths: Sequence[float], *, header_row: int, frozen_columns: int = 0
) -> None:
    """Column widths, frozen header (and name columns), landscape print fitted to the page's
    width, the header repeated on every printed page: before any row is written."""
    ws = sheet.ws
    for n, width in enumerate(widths):
        ws.set_column(n, n, width)
    ws.set_row(header_row, 45)
    ws.freeze_panes(header_row + 1, frozen_columns)
    ws.repeat_rows(header_row)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _write_header(sheet: _Sheet, headers: Sequence[str]) -> None:
    style = sheet.styles(_HEADER)
    sheet.append([(header, style) for header in headers])


def _write_message(
    sheet: _Sheet, heading: _Heading, cluster: str, message: str, t: _Labels
) -> None:
    """A standings sheet with nothing to rank: the heading, then why."""
    sheet.ws.set_column(0, 0, 80)
    _write_heading(sheet, heading, cluster, 1, t)
    sheet.append([(message, sheet.styles(_MESSAGE))])


def _formatted(
    styles: _Styles,
    values: Sequence[_Value],
    formats: Sequence[str | None],
    look: Mapping[str, Any] = _PLAIN,
    every: int = 0,
) -> list[tuple[_Value, Format | None]]:
    """Values with their column's number format (and `look`); in a `_DECIMAL` column whole
    numbers get `_INTEGER`, so 20 shows as "20", not "20,0". With `every`, cells without a
    value still get `look` (a totals row's borders run across)."""
    out: list[tuple[_Value, Format | None]] = []
    for n, value in enumerate(values):
        number_format = formats[n] if n < len(formats) and value is not None else None
        if number_format == _DECIMAL and isinstance(value, int):
            number_format = _INTEGER
        if isinstance(value, str):
            number_format = None
        styled = look is not _PLAIN and (value is not None or n < every)
        if number_format is None and not styled:
            out.append((value, None))
        else:
            out.append((value, styles(look, num_format=number_format)))
    return out


def _put(ws: Worksheet, row: int, column: int, value: _Value, style: Format | None) -> None:
    """One cell: text always as text ("=SUM(...)" typed by an officer is never a formula),
    numbers and dates as themselves; nothing for None unless it is styled."""
    if value is None:
        if style is not None:
            ws.write_blank(row, column, None, style)
    elif isinstance(value, str):
        ws.write_string(row, column, _clean(value), style)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, column, value, style)
    else:
        ws.write_number(row, column, value, style)


def _clean(text: str) -> str:
    """Text Excel accepts: no control characters, at most 32,767 characters."""
    return _ILLEGAL.sub("", text)[:_MAX_CELL_CHARS]


# --- values -------------------------------------------------------------------------


def _round(x: float, step: str) -> float:
    """Half-up rounding as the bot's messages show it (70,35 → 70,4), not Excel's float view."""
    if not math.isfinite(x):
        return x
    return float(Decimal(repr(round(x, 9))).quantize(Decimal(step), rounding=ROUND_HALF_UP))


def _number(x: float) -> int | float:
    """Whole numbers as int (shown "1.250", not "1.250,0"); others as given."""
    if math.isfinite(x) and x == int(x) and abs(x) < 2**53:
        return int(x)
    return x


def _opt_number(x: float | None) -> int | float | None:
    return None if x is None else _number(x)


def _local(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A naive local time for Excel (it has no time zones); naive input is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(tz).replace(tzinfo=None)


# --- dating the file ----------------------------------------------------------------


def _date_zip_entries(archive: IO[bytes], when: dt.datetime) -> None:
    """Date every entry of the written zip `when`, in place (XlsxWriter dates them 1980).

    A zip holds each entry's date twice, in its local header and in the
    central directory, at fixed places; rewriting those four bytes each keeps
    the file byte-for-byte reproducible without compressing it again.
    """
    stamp = struct.pack(
        "<HH",
        (when.hour << 11) | (when.minute << 5) | (when.second // 2),
        ((when.year - 1980) << 9) | (when.month << 5) | when.day,
    )
    archive.seek(0)
    with zipfile.ZipFile(archive) as reader:
        entries = reader.infolist()
        position = reader.start_dir
    for entry in entries:
        archive.seek(entry.header_offset + 10)
        archive.write(stamp)
    for _ in entries:
        archive.seek(position)
        head = archive.read(46)
        if head[:4] != b"PK\x01\x02":
            raise ValueError("not a central directory entry")
        archive.seek(position + 12)
        archive.write(stamp)
        name, extra, comment = struct.unpack("<HHH", head[28:34])
        position += 46 + name + extra + comment
    archive.seek(0, io.SEEK_END)
