"""The Excel export federation staff ask for: standings, every report, the targets.

One .xlsx as a clerk files it. Each cluster's standings sheet carries the
official heading (federation, cluster, "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA", the
period, "tạm tính" with the date), units by name, the rank and name columns
frozen, a totals row and a signature block (Người lập biểu, Cụm trưởng); an
export of every cluster has one such sheet per cluster. Then the reports and
the targets, each with a frozen, filterable header. Real numbers and dates in
the cells (so the staffer can sum, filter and pivot) with Vietnamese-friendly
number formats. Every label comes from the message catalog (vi/en), through
the `translate` the caller passes in. Reports are streamed with openpyxl's
write-only mode, so a city's year of reports does not need gigabytes of
memory, and split over several sheets past Excel's 1,048,576-row limit.

Pure: values in, bytes out. No time stamp in the file comes from the clock:
the document properties and zip entries are dated `generated_at` (openpyxl's
own save would stamp "now"), so the same export twice is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

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

if TYPE_CHECKING:
    from _typeshed import SizedBuffer, StrPath
    from openpyxl.worksheet.cell_range import MultiCellRange
    from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder, RowDimension
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.page import PrintPageSetup
    from openpyxl.worksheet.properties import WorksheetProperties

__all__ = [
    "ClusterSheet",
    "ReportRow",
    "TargetRow",
    "Translate",
    "export_workbook",
    "workbook_bytes",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Excel's limits: rows per sheet (one is the header), characters per cell and
# per sheet name, and the characters a sheet name may not contain.
_MAX_DATA_ROWS = 1_048_575
_MAX_CELL_CHARS = 32_767
_MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_PROGRESS_EVERY = 1000
# Zip entries cannot be dated before 1980; used when no `generated_at` is given.
_NO_DATE = dt.datetime(1980, 1, 1)

_INTEGER = "#,##0"
_DECIMAL = "#,##0.0#"
_POINTS = "0.0"
_PERCENT = "0.0%"
_DATE = "dd/mm/yyyy"
_DATETIME = "dd/mm/yyyy hh:mm"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")
_NOTE_FONT = Font(italic=True, color="555555")
_MESSAGE_FONT = Font(bold=True, size=13)
_TOTAL_FONT = Font(bold=True)
_TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))
_TITLE_FONT = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_ITALIC = Font(italic=True)
_CENTER = Alignment(horizontal="center", vertical="center")

# The standings sheet: the heading's rows, then the column headers.
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


@dataclass(frozen=True, slots=True)
class ReportRow:
    """A report with the names a reader needs (the report itself holds codes and ids)."""

    report: Report
    unit_name: str
    person_name: str
    photo_count: int | None = None
    """Evidence photos, when the report was loaded without them; else len(report.photos)."""


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One target as the "Chỉ tiêu" sheet shows it: codes for re-import, names for people."""

    unit_code: str
    unit_name: str
    measure_code: str
    measure_label: str
    period_key: str
    value: float


class _Layout(Protocol):
    """Worksheet settings write-only sheets have at run time but the stubs do not list."""

    column_dimensions: DimensionHolder[str, ColumnDimension]
    row_dimensions: DimensionHolder[int, RowDimension]
    auto_filter: AutoFilter
    page_setup: PrintPageSetup
    sheet_properties: WorksheetProperties
    merged_cells: MultiCellRange


class _Labels:
    """Catalog look-ups in one language, all under "workbook."."""

    def __init__(self, translate: Translate, lang: str) -> None:
        self._translate = translate
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return self._translate(self.lang, f"workbook.{key}", **params)

    def rating(self, rating: Rating) -> str:
        """A rating's published words, from the catalog's [rating] table."""
        return self._translate(self.lang, rating.label_key)

    def optional(self, key: str) -> str | None:
        """The label, or None when the catalog has no such key (it answers with the key)."""
        text = self(key)
        return None if text == f"workbook.{key}" else text


def export_workbook(
    *,
    translate: Translate,
    federation: str,
    scope: str,
    period_label: str,
    clusters: Sequence[ClusterSheet],
    reports: Sequence[ReportRow],
    targets: Sequence[TargetRow],
    indicators: Sequence[IndicatorDef],
    lang: str = "vi",
    progress: Callable[[int, int], None] | None = None,
    generated_at: dt.datetime | None = None,
    tz: dt.tzinfo = VIETNAM,
) -> bytes:
    """The .xlsx bytes: a standings sheet per cluster, then "Báo cáo" (more past Excel's
    row limit) and "Chỉ tiêu".

    `scope` names what the file covers (a cluster, or the federation) in its
    document title. With one cluster its sheet is called "Xếp hạng"; with
    several, each sheet is named after its cluster. `progress(done, total)` is
    called as report rows are written (at the start, every 1000 rows and at
    the end), for a CLI progress bar. Times are shown on `tz`'s clock (naive
    datetimes are read as UTC); `generated_at` is the "tạm tính" date and
    dates the file.
    """
    lang = "en" if lang == "en" else "vi"
    t = _Labels(translate, lang)
    book = Workbook(write_only=True)
    book.properties.title = t("document_title", scope=scope, period=period_label)
    book.properties.creator = "thidua"
    book.properties.language = "en-US" if lang == "en" else "vi-VN"
    heading = _Heading(federation, period_label, generated_at, tz)

    reserved = {t("sheet_reports"), t("sheet_targets")}
    if len(clusters) == 1:
        names = [t("sheet_standings")]
    else:
        names = _sheet_names([c.name for c in clusters], reserved)
    for name, cluster in zip(names, clusters, strict=True):
        sheet = _new_sheet(book, name)
        if cluster.standings is not None and cluster.standings.rows:
            _write_standings(sheet, cluster, heading, t)
        else:
            message = t("no_standings") if reports else t("no_reports")
            _write_message(sheet, heading, cluster.name, message, t)
    if not clusters:
        _write_message(_new_sheet(book, t("sheet_standings")), heading, scope, t("no_clusters"), t)
    _write_reports(book, t("sheet_reports"), reports, indicators, t, tz, progress)
    _write_targets(_new_sheet(book, t("sheet_targets")), targets, t)
    return workbook_bytes(book, generated_at)


def _sheet_names(wanted: Sequence[str], reserved: set[str]) -> list[str]:
    """Names Excel accepts, one per cluster: no []:*?/\\, at most 31 characters, unique."""
    taken = {name.casefold() for name in reserved}
    names: list[str] = []
    for raw in wanted:
        base = " ".join(_BAD_SHEET_CHARS.sub(" ", _clean(raw)).split()).strip("'") or "?"
        name = base[:_MAX_SHEET_NAME]
        n = 2
        while name.casefold() in taken:
            suffix = f" ({n})"
            name = base[: _MAX_SHEET_NAME - len(suffix)] + suffix
            n += 1
        taken.add(name.casefold())
        names.append(name)
    return names


# --- the standings sheet ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Heading:
    """What every standings sheet's heading and signature block share."""

    federation: str
    period_label: str
    generated_at: dt.datetime | None
    tz: dt.tzinfo

    @property
    def day(self) -> dt.date | None:
        return None if self.generated_at is None else _local(self.generated_at, self.tz).date()


def _write_heading(
    sheet: WriteOnlyWorksheet, heading: _Heading, cluster: str, width: int, t: _Labels
) -> None:
    """The official heading, rows 1 to 7: who issues it, for whom, what, for when, as of when.

    The federation and the cluster stand top left, upper case (the cluster in
    bold), as on an official document; the title, the period and the
    "tạm tính" line are centred over the table.
    """
    day = heading.day
    provisional = (
        t("provisional", date=f"{day:%d/%m/%Y}") if day is not None else t("provisional_undated")
    )
    left = min(_LEFT_BLOCK, width)
    rows: dict[int, tuple[str, Font, int]] = {
        _FEDERATION_ROW: (heading.federation.upper(), Font(), left),
        _CLUSTER_ROW: (cluster.upper(), _BOLD, left),
        _TITLE_ROW: (t("title"), _TITLE_FONT, width),
        _PERIOD_ROW: (heading.period_label, _BOLD, width),
        _PROVISIONAL_ROW: (provisional, _ITALIC, width),
    }
    for n in range(1, _HEADER_ROW):
        if n not in rows:
            sheet.append([])
            continue
        text, font, span = rows[n]
        cell = _text_cell(sheet, text)
        cell.font = font
        cell.alignment = _CENTER
        if span > 1:
            cast(_Layout, sheet).merged_cells.add(f"A{n}:{get_column_letter(span)}{n}")
        sheet.append([cell])


def _write_standings(
    sheet: WriteOnlyWorksheet, cluster: ClusterSheet, heading: _Heading, t: _Labels
) -> None:
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

    _start(
        sheet,
        widths,
        header_row=_HEADER_ROW,
        rows=len(standings.rows) + 1,
        frozen_columns=_FROZEN_COLUMNS,
    )
    _write_heading(sheet, heading, cluster.name, width, t)
    sheet.append(_header_cells(sheet, headers))

    cells = _ColumnCells(sheet, formats)
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
        sheet.append(cells.row(values))
    sheet.append(_totals_row(sheet, cluster, criteria, show_rates, formats, t))

    sheet.append([])
    notes = [t("advisory"), t("tie_rule", rule=standings.tie_rule)]
    if heading.generated_at is not None:
        at = _local(heading.generated_at, heading.tz)
        notes.append(t("generated", at=f"{at:%H:%M %d/%m/%Y}"))
    for note in notes:
        sheet.append([_note_cell(sheet, note)])
    sheet.append([])
    _write_signatures(sheet, heading, width, t)


def _totals_row(
    sheet: WriteOnlyWorksheet,
    cluster: ClusterSheet,
    criteria: Sequence[CriterionDef],
    show_rates: bool,
    formats: Sequence[str | None],
    t: _Labels,
) -> list[_Value | Cell]:
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
    cells: list[_Value | Cell] = []
    for n, value in enumerate(values):
        if isinstance(value, str):
            cell = _text_cell(sheet, value)
        else:
            cell = WriteOnlyCell(sheet)
            cell.value = value
        number_format = formats[n] if n < len(formats) else None
        if number_format is not None and value is not None:
            whole = number_format == _DECIMAL and isinstance(value, int)
            cell.number_format = _INTEGER if whole else number_format
        cell.font = _TOTAL_FONT
        cell.border = _TOTAL_BORDER
        cells.append(cell)
    return cells


def _rate_values(tally: Tally | None, t: _Labels) -> list[_Value]:
    """Reports sent and sent on time ÷ owed; "chưa đến hạn" when nothing is due yet (as
    /standings says it), blank for a unit that owes no report at all."""
    if tally is None:
        return [None, None]
    if not tally.expected:
        return [t("rate_not_due"), t("rate_not_due")]
    return [tally.completeness, tally.on_time_rate]


def _write_signatures(sheet: WriteOnlyWorksheet, heading: _Heading, width: int, t: _Labels) -> None:
    """Signature block: the date on the right; "Người lập biểu" left, "Cụm trưởng" right."""
    right = max(_FROZEN_COLUMNS + 2, width - 2)
    day = heading.day
    lines: list[tuple[str | None, str | None, Font]] = []
    if day is not None:
        on = t("signed_on", day=f"{day:%d}", month=f"{day:%m}", year=f"{day:%Y}")
        lines.append((None, on, _ITALIC))
    lines.append((t("prepared_by"), t("cluster_head"), _BOLD))
    lines.append((t("sign_hint"), t("sign_hint"), _ITALIC))
    for left_text, right_text, font in lines:
        row: list[Cell | None] = [None] * right
        for column, text in ((_FROZEN_COLUMNS, left_text), (right, right_text)):
            if text is None:
                continue
            cell = _text_cell(sheet, text)
            cell.font = font
            cell.alignment = _CENTER
            row[column - 1] = cell
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
    indicators: Sequence[IndicatorDef], used: set[str], lang: str
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
    name: str,
    reports: Sequence[ReportRow],
    indicators: Sequence[IndicatorDef],
    t: _Labels,
    tz: dt.tzinfo,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Every report, one row each: number, date and unit (frozen), who, what, status, fields."""
    lang = t.lang
    by_code = {i.code: i for i in indicators}
    used = {row.report.indicator for row in reports}
    columns = _field_columns(indicators, used, lang)
    has_other = any(
        row.report.indicator not in by_code or _other_values(row.report, by_code) for row in reports
    )
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
    formats: list[str | None] = [None, _DATE, None, None, None, None, _DATETIME, _DATETIME]
    formats += [None, None]
    headers += [c.header for c in columns]
    widths += [c.width for c in columns]
    formats += [c.number_format for c in columns]
    if has_other:
        headers.append(t("other_values"))
        widths.append(40)
        formats.append(None)
    field_index = {(c.indicator.code, c.field.code): n for n, c in enumerate(columns)}
    status_labels: dict[str, str] = {}

    total = len(reports)
    if progress is not None:
        progress(0, total)
    chunks = range(0, max(total, 1), _MAX_DATA_ROWS)
    for part, first in enumerate(chunks, start=1):
        sheet = _new_sheet(book, name if part == 1 else f"{name} ({part})")
        chunk = reports[first : first + _MAX_DATA_ROWS]
        _start(sheet, widths, header_row=1, rows=len(chunk), frozen_columns=3)
        sheet.append(_header_cells(sheet, headers))
        if not chunk:
            sheet.append([_message_cell(sheet, t("no_reports"))])
            continue
        cells = _ColumnCells(sheet, formats)
        for done, row in enumerate(chunk, start=first + 1):
            report = row.report
            indicator = by_code.get(report.indicator)
            raw_status = str(report.status)
            if raw_status not in status_labels:
                status_labels[raw_status] = t.optional(f"report_status.{raw_status}") or raw_status
            values: list[_Value] = [
                report.id,
                report.occurred_on,
                row.unit_name,
                row.person_name,
                indicator.label.get(lang) if indicator else report.indicator,
                status_labels[raw_status],
                _local(report.created_at, tz),
                _local(report.updated_at, tz) if report.updated_at else None,
                report.version,
                (len(report.photos) if row.photo_count is None else row.photo_count) or None,
            ]
            fields: list[_Value] = [None] * len(columns)
            if indicator is not None:
                for field_def in indicator.fields:
                    n = field_index.get((indicator.code, field_def.code))
                    value = report.values.get(field_def.code)
                    if n is not None and value is not None:
                        fields[n] = _field_value(field_def, value, lang)
            values += fields
            if has_other:
                values.append(_other_values(report, by_code) or None)
            sheet.append(cells.row(values))
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(done, total)


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


def _other_values(report: Report, by_code: dict[str, IndicatorDef]) -> str:
    """Values no column shows: fields no longer configured, or a date that differs."""
    indicator = by_code.get(report.indicator)
    parts: list[str] = []
    for code, value in report.values.items():
        field = indicator.field(code) if indicator else None
        if field is None or (
            indicator is not None
            and field is indicator.date_field
            and str(value) != report.occurred_on.isoformat()
        ):
            parts.append(f"{code}: {value}")
    return "; ".join(parts)


# --- the targets sheet --------------------------------------------------------------


def _write_targets(sheet: WriteOnlyWorksheet, targets: Sequence[TargetRow], t: _Labels) -> None:
    """Codes (for re-import through `thidua targets import`) beside names (for people)."""
    _start(sheet, [14, 30, 16, 30, 10, 14], header_row=1, rows=len(targets), frozen_columns=2)
    headers = [
        t("target_unit_code"),
        t("target_unit_name"),
        t("target_measure_code"),
        t("target_measure_name"),
        t("target_period"),
        t("target_value"),
    ]
    sheet.append(_header_cells(sheet, headers))
    if not targets:
        sheet.append([_message_cell(sheet, t("no_targets"))])
        return
    cells = _ColumnCells(sheet, [None, None, None, None, None, _DECIMAL])
    for target in targets:
        sheet.append(
            cells.row(
                [
                    target.unit_code,
                    target.unit_name,
                    target.measure_code,
                    target.measure_label,
                    target.period_key,
                    _number(target.value),
                ]
            )
        )


# --- cells and sheets ---------------------------------------------------------------


def _new_sheet(book: Workbook, title: str) -> WriteOnlyWorksheet:
    sheet = book.create_sheet(title[:31])
    assert isinstance(sheet, WriteOnlyWorksheet)  # the book is write-only
    return sheet


def _start(
    sheet: WriteOnlyWorksheet,
    widths: Sequence[float],
    *,
    header_row: int,
    rows: int,
    frozen_columns: int = 0,
) -> None:
    """Column widths, frozen filterable header (and name columns), landscape print: before
    any row is written."""
    layout = cast(_Layout, sheet)
    for n, width in enumerate(widths, start=1):
        layout.column_dimensions[get_column_letter(n)].width = width
    layout.row_dimensions[header_row].height = 45
    sheet.freeze_panes = f"{get_column_letter(frozen_columns + 1)}{header_row + 1}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    if rows and widths:
        last = get_column_letter(len(widths))
        layout.auto_filter.ref = f"A{header_row}:{last}{header_row + rows}"
    layout.page_setup.orientation = "landscape"
    layout.page_setup.fitToWidth = 1
    layout.page_setup.fitToHeight = 0
    layout.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def _header_cells(sheet: WriteOnlyWorksheet, headers: Sequence[str]) -> list[Cell]:
    cells = []
    for header in headers:
        cell = _text_cell(sheet, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        cells.append(cell)
    return cells


def _write_message(
    sheet: WriteOnlyWorksheet, heading: _Heading, cluster: str, message: str, t: _Labels
) -> None:
    """A standings sheet with nothing to rank: the heading, then why."""
    cast(_Layout, sheet).column_dimensions["A"].width = 80
    _write_heading(sheet, heading, cluster, 1, t)
    sheet.append([_message_cell(sheet, message)])


def _message_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    cell = _text_cell(sheet, text)
    cell.font = _MESSAGE_FONT
    return cell


def _note_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    cell = _text_cell(sheet, text)
    cell.font = _NOTE_FONT
    return cell


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(sheet, _clean(text))
    cell.data_type = "s"  # "=SUM(...)" typed by an officer stays text, never a formula
    return cell


def _clean(text: str) -> str:
    """Text Excel accepts: no control characters, at most 32,767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:_MAX_CELL_CHARS]


class _ColumnCells:
    """Turns a row of plain values into cells, with each column's number format.

    One styled cell per column (and format) is reused for every row: a
    write-only sheet serialises a row as it is appended, and building a fresh
    styled cell per value would dominate the time of a large export. In a
    `_DECIMAL` column whole numbers get `_INTEGER`, so 20 shows as "20", not "20,0".
    """

    def __init__(self, sheet: WriteOnlyWorksheet, formats: Sequence[str | None]) -> None:
        self._sheet = sheet
        self._formats = list(formats)
        self._cells: dict[tuple[int, str], Cell] = {}

    def _cell(self, column: int, number_format: str) -> Cell:
        cell = self._cells.get((column, number_format))
        if cell is None:
            cell = WriteOnlyCell(self._sheet)
            cell.number_format = number_format
            self._cells[(column, number_format)] = cell
        return cell

    def row(self, values: Sequence[_Value]) -> list[_Value | Cell]:
        out: list[_Value | Cell] = []
        for n, value in enumerate(values):
            if isinstance(value, str):
                out.append(
                    _text_cell(self._sheet, value) if value.startswith("=") else _clean(value)
                )
                continue
            number_format = self._formats[n] if n < len(self._formats) else None
            if number_format is None or value is None:
                out.append(value)
                continue
            if number_format == _DECIMAL and isinstance(value, int):
                number_format = _INTEGER
            cell = self._cell(n, number_format)
            cell.value = value  # keeps a date format: only a non-date one is replaced
            out.append(cell)
        return out


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


# --- saving -------------------------------------------------------------------------


def workbook_bytes(book: Workbook, generated_at: dt.datetime | None = None) -> bytes:
    """The .xlsx bytes of `book`, dated `generated_at` (or 1980-01-01), never by the clock.

    openpyxl's own save stamps "now" into the document properties and the zip
    entries; writing through `_DatedZip` keeps the output reproducible. Works
    for write-only and ordinary workbooks alike.
    """
    stamp = _NO_DATE if generated_at is None else _local(generated_at, VIETNAM)
    utc = _NO_DATE if generated_at is None else _local(generated_at, dt.UTC)
    book.properties.created = utc
    book.properties.modified = utc
    buffer = io.BytesIO()
    with _DatedZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.stamp = stamp.timetuple()[:6]
        ExcelWriter(book, archive).write_data()
    return buffer.getvalue()


class _DatedZip(zipfile.ZipFile):
    """A zip whose entries carry a given date instead of the clock's or a temp file's."""

    stamp: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: SizedBuffer | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: StrPath,
        arcname: StrPath | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        info = self._info(str(arcname if arcname is not None else filename))
        if compress_type is not None:
            info.compress_type = compress_type
        with open(filename, "rb") as source, self.open(info, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info
