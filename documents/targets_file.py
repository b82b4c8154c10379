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
# How a message names each column (the catalog's words).
_COLUMN_NAMES = {
    "unit": "targets_file.column_unit",
    "measure": "targets_file.column_measure",
    "period": "targets_file.column_period",
    "value": "targets_file.column_value",
}
# The sheet that holds the targets, as the template and the export name it in either
# language (catalog: workbook.sheet_targets): "Chỉ tiêu" or "Targets".
_TARGET_SHEETS = frozenset({"chi tieu", "targets"})


class Translate(Protocol):
    """The message catalog: `translate(lang, key, **params)`; bot.i18n.Catalog is one."""

    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


class TargetsFileError(UserInputError):
    """A targets file that cannot be imported; `problems` are (row, message), row 0 = the file,
    each message in the language the file was read in (catalog: targets_file.*).

    Rendered from the catalog key "err.targets_file" with `count` (number of
    problems) and `details` (the first ones, one "Dòng N: …" line each).
    """

    def __init__(self, problems: list[tuple[int, str]], details: str) -> None:
        self.problems = problems
        super().__init__("err.targets_file", count=len(problems), details=details)


_Said = tuple[str, dict[str, Any]]
"""A message as a catalog key ("targets_file.…") and its parameters, said later."""


def _said(key: str, **params: Any) -> _Said:
    return key, params


class _Problem(Exception):
    """One cell's problem, raised inside the row checks and collected by the caller."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.said: _Said = (key, params)


class _Unreadable(Exception):
    """The file's problems, (row, message) with row 0 for the file; said by `parse_targets`."""

    def __init__(self, problems: list[tuple[int, _Said]]) -> None:
        super().__init__(len(problems))
        self.problems = problems


def _file(key: str, **params: Any) -> _Unreadable:
    return _Unreadable([(0, (key, params))])


class _Columns(tuple[str, ...]):
    """Columns named in a message: said as the catalog's header names ("Mã đơn vị (unit)")."""


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
    translate: Translate,
    lang: str = "vi",
) -> list[Target]:
    """Every target in an .xlsx or .csv file, or a TargetsFileError listing every problem,
    worded in `lang` from the catalog.

    The header row names the columns (in any order; other columns are
    ignored): unit, measure, period, value, or the template's Vietnamese
    headers, matched without regard to case or diacritics. A row whose value
    is empty sets no target and is skipped, so a template filled in part is
    fine. Row numbers in problems are the ones Excel shows.
    """
    try:
        if len(data) > max_bytes:
            raise _file("targets_file.too_big", size=len(data) / 1e6, most=max_bytes / 1e6)
        if not data.removeprefix(_BOM).strip():
            raise _file("targets_file.empty")
        rows, delimited = _rows(data, filename)
        return _read(rows, units, measures, delimited=delimited)
    except _Unreadable as unreadable:
        raise _error(unreadable.problems, translate, lang) from None


def _error(problems: list[tuple[int, _Said]], translate: Translate, lang: str) -> TargetsFileError:
    """The problems in words: numbers as `lang` writes them, one line per problem."""

    def word(value: Any) -> Any:
        if isinstance(value, _Columns):
            return ", ".join(translate(lang, _COLUMN_NAMES[name]) for name in value)
        if isinstance(value, float):
            return format_number(value, lang)
        if isinstance(value, tuple):
            return " / ".join(str(word(v)) for v in value)
        return value

    said = [
        (row, translate(lang, key, **{k: word(v) for k, v in params.items()}))
        for row, (key, params) in problems
    ]
    lines = [
        translate(lang, "targets_file.row", row=row, problem=message) if row else message
        for row, message in said
    ]
    if len(lines) > _MAX_SHOWN:
        more = translate(lang, "targets_file.more", count=len(lines) - _MAX_SHOWN)
        lines = [*lines[:_MAX_SHOWN], more]
    return TargetsFileError(said, "\n".join(lines))


def _rows(data: bytes, filename: str) -> tuple[Iterator[tuple[int, tuple[object, ...]]], bool]:
    """(row number, cell values) of the sheet that holds the targets; True for CSV."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(_XLSX_MAGIC):
        return _xlsx_rows(data), False
    if data.startswith(_OLE_MAGIC):
        raise _file("targets_file.old_excel")
    if suffix in (".xlsx", ".xlsm"):
        raise _file("targets_file.corrupt")
    if suffix in (".csv", ".txt"):
        return _csv_rows(data), True
    raise _file("targets_file.wrong_type")


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, tuple[object, ...]]]:
    corrupt = _file("targets_file.corrupt")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if "xl/workbook.xml" not in {entry.filename for entry in entries}:
                raise corrupt
            if sum(entry.file_size for entry in entries) > _MAX_UNZIPPED:
                raise _file("targets_file.unzipped_too_big")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise corrupt from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file; all mean "corrupt"
        raise corrupt from None
    return _sheet_rows(book, corrupt)


def _sheet_rows(book: Workbook, corrupt: _Unreadable) -> Iterator[tuple[int, tuple[object, ...]]]:
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
        raise _file("targets_file.not_utf8") from None
    if "\x00" in text:
        raise _file("targets_file.binary")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            yield number, tuple(values)
    except csv.Error:
        raise _file("targets_file.bad_csv") from None


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
    problems: list[tuple[int, _Said]] = []
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
            raise _file("targets_file.too_many_rows", most=float(_MAX_ROWS))
        if delimited and any(not _blank(v) for v in values[width:]):
            problems.append((number, _said("targets_file.too_wide", columns=width)))
            continue
        cells = {name: values[i] if i < len(values) else None for name, i in columns.items()}
        if _blank(cells["value"]):
            continue  # no target for this unit and measure
        row_problems: list[_Said] = []
        unit = _attempt(row_problems, _code, cells["unit"], units, "unit")
        measure = _attempt(row_problems, _code, cells["measure"], measures, "measure")
        period = _attempt(row_problems, _period, cells["period"])
        value = _attempt(row_problems, _value, cells["value"])
        if unit and measure and period:
            key = (unit, measure, period)
            if key in first_seen:
                row_problems.append(
                    _said(
                        "targets_file.duplicate",
                        row=first_seen[key],
                        unit=unit,
                        measure=measure,
                        period=period,
                    )
                )
            else:
                first_seen[key] = number
        problems.extend((number, message) for message in row_problems)
        if not row_problems and unit and measure and period and value is not None:
            targets.append(Target(unit, measure, period, value))
    if columns is None:
        raise _file("targets_file.empty")
    if problems:
        raise _Unreadable(problems)
    if not targets:
        raise _file("targets_file.nothing_filled")
    return targets


_T = TypeVar("_T")


def _attempt(problems: list[_Said], parse: Callable[..., _T], *args: object) -> _T | None:
    """`parse(*args)`, or None with its problem added to `problems`."""
    try:
        return parse(*args)
    except _Problem as problem:
        problems.append(problem.said)
        return None


def _header(number: int, values: tuple[object, ...]) -> dict[str, int]:
    """Which column holds what; the problems naming what is missing or doubled."""
    found: dict[str, tuple[int, int]] = {}  # name → (alias rank, column index)
    problems: list[tuple[int, _Said]] = []
    for index, raw in enumerate(values):
        match = _column_name(raw)
        if match is None:
            continue
        name, rank = match
        if name in found and found[name][0] == rank:
            problems.append((number, _said("targets_file.column_twice", column=raw)))
        if name not in found or rank < found[name][0]:
            found[name] = (rank, index)
    missing = _Columns(name for name in _REQUIRED if name not in found)
    if missing:
        present = ", ".join(f"“{v}”" for v in values if not _blank(v))
        key = "targets_file.missing_columns" if present else "targets_file.missing_columns_none"
        wanted = _Columns(_REQUIRED)
        problems.append((number, _said(key, missing=missing, wanted=wanted, present=present)))
    if problems:
        raise _Unreadable(problems)
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
        raise _Problem(
            "targets_file.missing_unit" if what == "unit" else "targets_file.missing_measure"
        )
    text = str(raw).strip()
    if text in known:
        return text
    folded = re.sub(r"[\s\-]+", "_", fold(text))
    if folded in known:
        return folded
    suggestion = _closest(text, known)
    if suggestion is not None:
        key = (
            "targets_file.unknown_unit_suggest"
            if what == "unit"
            else "targets_file.unknown_measure_suggest"
        )
        raise _Problem(key, text=text, suggestion=suggestion)
    key = "targets_file.unknown_unit" if what == "unit" else "targets_file.unknown_measure"
    raise _Problem(key, text=text)


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
        raise _Problem("targets_file.missing_period")
    if isinstance(raw, bool | dt.date | dt.time | dt.timedelta):
        raise _Problem("targets_file.bad_period", text=str(raw))
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
    raise _Problem("targets_file.bad_period", text=text)


def _value(raw: object) -> float:
    """A target: a number ≥ 0, from a number cell or text as Vietnamese write it.

    "1.250" and "1,250" are 1250 (a target is a count or an amount far more
    often than a fraction with three decimals); "1,5" is 1.5; "1.5" is asked
    about, as in chat.
    """
    if isinstance(raw, bool | dt.date | dt.time | dt.timedelta):
        raise _Problem("targets_file.not_a_number", text=str(raw))
    shown: str | float
    if isinstance(raw, int | float):
        value = float(raw)
        shown = value if math.isfinite(value) else str(raw)
    else:
        shown = str(raw).strip()
        value = _parse_text_number(shown)
    if not math.isfinite(value):
        raise _Problem("targets_file.not_a_number", text=shown)
    if value < 0:
        raise _Problem("targets_file.negative", text=shown)
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
        raise _Problem(
            "targets_file.ambiguous", text=text, options=tuple(float(o) for o in options)
        ) from None
    except UserInputError as error:
        if error.key == "err.negative":
            raise _Problem("targets_file.negative", text=text) from None
        raise _Problem("targets_file.not_a_number", text=text) from None


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
