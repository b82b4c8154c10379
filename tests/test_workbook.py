"""The Excel export: sheets, Vietnamese headers, real numbers and dates, statuses, limits."""

from __future__ import annotations

import datetime as dt
import io
import tomllib
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

import handlers.workbook as workbook_module
from domain.models import IndicatorDef, LocalText, Photo, Report, ReportStatus, Unit
from domain.scoring import CriterionDef, Method, ScoringDef, Standings, score_cluster
from handlers.workbook import NO_REPORTS, ReportRow, TargetRow, export_workbook

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
INDICATORS = tuple(
    IndicatorDef.model_validate(raw) for raw in tomllib.loads(EXAMPLE.read_text())["indicators"]
)
UNITS = [
    Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm"),
    Unit(code="long_bien", name="LĐLĐ quận Long Biên"),
]
SCORING = ScoringDef(
    criteria=(
        CriterionDef(
            code="new_unions",
            label=LocalText(vi="Thành lập CĐCS", en="Grassroots unions founded"),
            measure="new_unions",
            weight=70,
            cap=1.2,
        ),
        CriterionDef(
            code="cba",
            label=LocalText(vi="Thỏa ước", en="Agreements"),
            measure="cba",
            weight=20,
            method=Method.LEADER,
        ),
        CriterionDef(
            code="events",
            label=LocalText(vi="Sự kiện", en="Events"),
            measure="events",
            weight=10,
            method=Method.COUNT,
            points_per_item=1,
        ),
    )
)
SENT = dt.datetime(2025, 3, 8, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Nội
GENERATED = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC)


def standings() -> Standings:
    totals = {
        ("hoan_kiem", "new_unions"): 31,
        ("long_bien", "new_unions"): 49,
        ("hoan_kiem", "cba"): 3,
        ("long_bien", "cba"): 2,
        ("hoan_kiem", "events"): 4,
    }
    targets = {("hoan_kiem", "new_unions"): 20, ("long_bien", "new_unions"): 20}
    return score_cluster(UNITS, totals, targets, SCORING)


def report(
    id: int,
    indicator: str = "gifts",
    values: dict[str, object] | None = None,
    status: ReportStatus = ReportStatus.ACTIVE,
    **kw: object,
) -> ReportRow:
    if values is None:
        values = {
            "count": 20,
            "value_per_gift": 500_000,
            "recipients": "nữ đoàn viên",
            "occasion": "women_day",
            "date": "2025-03-08",
        }
    record = Report(
        id=id,
        unit_code="hoan_kiem",
        person_id=7,
        indicator=indicator,
        values=dict(values),
        occurred_on=dt.date(2025, 3, 8),
        created_at=SENT,
        status=status,
        source_key=f"k{id}",
        **kw,  # type: ignore[arg-type]
    )
    return ReportRow(record, "LĐLĐ quận Hoàn Kiếm", "Nguyễn Thị Lan")


TARGETS = [
    TargetRow("hoan_kiem", "LĐLĐ quận Hoàn Kiếm", "new_unions", "Thành lập CĐCS", "2025", 20),
    TargetRow("long_bien", "LĐLĐ quận Long Biên", "cba", "Thỏa ước", "2025", 2.5),
]


def export(**kw: object) -> Workbook:
    args: dict[str, object] = {
        "title": "Cụm thi đua số 1",
        "period_label": "Năm 2025",
        "standings": standings(),
        "reports": [report(1), report(2, status=ReportStatus.RETRACTED)],
        "targets": TARGETS,
        "indicators": INDICATORS,
        "generated_at": GENERATED,
    }
    args.update(kw)
    data = export_workbook(**args)  # type: ignore[arg-type]
    return load_workbook(io.BytesIO(data))


def header(sheet: Worksheet) -> list[object]:
    return [c.value for c in sheet[1]]


def column(sheet: Worksheet, name: str) -> int:
    return header(sheet).index(name) + 1


def test_sheets_in_order() -> None:
    book = export()
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"


def test_standings_sheet() -> None:
    sheet = export()["Xếp hạng"]
    names = header(sheet)
    assert names[:7] == [
        "Hạng",
        "Đơn vị",
        "Mã đơn vị",
        "Điểm",
        "Xếp loại",
        "Điểm thưởng/trừ",
        "Ghi chú",
    ]
    assert "Thành lập CĐCS: thực hiện" in names
    assert "Thành lập CĐCS: chỉ tiêu" in names
    assert "Thành lập CĐCS: % đạt" in names
    assert "Thành lập CĐCS: điểm (tối đa 84)" in names
    assert "Thỏa ước: cao nhất cụm" in names
    assert "Sự kiện: thực hiện" in names

    first = {names[i]: cell for i, cell in enumerate(sheet[2])}
    assert first["Hạng"].value == 1
    assert first["Đơn vị"].value == "LĐLĐ quận Hoàn Kiếm"
    assert first["Điểm"].number_format == "0.0"
    assert first["Xếp loại"].value == "xuất sắc"
    assert first["Thành lập CĐCS: thực hiện"].value == 31
    assert first["Thành lập CĐCS: thực hiện"].number_format == "#,##0"
    assert first["Thành lập CĐCS: % đạt"].value == pytest.approx(1.55)
    assert first["Thành lập CĐCS: % đạt"].number_format == "0.0%"
    second = {names[i]: cell.value for i, cell in enumerate(sheet[3])}
    assert second["Thành lập CĐCS: % đạt"] == pytest.approx(2.45)  # Long Biên 49/20

    notes = [row[0] for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]]
    assert "Cụm thi đua số 1 — Năm 2025" in notes
    assert "Xếp hạng mang tính tham khảo; kết quả chính thức do hội nghị bình xét." in notes
    assert "Xuất lúc 10:00 05/01/2026" in notes
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(names))}3"


def test_reports_sheet() -> None:
    sheet = export()["Báo cáo"]
    names = header(sheet)
    assert names[:7] == [
        "Số báo cáo",
        "Ngày diễn ra",
        "Mã đơn vị",
        "Đơn vị",
        "Người báo cáo",
        "Nội dung",
        "Trạng thái",
    ]
    assert "Thời điểm gửi" in names
    # Each field of the indicator has its own column; the date is "Ngày diễn ra".
    assert "Tặng quà: Số suất quà" in names
    assert "Tặng quà: Giá trị mỗi suất (đồng)" in names
    assert "Tặng quà: Dịp tặng quà" in names
    assert "Tặng quà: Ngày trao" not in names
    assert not any(str(n).startswith("Tổ chức sự kiện") for n in names)  # no event reports

    row = sheet[2]
    assert row[0].value == 1
    assert row[1].value == dt.datetime(2025, 3, 8)
    assert row[1].number_format == "dd/mm/yyyy"
    assert row[names.index("Người báo cáo")].value == "Nguyễn Thị Lan"
    assert row[names.index("Nội dung")].value == "Tặng quà"
    assert row[names.index("Trạng thái")].value == "Đang tính"
    sent = row[names.index("Thời điểm gửi")]
    assert sent.value == dt.datetime(2025, 3, 8, 9, 30)  # Asia/Ho_Chi_Minh
    assert sent.number_format == "dd/mm/yyyy hh:mm"
    count = row[names.index("Tặng quà: Số suất quà")]
    assert count.value == 20
    assert count.number_format == "#,##0"
    assert row[names.index("Tặng quà: Giá trị mỗi suất (đồng)")].value == 500_000
    assert row[names.index("Tặng quà: Dịp tặng quà")].value == "8/3"

    retracted = sheet[3]
    assert retracted[names.index("Trạng thái")].value == "Đã rút"


def test_targets_sheet() -> None:
    sheet = export()["Chỉ tiêu"]
    assert header(sheet) == ["Mã đơn vị", "Tên đơn vị", "Mã chỉ số", "Tên chỉ số", "Kỳ", "Chỉ tiêu"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0] == (
        "hoan_kiem",
        "LĐLĐ quận Hoàn Kiếm",
        "new_unions",
        "Thành lập CĐCS",
        "2025",
        20,
    )
    assert rows[1][5] == 2.5
    assert sheet["F2"].number_format == "#,##0"
    assert sheet["F3"].number_format == "#,##0.0#"


def test_no_reports_and_no_standings() -> None:
    book = export(standings=None, reports=[], targets=[])
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    first = book.worksheets[0]
    assert first["A1"].value == "Chưa có báo cáo nào trong kỳ này" == NO_REPORTS["vi"]
    assert book["Báo cáo"]["A2"].value == NO_REPORTS["vi"]


def test_reports_without_standings_say_there_is_no_ranking() -> None:
    book = export(standings=None)
    assert book["Xếp hạng"]["A1"].value == "Không có xếp hạng cho kỳ này"
    assert book["Báo cáo"].max_row == 3


def test_progress_counts() -> None:
    calls: list[tuple[int, int]] = []
    rows = [report(i) for i in range(1, 2501)]
    export(reports=rows, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]


def test_progress_with_no_reports() -> None:
    calls: list[tuple[int, int]] = []
    export(reports=[], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 0)]


def test_text_that_looks_like_a_formula_stays_text() -> None:
    values = {"count": 5, "recipients": '=HYPERLINK("http://x")\x07', "date": "2025-03-08"}
    book = export(reports=[report(1, values=values)])
    sheet = book["Báo cáo"]
    cell = sheet.cell(2, column(sheet, "Tặng quà: Đối tượng nhận quà"))
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://x")'  # control character dropped


def test_unknown_indicator_and_fields_go_to_other_values() -> None:
    rows = [
        report(1, indicator="retired", values={"people": 3}),
        report(2, values={"count": 1, "date": "2025-03-08", "old_field": "x"}),
    ]
    sheet = export(reports=rows)["Báo cáo"]
    other = column(sheet, "Giá trị khác")
    assert sheet.cell(2, column(sheet, "Nội dung")).value == "retired"
    assert sheet.cell(2, other).value == "people: 3"
    assert sheet.cell(3, other).value == "old_field: x"


def test_photos_and_edits() -> None:
    edited = dt.datetime(2025, 3, 9, 1, 0)  # naive: read as UTC
    rows = [report(1, photos=(Photo("telegram", "f1"), Photo("telegram", "f2")), updated_at=edited)]
    sheet = export(reports=rows)["Báo cáo"]
    assert sheet.cell(2, column(sheet, "Số ảnh")).value == 2
    assert sheet.cell(2, column(sheet, "Sửa lần cuối")).value == dt.datetime(2025, 3, 9, 8, 0)


def test_reports_split_past_the_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook_module, "_MAX_DATA_ROWS", 3)
    book = export(reports=[report(i) for i in range(1, 8)])
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Báo cáo (2)", "Báo cáo (3)", "Chỉ tiêu"]
    assert [book[n].max_row for n in book.sheetnames[1:4]] == [4, 4, 2]
    assert book["Báo cáo (3)"]["A2"].value == 7


def test_english() -> None:
    book = export(lang="en")
    assert book.sheetnames == ["Standings", "Reports", "Targets"]
    assert header(book["Standings"])[:4] == ["Rank", "Unit", "Unit code", "Score"]
    assert book["Reports"].cell(3, 7).value == "Retracted"


def test_same_input_same_bytes_and_no_clock() -> None:
    args: dict[str, object] = {
        "title": "Cụm 1",
        "period_label": "Năm 2025",
        "standings": standings(),
        "reports": [report(1)],
        "targets": TARGETS,
        "indicators": INDICATORS,
        "generated_at": GENERATED,
    }
    first = export_workbook(**args)  # type: ignore[arg-type]
    second = export_workbook(**args)  # type: ignore[arg-type]
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 1, 5, 10, 0, 0)}
    book = load_workbook(io.BytesIO(first))
    assert book.properties.created == dt.datetime(2026, 1, 5, 3, 0)
