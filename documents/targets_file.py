"""Targets (chỉ tiêu) by spreadsheet: a template to fill in, and the parser that reads it back.

Federation staff register each unit's targets early in the year, for dozens of
units and measures at once: a spreadsheet is how they work. The template
lists one row per unit × measure with the codes filled in; staff type the
numbers and send the file back as .xlsx or as CSV (UTF-8, comma or semicolon).

Reading is all-or-nothing: every problem is collected with its row number (as
Excel shows it) and reported at once in a `TargetsFileError`, and nothing is
imported until the file is clean. Half a set of targets would make standings
quietly wrong, which is worse than a clear list of fixes. Pure: bytes in,
targets or bytes out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from rapidfuzz import fuzz, process

from domain.errors import AmbiguousNumber, UserInputError
from domain.measures import MeasureDef
from domain.models import Unit
from domain.numbers import format_number, parse_integer, parse_number
from domain.periods import Period, parse_period
from domain.scoring import Target
from domain.text import fold

if TYPE_CHECKING:
    from _typeshed import SizedBuffer, StrPath

__all__ = [
    "MAX_BYTES",
    "TargetsFileError",
    "Translate",
    "parse_targets",
    "targets_template",
]

MAX_BYTES = 5_000_000
# Far more than units × measures × periods of any federation; beyond it the
# file is not a targets sheet, and reading on would only cost time.
_MAX_ROWS = 20_000
_MAX_COLUMNS = 40
# An .xlsx is a zip: refuse one that inflates past this before parsing its XML.
_MAX_UNZIPPED = 60_000_000
_MAX_SHOWN = 20
_SUGGEST_CUTOFF = 70

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an .xlsx with a password
_BOM = b"\xef\xbb\xbf"

# Header names (folded, "_" as space) per column, most specific first: the
# template's Vietnamese and English headers, plain English, what people write.
# A sheet with both "Mã đơn vị" and "Đơn vị" (names) reads the codes.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("ma don vi", "unit code", "unit", "ma dv", "don vi"),
    "measure": ("ma chi so", "measure code", "measure", "ma cs", "chi so"),
    "period": ("ky", "period", "period key", "ky thi dua", "dot"),
    "value": ("chi tieu", "value", "target", "so chi tieu", "gia tri"),
}
_REQUIRED = ("unit", "measure", "period", "value")
_SHOWN_HEADER = {
    "unit": "Mã đơn vị (unit)",
    "measure": "Mã chỉ số (measure)",
    "period": "Kỳ (period)",
    "value": "Chỉ tiêu (value)",
}
# The sheet that holds the targets, as the template and the export name it in either
# language (catalog: workbook.sheet_targets): "Chỉ tiêu" or "Targets".
_TARGET_SHEETS = frozenset({"chi tieu", "targets"})


class Translate(Protocol):
    """The message catalog: `translate(lang, key, **params)`; bot.i18n.Catalog is one."""

    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


class TargetsFileError(UserInputError):
    """A targets file that cannot be imported; `problems` are (row, message), row 0 = the file.

    Rendered from the catalog key "err.targets_file" with `count` (number of
    problems) and `details` (the first ones, one "Dòng N: …" line each).
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        lines = [f"Dòng {row}: {message}" if row else message for row, message in problems]
        if len(lines) > _MAX_SHOWN:
            lines = [*lines[:_MAX_SHOWN], f"… và {len(lines) - _MAX_SHOWN} lỗi khác"]
        super().__init__("err.targets_file", count=len(problems), details="\n".join(lines))


class _Problem(Exception):
    """One cell's problem, raised inside the row checks and collected by the caller."""


# --- the template -------------------------------------------------------------------


def targets_template(
    units: Sequence[Unit],
    measures: Sequence[MeasureDef],
    period_key: str,
    *,
    translate: Translate,
    lang: str = "vi",
    existing: Iterable[Target] = (),
    generated_at: dt.datetime | None = None,
) -> bytes:
    """An .xlsx to fill in: one row per unit × measure for `period_key`, and instructions.

    Every word on it comes from the catalog in `lang` (the sheet and column names are
    the export's own, workbook.sheet_targets and workbook.target_*, which the reader
    knows in both languages). Values of `existing` targets for that period are filled
    in, so the file also serves to review and correct what is registered.
    `period_key` is a key like "2025" or "2025-H1" (ValueError otherwise: it comes
    from code).
    """
    lang = "en" if lang == "en" else "vi"
    period = Period.from_key(period_key)

    def t(name: str, /, **params: Any) -> str:
        return translate(lang, name, **params)

    current = {(x.unit, x.measure): x.value for x in existing if x.period == period.key}
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = t("workbook.sheet_targets")
    sheet.append(
        [
            t("workbook.target_unit_code"),
            t("workbook.target_unit_name"),
            t("workbook.target_measure_code"),
            t("workbook.target_measure_name"),
            t("workbook.target_period"),
            t("workbook.target_value"),
        ]
    )
    for unit in units:
        for measure in measures:
            value = current.get((unit.code, measure.code))
            shown = None if value is None else (int(value) if value == int(value) else value)
            label = measure.label.get(lang)
            sheet.append([unit.code, unit.name, measure.code, label, period.key, shown])
    rows = sheet.max_row

    header_fill = PatternFill("solid", start_color="DDEBF7")
    code_fill = PatternFill("solid", start_color="F2F2F2")
    input_fill = PatternFill("solid", start_color="FFF2CC")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2, max_row=rows):
        for cell in row[:5]:
            cell.fill = code_fill
        row[5].fill = input_fill
        row[5].number_format = "#,##0.##"
    for n, width in enumerate((14, 32, 16, 32, 10, 14), start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:F{rows}"
    check = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=t("targets_file.invalid_title"),
        error=t("targets_file.invalid_text"),
    )
    check.add(f"F2:F{max(rows, 2)}")
    sheet.add_data_validation(check)

    help_sheet = book.create_sheet(t("targets_file.sheet_help"))
    _write_instructions(help_sheet, period, measures, t, lang)
    return workbook_bytes(book, generated_at)


def _write_instructions(
    sheet: Worksheet,
    period: Period,
    measures: Sequence[MeasureDef],
    t: Callable[..., str],
    lang: str,
) -> None:
    """How to fill the sheet in, then the measures with their codes and units."""
    size = format_number(MAX_BYTES / 1_000_000, lang)
    lines = [
        t("targets_file.help_title", period=period, key=period.key),
        "",
        t("targets_file.help_rows"),
        t("targets_file.help_fill"),
        t("targets_file.help_blank"),
        t("targets_file.help_numbers"),
        t("targets_file.help_periods"),
        t("targets_file.help_edit"),
        t("targets_file.help_save", size=size),
        t("targets_file.help_all_or_nothing"),
        "",
        t("targets_file.measures"),
    ]
    for line in lines:
        sheet.append([line])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(
        [
            t("workbook.target_measure_code"),
            t("workbook.target_measure_name"),
            t("targets_file.measure_unit"),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for measure in measures:
        sheet.append([measure.code, measure.label.get(lang), measure.unit])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 40
    sheet.column_dimensions["C"].width = 14


# --- reading ------------------------------------------------------------------------


def parse_targets(
    data: bytes,
    filename: str,
    *,
    units: set[str],
    measures: set[str],
    max_bytes: int = MAX_BYTES,
) -> list[Target]:
    """Every target in an .xlsx or .csv file, or a TargetsFileError listing every problem.

    The header row names the columns (in any order; other columns are
    ignored): unit, measure, period, value, or the template's Vietnamese
    headers, matched without regard to case or diacritics. A row whose value
    is empty sets no target and is skipped, so a template filled in part is
    fine. Row numbers in problems are the ones Excel shows.
    """
    if len(data) > max_bytes:
        raise TargetsFileError(
            [(0, f"Tệp quá lớn ({_megabytes(len(data))}); tối đa {_megabytes(max_bytes)}.")]
        )
    if not data.removeprefix(_BOM).strip():
        raise TargetsFileError([(0, "Tệp trống: không có dòng nào.")])
    rows, delimited = _rows(data, filename)
    return _read(rows, units, measures, delimited=delimited)


def _rows(data: bytes, filename: str) -> tuple[Iterator[tuple[int, tuple[object, ...]]], bool]:
    """(row number, cell values) of the sheet that holds the targets; True for CSV."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(_XLSX_MAGIC):
        return _xlsx_rows(data), False
    if data.startswith(_OLE_MAGIC):
        raise TargetsFileError(
            [
                (
                    0,
                    "Tệp Excel cũ (.xls) hoặc có đặt mật khẩu: bot chưa đọc được. "
                    "Hãy mở tệp, bỏ mật khẩu nếu có, rồi Lưu thành (Save As) .xlsx.",
                )
            ]
        )
    if suffix in (".xlsx", ".xlsm"):
        raise TargetsFileError([(0, "Tệp .xlsx bị hỏng hoặc không phải tệp Excel.")])
    if suffix in (".csv", ".txt"):
        return _csv_rows(data), True
    raise TargetsFileError([(0, "Chỉ nhận tệp .xlsx hoặc .csv (UTF-8).")])


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, tuple[object, ...]]]:
    corrupt = TargetsFileError([(0, "Tệp .xlsx bị hỏng hoặc không phải tệp Excel.")])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if "xl/workbook.xml" not in {entry.filename for entry in entries}:
                raise corrupt
            if sum(entry.file_size for entry in entries) > _MAX_UNZIPPED:
                raise TargetsFileError(
                    [(0, "Tệp .xlsx quá lớn khi giải nén; hãy chỉ giữ trang chỉ tiêu.")]
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise corrupt from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file; all mean "corrupt"
        raise corrupt from None
    return _sheet_rows(book, corrupt)


def _sheet_rows(
    book: Workbook, corrupt: TargetsFileError
) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Rows of the "Chỉ tiêu"/"Targets" sheet if there is one, else of the first sheet."""
    try:
        sheets = book.worksheets
        sheet = next((s for s in sheets if fold(s.title) in _TARGET_SHEETS), sheets[0])
        reset = getattr(sheet, "reset_dimensions", None)
        if reset is not None:
            reset()  # trust the cells, not a producer's stated size
        for number, values in enumerate(
            sheet.iter_rows(max_col=_MAX_COLUMNS, values_only=True), start=1
        ):
            yield number, tuple(values)
    except Exception:  # damaged XML surfaces while iterating in read-only mode
        raise corrupt from None
    finally:
        book.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, tuple[object, ...]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TargetsFileError(
            [
                (
                    0,
                    "Tệp CSV không ở dạng UTF-8, nên chữ tiếng Việt sẽ sai. "
                    "Trong Excel chọn Lưu thành (Save As) → “CSV UTF-8”.",
                )
            ]
        ) from None
    if "\x00" in text:
        raise TargetsFileError([(0, "Tệp không phải CSV (có ký tự nhị phân).")])
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            yield number, tuple(values)
    except csv.Error:
        raise TargetsFileError([(0, "Tệp CSV bị hỏng (dấu ngoặc kép không khớp?).")]) from None


def _read(
    rows: Iterator[tuple[int, tuple[object, ...]]],
    units: set[str],
    measures: set[str],
    *,
    delimited: bool,
) -> list[Target]:
    """Targets from rows; with `delimited` (CSV), a row wider than the header is an error.

    In a comma-separated file an unquoted "1,5" is two cells, "1" and "5":
    reading the first would import 1 where 1.5 was meant.
    """
    columns: dict[str, int] | None = None
    width = 0
    problems: list[tuple[int, str]] = []
    targets: list[Target] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    data_rows = 0
    for number, values in rows:
        if all(_blank(v) for v in values):
            continue
        if columns is None:
            columns = _header(number, values)
            width = max(i for i, v in enumerate(values) if not _blank(v)) + 1
            continue
        data_rows += 1
        if data_rows > _MAX_ROWS:
            raise TargetsFileError(
                [(0, f"Tệp có hơn {_MAX_ROWS:,} dòng: không phải tệp chỉ tiêu?".replace(",", "."))]
            )
        if delimited and any(not _blank(v) for v in values[width:]):
            problems.append(
                (
                    number,
                    f"dòng có nhiều ô hơn dòng tiêu đề ({width} cột): số có dấu phẩy như 1,5 "
                    "phải đặt trong ngoặc kép, hoặc dùng dấu chấm phẩy (;) để phân cách",
                )
            )
            continue
        cells = {name: values[i] if i < len(values) else None for name, i in columns.items()}
        if _blank(cells["value"]):
            continue  # no target for this unit and measure
        row_problems: list[str] = []
        unit = _attempt(row_problems, _code, cells["unit"], units, "đơn vị")
        measure = _attempt(row_problems, _code, cells["measure"], measures, "chỉ số")
        period = _attempt(row_problems, _period, cells["period"])
        value = _attempt(row_problems, _value, cells["value"])
        if unit and measure and period:
            key = (unit, measure, period)
            if key in first_seen:
                row_problems.append(
                    f"trùng với dòng {first_seen[key]} ({unit}, {measure}, kỳ {period})"
                )
            else:
                first_seen[key] = number
        problems.extend((number, message) for message in row_problems)
        if not row_problems and unit and measure and period and value is not None:
            targets.append(Target(unit, measure, period, value))
    if columns is None:
        raise TargetsFileError([(0, "Tệp trống: không có dòng nào.")])
    if problems:
        raise TargetsFileError(problems)
    if not targets:
        raise TargetsFileError([(0, "Không có dòng nào ghi chỉ tiêu (cột Chỉ tiêu đều trống).")])
    return targets


_T = TypeVar("_T")


def _attempt(problems: list[str], parse: Callable[..., _T], *args: object) -> _T | None:
    """`parse(*args)`, or None with its problem added to `problems`."""
    try:
        return parse(*args)
    except _Problem as problem:
        problems.append(str(problem))
        return None


def _header(number: int, values: tuple[object, ...]) -> dict[str, int]:
    """Which column holds what; a TargetsFileError naming what is missing or doubled."""
    found: dict[str, tuple[int, int]] = {}  # name → (alias rank, column index)
    problems: list[tuple[int, str]] = []
    for index, raw in enumerate(values):
        match = _column_name(raw)
        if match is None:
            continue
        name, rank = match
        if name in found and found[name][0] == rank:
            problems.append((number, f"cột “{raw}” xuất hiện hai lần"))
        if name not in found or rank < found[name][0]:
            found[name] = (rank, index)
    missing = [_SHOWN_HEADER[name] for name in _REQUIRED if name not in found]
    if missing:
        wanted = ", ".join(_SHOWN_HEADER[name] for name in _REQUIRED)
        present = ", ".join(f"“{v}”" for v in values if not _blank(v)) or "(không có)"
        problems.append(
            (
                number,
                f"thiếu cột {', '.join(missing)}. Dòng tiêu đề cần có: {wanted}; "
                f"tệp có: {present}.",
            )
        )
    if problems:
        raise TargetsFileError(problems)
    return {name: index for name, (_, index) in found.items()}


def _column_name(raw: object) -> tuple[str, int] | None:
    """(column, rank of the alias matched) for a header cell, None for other columns."""
    if not isinstance(raw, str):
        return None
    text = fold(raw).replace("_", " ")
    text = re.sub(r"\s*\(.*\)\s*$", "", text).strip(" *:")
    for name, aliases in _COLUMNS.items():
        if text in aliases:
            return name, aliases.index(text)
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code(raw: object, known: set[str], what: str) -> str:
    """A unit or measure code as configured; "Hoan Kiem" finds hoan_kiem."""
    if _blank(raw):
        raise _Problem(f"thiếu mã {what}")
    text = str(raw).strip()
    if text in known:
        return text
    folded = re.sub(r"[\s\-]+", "_", fold(text))
    if folded in known:
        return folded
    message = f"không có {what} “{text}”"
    suggestion = _closest(text, known)
    if suggestion is not None:
        message += f"; có phải “{suggestion}”?"
    raise _Problem(message)


def _closest(text: str, known: set[str]) -> str | None:
    """The known code nearest to `text`, compared without diacritics, "_" or case."""
    if not known:
        return None
    choices = {code: code.replace("_", " ") for code in known}
    best = process.extractOne(
        fold(text).replace("_", " "),
        choices,
        scorer=fuzz.WRatio,
        score_cutoff=_SUGGEST_CUTOFF,
    )
    return None if best is None else str(best[2])


_YEAR = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
_SOME_DAY = dt.date(2000, 1, 1)  # parse_period needs a "today"; we insist the year is written


def _period(raw: object) -> str:
    """A period key ("2025", "2025-H1"); also "Đợt 1/2025", "Năm 2025", "Q3/2025"."""
    if _blank(raw):
        raise _Problem("thiếu kỳ")
    if isinstance(raw, bool | dt.date | dt.time | dt.timedelta):
        raise _Problem(f"kỳ “{raw}” không hợp lệ; ghi ví dụ 2025, 2025-H1 hoặc 2025-H2")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip()
    try:
        return Period.from_key(text.upper()).key
    except ValueError:
        pass
    year = _YEAR.search(text)
    if year is not None:
        try:
            period = parse_period(text, _SOME_DAY)
        except UserInputError:
            period = None
        if period is not None and period.year == int(year.group(1)):
            return period.key
    raise _Problem(f"kỳ “{text}” không hợp lệ; ghi ví dụ 2025, 2025-H1 hoặc 2025-H2")


def _value(raw: object) -> float:
    """A target: a number ≥ 0, from a number cell or text as Vietnamese write it.

    "1.250" and "1,250" are 1250 (a target is a count or an amount far more
    often than a fraction with three decimals); "1,5" is 1.5; "1.5" is asked
    about, as in chat.
    """
    if isinstance(raw, bool | dt.date | dt.time | dt.timedelta):
        raise _Problem(f"ô Chỉ tiêu “{raw}” không phải là số")
    if isinstance(raw, int | float):
        value = float(raw)
        shown = format_number(value, "vi") if math.isfinite(value) else str(raw)
    else:
        shown = str(raw).strip()
        value = _parse_text_number(shown)
    if not math.isfinite(value):
        raise _Problem(f"ô Chỉ tiêu “{shown}” không phải là số")
    if value < 0:
        raise _Problem(f"chỉ tiêu không được âm ({shown})")
    return value


def _parse_text_number(text: str) -> float:
    try:
        return parse_number(text)
    except AmbiguousNumber as first:
        options = list(first.options)
        try:
            return float(parse_integer(text))
        except AmbiguousNumber as second:
            options += [o for o in second.options if o not in options]
        except UserInputError:
            pass
        shown = " / ".join(format_number(float(o), "vi") for o in options)
        raise _Problem(
            f"“{text}” có thể hiểu là {shown}; hãy ghi rõ (phần thập phân sau dấu phẩy: 1,5)"
        ) from None
    except UserInputError as error:
        if error.key == "err.negative":
            raise _Problem(f"chỉ tiêu không được âm ({text})") from None
        raise _Problem(f"ô Chỉ tiêu “{text}” không phải là số") from None


def _megabytes(size: int) -> str:
    return f"{format_number(size / 1_000_000, 'vi')} MB"


# --- saving -------------------------------------------------------------------------

_NO_DATE = dt.datetime(1980, 1, 1)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(tz).replace(tzinfo=None)


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
