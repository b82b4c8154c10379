"""The Excel export: sheets, Vietnamese headers, real numbers and dates, statuses, limits."""

from __future__ import annotations

import datetime as dt
import io
import tomllib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

import documents.workbook as workbook_module
from bot.i18n import Catalog
from documents.workbook import ClusterSheet, ReportRow, TargetRow, export_workbook
from domain.models import IndicatorDef, LocalText, Photo, Report, ReportStatus, Unit
from domain.obligations import Tally
from domain.scoring import CriterionDef, Method, ScoringDef, Standings, score_cluster

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
CATALOG = Catalog()
FEDERATION = "Liên đoàn Lao động Thành phố Hà Nội"
# Hoàn Kiếm owed 4 reports, sent 4, 3 on time; Long Biên sent 2 of 4, both on time.
RATES = {"hoan_kiem": Tally(4, 4, 3), "long_bien": Tally(4, 2, 2)}
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


def cluster(name: str = "Cụm thi đua số 1", **kw: object) -> ClusterSheet:
    args: dict[str, object] = {"standings": standings(), "rates": RATES}
    args.update(kw)
    return ClusterSheet(name, **args)  # type: ignore[arg-type]


def export(**kw: object) -> Workbook:
    args: dict[str, object] = {
        "translate": CATALOG,
        "federation": FEDERATION,
        "scope": "Cụm thi đua số 1",
        "period_label": "Năm 2025",
        "clusters": [cluster()],
        "reports": [report(1), report(2, status=ReportStatus.RETRACTED)],
        "targets": TARGETS,
        "indicators": INDICATORS,
        "generated_at": GENERATED,
    }
    args.update(kw)
    data = export_workbook(**args)  # type: ignore[arg-type]
    return load_workbook(io.BytesIO(data))


def header_row(sheet: Worksheet) -> int:
    """The column headers' row: the first with a filled second cell (after any heading)."""
    return next(n for n in range(1, 20) if sheet.cell(n, 2).value is not None)


def header(sheet: Worksheet) -> list[object]:
    return [c.value for c in sheet[header_row(sheet)]]


def column(sheet: Worksheet, name: str) -> int:
    return header(sheet).index(name) + 1


def test_sheets_in_order_with_names_and_headers_frozen() -> None:
    book = export()
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    # Rank and unit name stay in view; on the reports sheet number, date and unit.
    assert book["Xếp hạng"].freeze_panes == "C9"
    assert header(book["Xếp hạng"])[:2] == ["Hạng", "Đơn vị"]
    assert book["Báo cáo"].freeze_panes == "D2"
    assert header(book["Báo cáo"])[:3] == ["Số báo cáo", "Ngày diễn ra", "Đơn vị"]
    assert book["Chỉ tiêu"].freeze_panes == "C2"


def test_official_heading() -> None:
    book = export()
    sheet = book["Xếp hạng"]
    assert sheet["A1"].value == "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HÀ NỘI"
    assert sheet["A2"].value == "CỤM THI ĐUA SỐ 1"
    assert sheet["A2"].font.b
    assert sheet["A4"].value == "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA"
    assert sheet["A4"].font.b and sheet["A4"].alignment.horizontal == "center"
    assert sheet["A5"].value == "Năm 2025"
    assert sheet["A6"].value == "(Số liệu tạm tính đến ngày 05/01/2026)"
    last = get_column_letter(len(header(sheet)))
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:D1", "A2:D2", f"A4:{last}4", f"A5:{last}5", f"A6:{last}6"} <= merged
    assert book.properties.title == ("Bảng tổng hợp kết quả thi đua — Cụm thi đua số 1 — Năm 2025")


def test_standings_sheet() -> None:
    sheet = export()["Xếp hạng"]
    names = header(sheet)
    top = header_row(sheet)
    assert top == 8
    assert names[:8] == [
        "Hạng",
        "Đơn vị",
        "Điểm",
        "Xếp loại",
        "Tỷ lệ báo cáo đầy đủ",
        "Tỷ lệ báo cáo đúng hạn",
        "Điểm thưởng/trừ",
        "Thành lập CĐCS: thực hiện",
    ]
    assert names[-1] == "Ghi chú"
    assert "Thành lập CĐCS: chỉ tiêu" in names
    assert "Thành lập CĐCS: % đạt" in names
    assert "Thành lập CĐCS: điểm (tối đa 84)" in names
    assert "Thỏa ước: cao nhất cụm" in names
    assert "Sự kiện: thực hiện" in names

    first = {names[i]: cell for i, cell in enumerate(sheet[top + 1])}
    assert first["Hạng"].value == 1
    assert first["Đơn vị"].value == "LĐLĐ quận Hoàn Kiếm"
    assert first["Điểm"].number_format == "0.0"
    assert first["Xếp loại"].value == "xuất sắc"
    assert first["Tỷ lệ báo cáo đầy đủ"].value == 1
    assert first["Tỷ lệ báo cáo đúng hạn"].value == pytest.approx(0.75)
    assert first["Tỷ lệ báo cáo đúng hạn"].number_format == "0.0%"
    assert first["Thành lập CĐCS: thực hiện"].value == 31
    assert first["Thành lập CĐCS: thực hiện"].number_format == "#,##0"
    assert first["Thành lập CĐCS: % đạt"].value == pytest.approx(1.55)
    assert first["Thành lập CĐCS: % đạt"].number_format == "0.0%"
    second = {names[i]: cell.value for i, cell in enumerate(sheet[top + 2])}
    assert second["Đơn vị"] == "LĐLĐ quận Long Biên"
    assert second["Thành lập CĐCS: % đạt"] == pytest.approx(2.45)  # Long Biên 49/20

    notes = [row[0] for row in sheet.iter_rows(min_row=top + 4, values_only=True) if row[0]]
    assert (
        "Xếp hạng do bot tính chỉ để tham khảo; kết quả chính thức do hội nghị tổng kết "
        "bình xét, suy tôn." in notes
    )
    assert "Xuất lúc 10:00 05/01/2026" in notes
    assert sheet.auto_filter.ref == f"A{top}:{get_column_letter(len(names))}{top + 3}"


def test_units_by_name_never_by_code() -> None:
    sheet = export()["Xếp hạng"]
    values = {c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    assert {"LĐLĐ quận Hoàn Kiếm", "LĐLĐ quận Long Biên"} <= values
    assert not values & {"hoan_kiem", "long_bien", "Mã đơn vị"}
    reports = export()["Báo cáo"]
    assert "Mã đơn vị" not in header(reports)
    assert "hoan_kiem" not in {c.value for c in reports[2]}


def test_totals_row() -> None:
    sheet = export()["Xếp hạng"]
    names = header(sheet)
    totals = {names[i]: cell for i, cell in enumerate(sheet[header_row(sheet) + 3])}
    assert totals["Đơn vị"].value == "Tổng cộng"
    assert totals["Đơn vị"].font.b
    assert totals["Hạng"].value is None and totals["Điểm"].value is None
    # Reports: 6 of 8 sent, 5 of 8 on time, over the cluster.
    assert totals["Tỷ lệ báo cáo đầy đủ"].value == pytest.approx(0.75)
    assert totals["Tỷ lệ báo cáo đúng hạn"].value == pytest.approx(0.625)
    assert totals["Tỷ lệ báo cáo đúng hạn"].number_format == "0.0%"
    # 31 + 49 unions founded against 20 + 20: 200 %.
    assert totals["Thành lập CĐCS: thực hiện"].value == 80
    assert totals["Thành lập CĐCS: thực hiện"].number_format == "#,##0"
    assert totals["Thành lập CĐCS: chỉ tiêu"].value == 40
    assert totals["Thành lập CĐCS: % đạt"].value == pytest.approx(2.0)
    assert totals["Thành lập CĐCS: điểm (tối đa 84)"].value is None
    assert totals["Thỏa ước: thực hiện"].value == 5
    assert totals["Thỏa ước: cao nhất cụm"].value == 3
    assert totals["Sự kiện: thực hiện"].value == 4
    assert all(not str(v.value).startswith("=") for v in totals.values())  # values, not formulas


def test_signature_block() -> None:
    sheet = export()["Xếp hạng"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    signers = next(n for n, row in enumerate(rows) if "NGƯỜI LẬP BIỂU" in row)
    row = rows[signers]
    assert row.index("NGƯỜI LẬP BIỂU") == 1  # under the unit names
    assert "CỤM TRƯỞNG" in row and row.index("CỤM TRƯỞNG") > 2
    right = row.index("CỤM TRƯỞNG")
    assert rows[signers - 1][right] == "Ngày 05 tháng 01 năm 2026"
    assert rows[signers + 1][1] == rows[signers + 1][right] == "(Ký, ghi rõ họ tên)"
    assert signers == len(rows) - 2  # the last thing on the sheet, after the notes
    totals = header_row(sheet) + 3
    assert signers + 1 > totals + 3


def test_every_cluster_gets_its_own_standings_sheet() -> None:
    other = [
        Unit(code="tay_ho", name="LĐLĐ quận Tây Hồ"),
        Unit(code="cau_giay", name="LĐLĐ quận Cầu Giấy"),
    ]
    targets = {("tay_ho", "new_unions"): 10, ("cau_giay", "new_unions"): 10}
    second = score_cluster(other, {("tay_ho", "new_unions"): 12}, targets, SCORING)
    book = export(
        scope=FEDERATION,
        clusters=[cluster(), cluster("Cụm thi đua số 2", standings=second, rates={})],
    )
    assert book.sheetnames == ["Cụm thi đua số 1", "Cụm thi đua số 2", "Báo cáo", "Chỉ tiêu"]
    for name, units in (
        ("Cụm thi đua số 1", ["LĐLĐ quận Hoàn Kiếm", "LĐLĐ quận Long Biên"]),
        ("Cụm thi đua số 2", ["LĐLĐ quận Tây Hồ", "LĐLĐ quận Cầu Giấy"]),
    ):
        sheet = book[name]
        assert sheet["A2"].value == name.upper()
        assert sheet["A4"].value == "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA"
        top = header_row(sheet)
        assert [sheet.cell(top + 1 + n, 2).value for n in range(3)] == [*units, "Tổng cộng"]
    # No unit owed a report in cluster 2: no rate columns rather than empty ones.
    assert "Tỷ lệ báo cáo đầy đủ" not in header(book["Cụm thi đua số 2"])
    assert book.properties.title == (
        "Bảng tổng hợp kết quả thi đua — Liên đoàn Lao động Thành phố Hà Nội — Năm 2025"
    )


def test_cluster_sheet_names_are_ones_excel_accepts() -> None:
    names = ["Cụm 1/2: [Khối] thi đua các quận nội thành phía Bắc", "Cụm 1/2", "Cụm 1 2", "Báo cáo"]
    book = export(clusters=[cluster(n) for n in names])
    assert book.sheetnames[:4] == [
        "Cụm 1 2 Khối thi đua các quận n",
        "Cụm 1 2",
        "Cụm 1 2 (2)",
        "Báo cáo (2)",
    ]
    assert book.sheetnames[4:] == ["Báo cáo", "Chỉ tiêu"]


def test_status_words_read_right() -> None:
    sheet = export()["Báo cáo"]
    status = column(sheet, "Trạng thái")
    assert sheet.cell(2, status).value == "Có hiệu lực"
    assert sheet.cell(3, status).value == "Đã rút (không tính)"
    english = export(lang="en")["Reports"]
    assert english.cell(2, column(english, "Status")).value == "Counted"


def test_a_status_the_catalog_does_not_know_is_shown_as_stored() -> None:
    row = report(1)
    odd = ReportRow(replace(row.report, status="submitted"), row.unit_name, row.person_name)  # type: ignore[arg-type]
    sheet = export(reports=[odd])["Báo cáo"]
    assert sheet.cell(2, column(sheet, "Trạng thái")).value == "submitted"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_label_comes_from_the_catalog(lang: str) -> None:
    empty = export(lang=lang, clusters=[cluster(standings=None)], reports=[], targets=[])
    for book in (export(lang=lang), empty):
        texts = [
            str(c.value)
            for sheet in book.worksheets
            for row in sheet.iter_rows()
            for c in row
            if isinstance(c.value, str)
        ]
        assert not [t for t in texts if t.startswith("workbook.")]
        assert book.properties.title is not None
        assert not book.properties.title.startswith("workbook.")


def test_reports_sheet() -> None:
    sheet = export()["Báo cáo"]
    names = header(sheet)
    assert names[:6] == [
        "Số báo cáo",
        "Ngày diễn ra",
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
    assert row[names.index("Đơn vị")].value == "LĐLĐ quận Hoàn Kiếm"
    assert row[names.index("Trạng thái")].value == "Có hiệu lực"
    sent = row[names.index("Thời điểm gửi")]
    assert sent.value == dt.datetime(2025, 3, 8, 9, 30)  # Asia/Ho_Chi_Minh
    assert sent.number_format == "dd/mm/yyyy hh:mm"
    count = row[names.index("Tặng quà: Số suất quà")]
    assert count.value == 20
    assert count.number_format == "#,##0"
    assert row[names.index("Tặng quà: Giá trị mỗi suất (đồng)")].value == 500_000
    assert row[names.index("Tặng quà: Dịp tặng quà")].value == "8/3"

    retracted = sheet[3]
    assert retracted[names.index("Trạng thái")].value == "Đã rút (không tính)"


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
    book = export(clusters=[cluster(standings=None)], reports=[], targets=[])
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    first = book.worksheets[0]
    assert first["A4"].value == "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA"
    assert first["A8"].value == "Chưa có báo cáo nào trong kỳ này"
    assert book["Báo cáo"]["A2"].value == "Chưa có báo cáo nào trong kỳ này"
    assert book["Chỉ tiêu"]["A2"].value == "Chưa có chỉ tiêu nào cho kỳ này"


def test_reports_without_standings_say_there_is_no_ranking() -> None:
    book = export(clusters=[cluster(standings=None)])
    assert book["Xếp hạng"]["A8"].value == "Không có xếp hạng cho kỳ này"
    assert book["Báo cáo"].max_row == 3


def test_a_year_without_clusters_says_so() -> None:
    book = export(clusters=[])
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    assert book["Xếp hạng"]["A8"].value == "Không có cụm thi đua nào trong kỳ này"


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
    sheet = book["Standings"]
    assert header(sheet)[:4] == ["Rank", "Unit", "Score", "Rating"]
    assert sheet["A4"].value == "EMULATION RESULTS SUMMARY"
    assert sheet["A6"].value == "(Provisional figures as of 05/01/2026)"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any(row[1] == "PREPARED BY" and "CLUSTER HEAD" in row for row in rows)
    assert any(row[1] == "Total" for row in rows)
    assert book["Reports"].cell(3, 6).value == "Retracted (not counted)"


def test_same_input_same_bytes_and_no_clock() -> None:
    args: dict[str, object] = {
        "translate": CATALOG,
        "federation": FEDERATION,
        "scope": "Cụm 1",
        "period_label": "Năm 2025",
        "clusters": [cluster()],
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


def test_a_unit_with_nothing_due_yet_reads_not_yet_due() -> None:
    sheet = export(clusters=[cluster(rates={"hoan_kiem": Tally(), "long_bien": Tally()})])[
        "Xếp hạng"
    ]
    names = header(sheet)
    top = header_row(sheet)
    for n in (top + 1, top + 2, top + 3):  # both units and the totals row
        row = {names[i]: c.value for i, c in enumerate(sheet[n])}
        assert row["Tỷ lệ báo cáo đầy đủ"] == row["Tỷ lệ báo cáo đúng hạn"] == "chưa đến hạn"
