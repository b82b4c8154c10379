"""The Excel export federation staff ask for: standings, every report, the targets.

One .xlsx with three sheets, headers in Vietnamese (or English), the header
row frozen and filterable, real numbers and dates in the cells (so the staffer
can sum, filter and pivot) with Vietnamese-friendly number formats. Reports
are streamed with openpyxl's write-only mode, so a city's year of reports does
not need gigabytes of memory, and split over several sheets past Excel's
1,048,576-row limit.

Pure: values in, bytes out. No time stamp in the file comes from the clock:
the document properties and zip entries are dated `generated_at` (openpyxl's
own save would stamp "now"), so the same export twice is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

from domain.models import FieldDef, FieldType, IndicatorDef, Report, ReportStatus
from domain.scoring import CriterionDef, CriterionResult, Method, Standings, UnitStanding

if TYPE_CHECKING:
    from _typeshed import SizedBuffer, StrPath
    from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder, RowDimension
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.page import PrintPageSetup
    from openpyxl.worksheet.properties import WorksheetProperties

__all__ = [
    "NO_REPORTS",
    "SHEET_NAMES",
    "TARGET_HEADERS",
    "ReportRow",
    "TargetRow",
    "export_workbook",
    "workbook_bytes",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

SHEET_NAMES = {
    "vi": ("Xếp hạng", "Báo cáo", "Chỉ tiêu"),
    "en": ("Standings", "Reports", "Targets"),
}
# Shared with the targets template (handlers/targets_file.py), so a "Chỉ tiêu"
# sheet exported here can be edited and imported back.
TARGET_HEADERS = {
    "vi": ("Mã đơn vị", "Tên đơn vị", "Mã chỉ số", "Tên chỉ số", "Kỳ", "Chỉ tiêu"),
    "en": ("Unit code", "Unit name", "Measure code", "Measure name", "Period", "Target"),
}
NO_REPORTS = {
    "vi": "Chưa có báo cáo nào trong kỳ này",
    "en": "No reports in this period yet",
}
_NO_STANDINGS = {
    "vi": "Không có xếp hạng cho kỳ này",
    "en": "No standings for this period",
}
_NO_TARGETS = {
    "vi": "Chưa có chỉ tiêu nào cho kỳ này",
    "en": "No targets for this period yet",
}
_ADVISORY = {
    "vi": "Xếp hạng mang tính tham khảo; kết quả chính thức do hội nghị bình xét.",
    "en": "Advisory ranking; the official one is voted at the year-end review.",
}
_REPORT_HEADERS = {
    "vi": (
        "Số báo cáo",
        "Ngày diễn ra",
        "Mã đơn vị",
        "Đơn vị",
        "Người báo cáo",
        "Nội dung",
        "Trạng thái",
        "Thời điểm gửi",
        "Sửa lần cuối",
        "Phiên bản",
        "Số ảnh",
    ),
    "en": (
        "Report no.",
        "Date",
        "Unit code",
        "Unit",
        "Reported by",
        "Indicator",
        "Status",
        "Sent at",
        "Last edited",
        "Version",
        "Photos",
    ),
}
_GENERATED = {"vi": "Xuất lúc {at}", "en": "Exported at {at}"}
_STATUS = {
    "vi": {ReportStatus.ACTIVE: "Đang tính", ReportStatus.RETRACTED: "Đã rút"},
    "en": {ReportStatus.ACTIVE: "Active", ReportStatus.RETRACTED: "Retracted"},
}

# Excel's limits: rows per sheet (one is the header) and characters per cell.
_MAX_DATA_ROWS = 1_048_575
_MAX_CELL_CHARS = 32_767
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


_Value = int | float | str | dt.date | None
"""What a cell holds here (a datetime is a date)."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """A report with the names a reader needs (the report itself holds codes and ids)."""

    report: Report
    unit_name: str
    person_name: str


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


def export_workbook(
    *,
    title: str,
    period_label: str,
    standings: Standings | None,
    reports: Sequence[ReportRow],
    targets: Sequence[TargetRow],
    indicators: Sequence[IndicatorDef],
    lang: str = "vi",
    progress: Callable[[int, int], None] | None = None,
    generated_at: dt.datetime | None = None,
    tz: dt.tzinfo = VIETNAM,
) -> bytes:
    """The .xlsx bytes: sheets "Xếp hạng", "Báo cáo" (more if over Excel's row limit), "Chỉ tiêu".

    `progress(done, total)` is called as report rows are written (at the start,
    every 1000 rows and at the end), for a CLI progress bar. Times are shown on
    `tz`'s clock (naive datetimes are read as UTC); `generated_at` is printed
    under the standings and dates the file.
    """
    lang = "en" if lang == "en" else "vi"
    book = Workbook(write_only=True)
    book.properties.title = f"{title} — {period_label}"
    book.properties.creator = "thidua"
    book.properties.language = "en-US" if lang == "en" else "vi-VN"
    standings_name, reports_name, targets_name = SHEET_NAMES[lang]

    notes = [f"{title} — {period_label}"]
    if generated_at is not None:
        notes.append(
            _GENERATED[lang].format(at=_local(generated_at, tz).strftime("%H:%M %d/%m/%Y"))
        )
    if standings is not None and standings.rows:
        _write_standings(_new_sheet(book, standings_name), standings, notes, lang)
    else:
        message = NO_REPORTS[lang] if not reports else _NO_STANDINGS[lang]
        _write_message(_new_sheet(book, standings_name), message, notes)
    _write_reports(book, reports_name, reports, indicators, lang, tz, progress)
    _write_targets(_new_sheet(book, targets_name), targets, lang)
    return workbook_bytes(book, generated_at)


# --- the standings sheet ------------------------------------------------------------


def _write_standings(
    sheet: WriteOnlyWorksheet, standings: Standings, notes: list[str], lang: str
) -> None:
    """One row per unit in rank order; per criterion what was done, against what, and points."""
    en = lang == "en"
    criteria = _criteria(standings.rows)
    headers = (
        ["Rank", "Unit", "Unit code", "Score", "Rating", "Bonus/penalty", "Notes"]
        if en
        else ["Hạng", "Đơn vị", "Mã đơn vị", "Điểm", "Xếp loại", "Điểm thưởng/trừ", "Ghi chú"]
    )
    widths = [7, 32, 14, 9, 13, 11, 36]
    formats: list[str | None] = [None, None, None, _POINTS, None, _POINTS, None]
    for criterion in criteria:
        for header, number_format in _criterion_columns(criterion, lang):
            headers.append(header)
            widths.append(14)
            formats.append(number_format)
    _start(sheet, widths, rows=len(standings.rows))
    sheet.append(_header_cells(sheet, headers))

    cells = _ColumnCells(sheet, formats)
    for row in standings.rows:
        values: list[_Value] = [
            row.rank,
            row.unit.name,
            row.unit.code,
            _round(row.score, "0.1"),
            row.rating.label(lang),
            _round(row.adjustment, "0.1") if row.adjustment else None,
            _standing_note(row, lang),
        ]
        by_code = {r.criterion.code: r for r in row.criteria}
        for criterion in criteria:
            values.extend(_criterion_values(by_code.get(criterion.code), criterion))
        sheet.append(cells.row(values))

    sheet.append([])
    for note in [*notes, _ADVISORY[lang], standings.tie_rule.label(lang)]:
        sheet.append([_note_cell(sheet, note)])


def _criteria(rows: Iterable[UnitStanding]) -> list[CriterionDef]:
    seen: dict[str, CriterionDef] = {}
    for row in rows:
        for result in row.criteria:
            seen.setdefault(result.criterion.code, result.criterion)
    return list(seen.values())


def _criterion_columns(criterion: CriterionDef, lang: str) -> list[tuple[str, str | None]]:
    """(header, number format) per column: what a criterion's method can show."""
    en = lang == "en"
    label = criterion.label.get(lang)
    points = _round(criterion.max_points, "0.1")
    shown_max = f"{points:g}" if en else f"{points:g}".replace(".", ",")
    points_header = (
        f"{label}: points (max {shown_max})" if en else f"{label}: điểm (tối đa {shown_max})"
    )
    done = (f"{label}: done" if en else f"{label}: thực hiện", _DECIMAL)
    if criterion.method is Method.TARGET:
        return [
            done,
            (f"{label}: target" if en else f"{label}: chỉ tiêu", _DECIMAL),
            (f"{label}: % of target" if en else f"{label}: % đạt", _PERCENT),
            (points_header, _POINTS),
        ]
    if criterion.method is Method.LEADER:
        return [
            done,
            (f"{label}: cluster best" if en else f"{label}: cao nhất cụm", _DECIMAL),
            (f"{label}: % of best" if en else f"{label}: % so với cao nhất", _PERCENT),
            (points_header, _POINTS),
        ]
    return [done, (points_header, _POINTS)]


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


def _standing_note(row: UnitStanding, lang: str) -> str | None:
    """Why a row reads as it does: ties, criteria left out, re-scaling."""
    en = lang == "en"
    parts: list[str] = []
    if row.tied:
        parts.append("tied" if en else "đồng hạng")
    left_out = [r.criterion.label.get(lang) for r in row.criteria if r.excluded]
    if left_out:
        prefix = "not counted (no target): " if en else "không tính (chưa có chỉ tiêu): "
        parts.append(prefix + ", ".join(left_out))
    if row.rescaled:
        parts.append("re-scaled to 100" if en else "quy về thang 100")
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
    lang: str,
    tz: dt.tzinfo,
    progress: Callable[[int, int], None] | None,
) -> None:
    en = lang == "en"
    by_code = {i.code: i for i in indicators}
    used = {row.report.indicator for row in reports}
    columns = _field_columns(indicators, used, lang)
    has_other = any(
        row.report.indicator not in by_code or _other_values(row.report, by_code) for row in reports
    )
    headers = list(_REPORT_HEADERS[lang])
    widths: list[float] = [10, 12, 14, 28, 22, 24, 11, 16, 16, 9, 8]
    formats: list[str | None] = [None, _DATE, None, None, None, None, None, _DATETIME, _DATETIME]
    formats += [None, None]
    headers += [c.header for c in columns]
    widths += [c.width for c in columns]
    formats += [c.number_format for c in columns]
    if has_other:
        headers.append("Other values" if en else "Giá trị khác")
        widths.append(40)
        formats.append(None)
    field_index = {(c.indicator.code, c.field.code): n for n, c in enumerate(columns)}
    status_labels = _STATUS[lang]

    total = len(reports)
    if progress is not None:
        progress(0, total)
    chunks = range(0, max(total, 1), _MAX_DATA_ROWS)
    for part, first in enumerate(chunks, start=1):
        sheet = _new_sheet(book, name if part == 1 else f"{name} ({part})")
        chunk = reports[first : first + _MAX_DATA_ROWS]
        _start(sheet, widths, rows=len(chunk))
        sheet.append(_header_cells(sheet, headers))
        if not chunk:
            sheet.append([_message_cell(sheet, NO_REPORTS[lang])])
            continue
        cells = _ColumnCells(sheet, formats)
        for done, row in enumerate(chunk, start=first + 1):
            report = row.report
            indicator = by_code.get(report.indicator)
            status = _status(report.status)
            values: list[_Value] = [
                report.id,
                report.occurred_on,
                report.unit_code,
                row.unit_name,
                row.person_name,
                indicator.label.get(lang) if indicator else report.indicator,
                status_labels.get(status, str(report.status)) if status else str(report.status),
                _local(report.created_at, tz),
                _local(report.updated_at, tz) if report.updated_at else None,
                report.version,
                len(report.photos) or None,
            ]
            fields: list[_Value] = [None] * len(columns)
            if indicator is not None:
                for field in indicator.fields:
                    n = field_index.get((indicator.code, field.code))
                    value = report.values.get(field.code)
                    if n is not None and value is not None:
                        fields[n] = _field_value(field, value, lang)
            values += fields
            if has_other:
                values.append(_other_values(report, by_code) or None)
            sheet.append(cells.row(values))
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(done, total)


def _status(raw: object) -> ReportStatus | None:
    """Storage may hand back the plain string; an unknown status is shown as stored."""
    try:
        return ReportStatus(str(raw))
    except ValueError:
        return None


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


def _write_targets(sheet: WriteOnlyWorksheet, targets: Sequence[TargetRow], lang: str) -> None:
    _start(sheet, [14, 30, 16, 30, 10, 14], rows=len(targets))
    sheet.append(_header_cells(sheet, list(TARGET_HEADERS[lang])))
    if not targets:
        sheet.append([_message_cell(sheet, _NO_TARGETS[lang])])
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


def _start(sheet: WriteOnlyWorksheet, widths: Sequence[float], *, rows: int) -> None:
    """Column widths, frozen filterable header, landscape print: before any row is written."""
    layout = cast(_Layout, sheet)
    for n, width in enumerate(widths, start=1):
        layout.column_dimensions[get_column_letter(n)].width = width
    layout.row_dimensions[1].height = 45
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    if rows and widths:
        layout.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{rows + 1}"
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


def _write_message(sheet: WriteOnlyWorksheet, message: str, notes: Sequence[str]) -> None:
    cast(_Layout, sheet).column_dimensions["A"].width = 80
    sheet.append([_message_cell(sheet, message)])
    for note in notes:
        sheet.append([_note_cell(sheet, note)])


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
