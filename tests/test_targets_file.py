"""Targets by spreadsheet: the template round trip, CSV dialects, and all-or-nothing errors."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import Catalog
from documents.targets_file import TargetsFileError, parse_targets, targets_template
from documents.workbook import ReportRow, TargetRow, export_workbook
from domain.errors import UserInputError
from domain.measures import default_measures
from domain.models import Unit
from domain.scoring import Target

UNITS = [
    Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm"),
    Unit(code="long_bien", name="LĐLĐ quận Long Biên"),
    Unit(code="hai_ba_trung", name="LĐLĐ quận Hai Bà Trưng"),
]
MEASURES = default_measures()
UNIT_CODES = {u.code for u in UNITS}
MEASURE_CODES = {m.code for m in MEASURES}


CATALOG = Catalog()


def parse(data: bytes, filename: str = "chi_tieu.csv", **kw: object) -> list[Target]:
    return parse_targets(
        data,
        filename,
        units=UNIT_CODES,
        measures=MEASURE_CODES,
        translate=CATALOG,
        **kw,  # type: ignore[arg-type]
    )


def problems(data: bytes, filename: str = "chi_tieu.csv", **kw: object) -> list[tuple[int, str]]:
    with pytest.raises(TargetsFileError) as caught:
        parse(data, filename, **kw)
    assert caught.value.key == "err.targets_file"
    assert caught.value.params["count"] == len(caught.value.problems)
    return caught.value.problems


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    data = "\r\n".join(lines).encode()
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the template ---------------------------------------------------------------------


def test_template_layout() -> None:
    data = targets_template(UNITS, MEASURES, "2025", translate=CATALOG)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Chỉ tiêu", "Hướng dẫn"]
    sheet = book["Chỉ tiêu"]
    assert [c.value for c in sheet[1]] == [
        "Mã đơn vị",
        "Tên đơn vị",
        "Mã chỉ số",
        "Tên chỉ số",
        "Kỳ",
        "Chỉ tiêu",
    ]
    assert sheet.max_row == 1 + len(UNITS) * len(MEASURES)
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[2]][:5] == [
        "hoan_kiem",
        "LĐLĐ quận Hoàn Kiếm",
        "gifts_count",
        "Số suất quà",
        "2025",
    ]
    instructions = "\n".join(
        str(row[0]) for row in book["Hướng dẫn"].iter_rows(values_only=True) if row[0]
    )
    assert "Chỉ điền cột “Chỉ tiêu”" in instructions
    assert "2025-H1" in instructions


def test_template_rejects_a_bad_period_key() -> None:
    with pytest.raises(ValueError):
        targets_template(UNITS, MEASURES, "đợt 1", translate=CATALOG)


def test_template_round_trip() -> None:
    data = targets_template(UNITS, MEASURES, "2025-H1", translate=CATALOG)
    book = load_workbook(io.BytesIO(data))
    sheet = book["Chỉ tiêu"]
    filled = {}
    for row in sheet.iter_rows(min_row=2):
        key = (row[0].value, row[2].value)
        if key == ("long_bien", "new_unions"):
            row[5].value = 20
        elif key == ("hoan_kiem", "new_members"):
            row[5].value = "1.250"
        elif key == ("hai_ba_trung", "cba"):
            row[5].value = "1,5"
        else:
            continue
        filled[key] = row[5].value
    assert len(filled) == 3
    buffer = io.BytesIO()
    book.save(buffer)

    targets = parse(buffer.getvalue(), "chi_tieu.xlsx")
    assert sorted(targets, key=lambda t: t.unit) == [
        Target("hai_ba_trung", "cba", "2025-H1", 1.5),
        Target("hoan_kiem", "new_members", "2025-H1", 1250.0),
        Target("long_bien", "new_unions", "2025-H1", 20.0),
    ]


def test_template_prefills_existing_targets_of_that_period() -> None:
    existing = [
        Target("long_bien", "new_unions", "2025", 20),
        Target("long_bien", "new_members", "2024", 999),
    ]
    data = targets_template(UNITS, MEASURES, "2025", existing=existing, translate=CATALOG)
    assert parse(data, "template.xlsx") == [Target("long_bien", "new_unions", "2025", 20.0)]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_exported_workbook_targets_sheet_reads_back(lang: str) -> None:
    """The export's labels come from the catalog; its targets sheet still imports."""
    rows = [
        TargetRow("hoan_kiem", "LĐLĐ quận Hoàn Kiếm", "new_unions", "Thành lập CĐCS", "2025", 20)
    ]
    no_reports: list[ReportRow] = []
    data = export_workbook(
        translate=Catalog(),
        federation="LĐLĐ Thành phố Hà Nội",
        scope="Cụm 1",
        period_label="Năm 2025",
        clusters=[],
        reports=no_reports,
        targets=rows,
        indicators=(),
        lang=lang,
    )
    assert parse(data, "export.xlsx") == [Target("hoan_kiem", "new_unions", "2025", 20.0)]


# --- CSV --------------------------------------------------------------------------------


def test_csv_with_bom_and_semicolons() -> None:
    data = csv_bytes(
        "Mã đơn vị;Tên đơn vị;Mã chỉ số;Kỳ;Chỉ tiêu",
        "hoan_kiem;LĐLĐ quận Hoàn Kiếm;new_unions;2025;20",
        "long_bien;LĐLĐ quận Long Biên;new_members;2025-H2;1.250",
        "hai_ba_trung;LĐLĐ quận Hai Bà Trưng;cba;2025-H1;1,5",
        ";;;;",
        bom=True,
    )
    assert parse(data) == [
        Target("hoan_kiem", "new_unions", "2025", 20.0),
        Target("long_bien", "new_members", "2025-H2", 1250.0),
        Target("hai_ba_trung", "cba", "2025-H1", 1.5),
    ]


def test_csv_with_commas_english_headers_any_order_and_case() -> None:
    data = csv_bytes(
        "VALUE,Period,unit,Measure,note",
        '"1,5",2025,long_bien,cba,ghi chú',
        "20,2025-h1,hoan_kiem,new_unions,",
    )
    assert parse(data) == [
        Target("long_bien", "cba", "2025", 1.5),
        Target("hoan_kiem", "new_unions", "2025-H1", 20.0),
    ]


def test_headers_without_diacritics_and_period_labels() -> None:
    data = csv_bytes(
        "ma don vi;ma chi so;ky;chi tieu",
        "hoan_kiem;new_unions;Đợt 1/2025;20",
        "hoan_kiem;new_members;Năm 2025;30",
        "Long Bien;cba;2025-H2;4",
    )
    assert parse(data) == [
        Target("hoan_kiem", "new_unions", "2025-H1", 20.0),
        Target("hoan_kiem", "new_members", "2025", 30.0),
        Target("long_bien", "cba", "2025-H2", 4.0),
    ]


def test_rows_without_a_value_are_skipped() -> None:
    data = csv_bytes("unit,measure,period,value", "hoan_kiem,cba,2025,", "long_bien,cba,2025,3")
    assert parse(data) == [Target("long_bien", "cba", "2025", 3.0)]


# --- errors, all or nothing ---------------------------------------------------------------


def test_every_error_with_its_row_and_nothing_imported() -> None:
    data = csv_bytes(
        "unit;measure;period;value",  # row 1
        "hoan_kiem;new_unions;2025;20",  # 2: fine
        "hoan_kiêm_x;new_unions;2025;20",  # 3: unknown unit, suggestion
        "long_bien;new_union;2025;20",  # 4: unknown measure, suggestion
        "long_bien;cba;2025;-5",  # 5: negative
        "long_bien;events;2025;hai mươi",  # 6: text in a number cell
        "hoan_kiem;new_unions;2025;25",  # 7: duplicate of row 2
        "long_bien;welfare;2025-H3;2",  # 8: bad period
        "long_bien;welfare;năm nay;2",  # 9: no year written
        "long_bien;gifts_count;2025;1.5",  # 10: ambiguous
        ";;2025;4",  # 11: missing unit and measure
    )
    found = problems(data)
    rows = [row for row, _ in found]
    assert rows == [3, 4, 5, 6, 7, 8, 9, 10, 11, 11]
    messages = dict(found)
    assert "“hoan_kiem”" in messages[3]
    assert messages[4] == "không có chỉ số “new_union”; có phải “new_unions”?"
    assert "không được âm" in messages[5]
    assert "“hai mươi” không phải là số" in messages[6]
    assert "trùng với dòng 2" in messages[7]
    assert "2025-H3" in messages[8]
    assert "năm nay" in messages[9]
    assert "1,5" in messages[10] and "15" in messages[10]
    assert [m for r, m in found if r == 11] == ["thiếu mã đơn vị", "thiếu mã chỉ số"]


def test_error_renders_row_numbers_for_the_catalog() -> None:
    data = csv_bytes("unit,measure,period,value", "nowhere,cba,2025,1")
    with pytest.raises(UserInputError) as caught:
        parse(data)
    assert caught.value.params["details"].startswith("Dòng 2: không có đơn vị “nowhere”")


def test_xlsx_errors_use_excel_row_numbers() -> None:
    data = xlsx_bytes(
        [
            [],
            ["Mã đơn vị", "Mã chỉ số", "Kỳ", "Chỉ tiêu"],  # header on row 2
            ["hoan_kiem", "cba", 2025, 3],
            [],
            ["hoan_kiem", "events", 2025, "mười"],  # row 5
            ["long_bien", "events", 2025, True],  # row 6
            ["long_bien", "cba", 2025, -1.5],  # row 7
        ]
    )
    found = problems(data, "t.xlsx")
    assert [row for row, _ in found] == [5, 6, 7]


def test_numbers_from_xlsx_cells() -> None:
    data = xlsx_bytes(
        [
            ["unit", "measure", "period", "value"],
            ["hoan_kiem", "cba", 2025, 3],
            ["long_bien", "cba", "2025-H1", 2.5],
        ]
    )
    assert parse(data, "t.xlsx") == [
        Target("hoan_kiem", "cba", "2025", 3.0),
        Target("long_bien", "cba", "2025-H1", 2.5),
    ]


def test_wrong_columns() -> None:
    data = csv_bytes("đơn vị,nội dung,năm,số lượng", "hoan_kiem,cba,2025,3")
    [(row, message)] = problems(data)
    assert row == 1
    assert "thiếu cột" in message
    assert "Mã chỉ số (measure)" in message and "Chỉ tiêu (value)" in message
    assert "Mã đơn vị" not in message.split(".")[0]  # "đơn vị" was understood


def test_a_column_twice() -> None:
    data = csv_bytes("unit,unit,measure,period,value", "a,b,cba,2025,1")
    [(row, message)] = problems(data)
    assert row == 1 and "hai lần" in message


def test_codes_column_wins_over_names_column() -> None:
    data = csv_bytes(
        "Đơn vị;Mã đơn vị;Mã chỉ số;Kỳ;Chỉ tiêu",
        "LĐLĐ quận Hoàn Kiếm;hoan_kiem;cba;2025;3",
    )
    assert parse(data) == [Target("hoan_kiem", "cba", "2025", 3.0)]


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf", b"\r\n  \r\n", b";;;\r\n;;;\r\n"],
    ids=["empty", "bom-only", "blank-lines", "only-separators"],
)
def test_empty_file(data: bytes) -> None:
    [(row, message)] = problems(data)
    assert row == 0 and "trống" in message


def test_header_only_or_nothing_filled() -> None:
    [(row, message)] = problems(csv_bytes("unit,measure,period,value", "hoan_kiem,cba,2025,"))
    assert row == 0 and "Không có dòng nào ghi chỉ tiêu" in message
    template = targets_template(UNITS, MEASURES, "2025", translate=CATALOG)
    [(row, _)] = problems(template, "template.xlsx")
    assert row == 0


def test_fifty_megabytes_refused_by_size_before_reading() -> None:
    # Not a readable workbook at all: only a size check made before opening it can
    # answer "too large" (a parse would answer "not an Excel file").
    data = b"PK\x03\x04" + bytes(50_000_000)
    [(row, message)] = problems(data, "big.xlsx")
    assert row == 0 and "quá lớn" in message and "50 MB" in message


def test_max_bytes_is_configurable() -> None:
    data = csv_bytes("unit,measure,period,value", "hoan_kiem,cba,2025,1")
    [(row, message)] = problems(data, max_bytes=10)
    assert row == 0 and "quá lớn" in message


@pytest.mark.parametrize(
    ("data", "filename", "words"),
    [
        (b"%PDF-1.4 ...", "chi_tieu.pdf", "Chỉ nhận tệp .xlsx hoặc .csv"),
        (b"not a zip at all", "chi_tieu.xlsx", "bị hỏng"),
        (b"PK\x03\x04garbage" * 10, "chi_tieu.xlsx", "bị hỏng"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "chi_tieu.xls", ".xls"),
        ("unit,measure\nĐà Lạt,cba".encode("cp1258", "replace"), "chi_tieu.csv", "UTF-8"),
        (b"unit,measure,period,value\n\x00\x01", "chi_tieu.csv", "nhị phân"),
    ],
    ids=["pdf", "text-named-xlsx", "broken-zip", "old-xls", "not-utf8", "binary-csv"],
)
def test_not_a_targets_file(data: bytes, filename: str, words: str) -> None:
    [(row, message)] = problems(data, filename)
    assert row == 0 and words in message


def test_a_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "xin chào")
    [(row, message)] = problems(buffer.getvalue(), "chi_tieu.xlsx")
    assert row == 0 and "bị hỏng" in message


def test_a_zip_bomb_is_refused_before_parsing() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(70_000_000))
    data = buffer.getvalue()
    assert len(data) < 1_000_000
    [(row, message)] = problems(data, "chi_tieu.xlsx")
    assert row == 0 and "giải nén" in message


def test_too_many_problems_are_summarised() -> None:
    lines = ["unit,measure,period,value"] + [f"nowhere{i},cba,2025,1" for i in range(30)]
    with pytest.raises(TargetsFileError) as caught:
        parse(csv_bytes(*lines))
    assert len(caught.value.problems) == 30
    details = caught.value.params["details"]
    assert details.count("\n") == 20
    assert details.endswith("… và 10 lỗi khác")


def test_unquoted_decimal_comma_in_a_comma_csv_is_not_read_as_its_integer_part() -> None:
    data = csv_bytes("unit,measure,period,value", "hoan_kiem,cba,2025,1,5", "long_bien,cba,2025,2")
    [(row, message)] = problems(data)
    assert row == 2 and "ngoặc kép" in message


def test_english_template_reads_back() -> None:
    """In English every word comes from the English catalog, and the file still imports."""
    data = targets_template(UNITS, MEASURES, "2025", translate=CATALOG, lang="en")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Targets", "Instructions"]
    assert [c.value for c in book["Targets"][1]] == [
        "Unit code",
        "Unit name",
        "Measure code",
        "Measure name",
        "Period",
        "Target",
    ]
    texts = [
        str(v)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for v in row
        if isinstance(v, str)
    ]
    assert not [t for t in texts if t.startswith(("targets_file.", "workbook."))]
    instructions = "\n".join(texts)
    assert "Fill in only the “Target” column" in instructions and "2025-H1" in instructions
    assert "Chỉ tiêu" not in instructions
    sheet = book["Targets"]
    for row in sheet.iter_rows(min_row=2):
        if (row[0].value, row[2].value) == ("long_bien", "new_unions"):
            row[5].value = 20
    buffer = io.BytesIO()
    book.save(buffer)
    assert parse(buffer.getvalue(), "targets.xlsx") == [
        Target("long_bien", "new_unions", "2025", 20.0)
    ]


def test_problems_are_said_in_english_too() -> None:
    """The same problems, worded by the English catalog, with English numbers."""
    data = csv_bytes(
        "unit,measure,period,value",
        "nowhere,cba,2025,3",
        "hoan_kiem,cba,đợt 9,1.5",
        "long_bien,cba,2025,-2",
    )
    with pytest.raises(TargetsFileError) as caught:
        parse(data, lang="en")
    details = caught.value.params["details"]
    assert details.startswith("Row 2: no unit “nowhere”")
    assert "Row 3: the period “đợt 9” is not valid" in details
    assert "could mean" in details  # 1.5 is asked about, as in Vietnamese
    assert "Row 4: a target cannot be negative (-2)" in details
    assert not any(w in details for w in ("Dòng", "không", "targets_file."))
    with pytest.raises(TargetsFileError) as caught:
        parse(csv_bytes("a,b", "1,2"), lang="en")
    assert "Unit code (unit), Measure code (measure)" in caught.value.params["details"]
