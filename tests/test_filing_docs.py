"""The documents a cluster files (.docx), read back with python-docx: heading, table, signatures."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import replace

import docx
import pytest
from docx.document import Document
from docx.enum.section import WD_ORIENT

from bot.i18n import Catalog
from documents.filing import Filing, minutes_docx, summary_docx
from domain.models import LocalText, Unit
from domain.scoring import CriterionDef, Method, PenaltyRule, ScoringDef, Standings, score_cluster

CATALOG = Catalog()
UNITS = [
    Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm"),
    Unit(code="long_bien", name="LĐLĐ quận Long Biên"),
    Unit(code="ba_dinh", name="LĐLĐ quận Ba Đình"),
]
SCORING = ScoringDef(
    criteria=(
        CriterionDef(
            code="new_unions",
            label=LocalText(vi="Thành lập CĐCS", en="Grassroots unions founded"),
            short_label=LocalText(vi="CĐCS mới", en="New unions"),
            measure="new_unions",
            weight=80,
            cap=1.2,
        ),
        CriterionDef(
            code="cba",
            label=LocalText(vi="Thỏa ước", en="Agreements"),
            measure="cba",
            weight=20,
            method=Method.LEADER,
        ),
    ),
    adjustments=(PenaltyRule(code="late", label=LocalText(vi="Nộp muộn"), points=-1),),
)
GENERATED = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC)


def standings() -> Standings:
    totals = {
        ("hoan_kiem", "new_unions"): 24,
        ("long_bien", "new_unions"): 20,
        ("ba_dinh", "new_unions"): 12,
        ("hoan_kiem", "cba"): 3,
        ("long_bien", "cba"): 3,
        ("ba_dinh", "cba"): 1,
    }
    targets = {(u.code, "new_unions"): 20.0 for u in UNITS}
    return score_cluster(UNITS, totals, targets, SCORING, {"long_bien": -2.0})


def filing(lang: str = "vi", **kw: object) -> Filing:
    made = Filing.of_standings(
        standings(),
        federation="Liên đoàn Lao động Thành phố Hà Nội",
        cluster="Cụm thi đua số 1",
        period_label="Năm 2025" if lang == "vi" else "Year 2025",
        place="Hà Nội",
        day=dt.date(2026, 1, 5),
        lang=lang,
        finalised_on=dt.date(2026, 1, 4),
        head_unit="LĐLĐ quận Ba Đình",
        generated_at=GENERATED,
    )
    return replace(made, **kw)  # type: ignore[arg-type]


def read(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def texts(doc: Document) -> list[str]:
    return [p.text for p in doc.paragraphs]


def heading(doc: Document) -> tuple[list[str], list[str]]:
    left, right = doc.tables[0].rows[0].cells
    return [p.text for p in left.paragraphs if p.text], [p.text for p in right.paragraphs if p.text]


def rows(table: object) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows]  # type: ignore[attr-defined]


def test_summary_in_vietnamese() -> None:
    doc = read(summary_docx(filing(), CATALOG))
    left, right = heading(doc)
    assert left == ["LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HÀ NỘI", "CỤM THI ĐUA SỐ 1"]
    assert right == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 05 tháng 01 năm 2026",
    ]
    # The agency's name in bold, the motto bold and underlined, the date in italics.
    cluster_run = doc.tables[0].rows[0].cells[0].paragraphs[1].runs[0]
    assert cluster_run.bold
    motto = doc.tables[0].rows[0].cells[1].paragraphs[1].runs[0]
    assert motto.bold and motto.underline
    assert doc.tables[0].rows[0].cells[1].paragraphs[-1].runs[0].italic
    body = texts(doc)
    assert "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA" in body
    assert "Cụm thi đua số 1 — Năm 2025" in body
    assert "(Số liệu đã chốt ngày 04/01/2026)" in body
    table = rows(doc.tables[1])
    assert table[0] == [
        "Hạng",
        "Đơn vị",
        "CĐCS mới (tối đa 96,0)",
        "Thỏa ước (tối đa 20,0)",
        "Điểm thưởng/trừ",
        "Tổng điểm",
        "Xếp loại",
    ]
    assert table[1] == ["1", "LĐLĐ quận Hoàn Kiếm", "96,0", "20,0", "", "116,0", "xuất sắc"]
    assert table[2] == ["2", "LĐLĐ quận Long Biên", "80,0", "20,0", "−2,0", "98,0", "xuất sắc"]
    assert table[3][:2] == ["3", "LĐLĐ quận Ba Đình"]
    assert any("chỉ để tham khảo" in t for t in body)
    signatures = rows(doc.tables[2])[0]
    assert signatures == ["NGƯỜI LẬP BIỂU\n(Ký, ghi rõ họ tên)", "CỤM TRƯỞNG\n(Ký, ghi rõ họ tên)"]


def test_summary_page_is_a4_landscape_in_times_new_roman() -> None:
    doc = read(summary_docx(filing(), CATALOG))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (29.7, 21.0)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(m.cm, 2) for m in margins] == [2.0, 2.0, 3.0, 1.5]  # stored in twips
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert doc.core_properties.author == "thidua"


def test_minutes_in_vietnamese() -> None:
    doc = read(minutes_docx(filing(), CATALOG))
    assert doc.sections[0].orientation == WD_ORIENT.PORTRAIT
    left, right = heading(doc)
    assert left == ["LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HÀ NỘI", "CỤM THI ĐUA SỐ 1", "Số: ……/BB-CTĐ"]
    assert right[-1] == "Hà Nội, ngày 05 tháng 01 năm 2026"
    body = texts(doc)
    assert "BIÊN BẢN" in body
    assert "Họp bình xét thi đua Năm 2025" in body
    assert "I. THÀNH PHẦN THAM DỰ" in body
    assert "1. Chủ trì: …………………… – Cụm trưởng, LĐLĐ quận Ba Đình" in body
    assert "- LĐLĐ quận Ba Đình: ……………………" in body
    table = rows(doc.tables[1])
    assert table[0] == ["Hạng", "Đơn vị", "Tổng điểm", "Xếp loại", "Số phiếu đồng ý"]
    assert [r[:2] for r in table[1:]] == [
        ["1", "LĐLĐ quận Hoàn Kiếm"],
        ["2", "LĐLĐ quận Long Biên"],
        ["3", "LĐLĐ quận Ba Đình"],
    ]
    assert table[1][4] == ""  # the votes are written in at the meeting
    assert "III. KẾT QUẢ BÌNH XÉT VÀ ĐỀ NGHỊ KHEN THƯỞNG" in body
    assert "- Đơn vị dẫn đầu cụm: LĐLĐ quận Hoàn Kiếm (116,0 điểm, xuất sắc)." in body
    assert "- Đơn vị đạt loại xuất sắc: LĐLĐ quận Long Biên (98,0 điểm, xuất sắc)." in body
    assert any("(Số liệu đã chốt ngày 04/01/2026)" in t for t in body)
    assert rows(doc.tables[2])[0] == [
        "THƯ KÝ\n(Ký, ghi rõ họ tên)",
        "CHỦ TRÌ\n(Ký, ghi rõ họ tên)",
    ]


def test_in_english() -> None:
    summary = read(summary_docx(filing("en"), CATALOG))
    left, right = heading(summary)
    assert left[1] == "CỤM THI ĐUA SỐ 1"  # names stay as the federation wrote them
    assert right == [
        "SOCIALIST REPUBLIC OF VIET NAM",
        "Independence - Freedom - Happiness",
        "Hà Nội, 05/01/2026",
    ]
    table = rows(summary.tables[1])
    assert table[0][2] == "New unions (max 96.0)"
    assert table[1][-2:] == ["116.0", "excellent"]
    assert rows(summary.tables[2])[0][1] == "CLUSTER HEAD\n(Signature and full name)"
    minutes = read(minutes_docx(filing("en"), CATALOG))
    body = texts(minutes)
    assert "MINUTES" in body
    assert "- The cluster's leading unit: LĐLĐ quận Hoàn Kiếm (116.0 points, excellent)." in body
    assert rows(minutes.tables[2])[0][1] == "CHAIR\n(Signature and full name)"


def test_provisional_ties_and_no_excellent() -> None:
    tied = score_cluster(
        UNITS[:2],
        {("hoan_kiem", "new_unions"): 10, ("long_bien", "new_unions"): 10},
        {(u.code, "new_unions"): 20.0 for u in UNITS},
        SCORING,
    )
    made = Filing.of_standings(
        tied,
        federation="LĐLĐ",
        cluster="Cụm 2",
        period_label="6 tháng đầu năm 2025",
        place="",
        day=dt.date(2025, 3, 9),
    )
    doc = read(summary_docx(made, CATALOG))
    _, right = heading(doc)
    assert right[-1] == "……………………, ngày 09 tháng 3 năm 2025"  # no place configured: dots
    assert "(Số liệu tạm tính đến ngày 09/03/2025, chưa chốt)" in texts(doc)
    table = rows(doc.tables[1])
    assert [r[0] for r in table[1:]] == ["1 (đồng hạng)", "1 (đồng hạng)"]
    assert "Điểm thưởng/trừ" not in table[0]  # nobody has any
    minutes = texts(read(minutes_docx(made, CATALOG)))
    assert "- Đơn vị đạt loại xuất sắc: không có." in minutes


def test_same_filing_same_bytes() -> None:
    first = summary_docx(filing(), CATALOG)
    assert first == summary_docx(filing(), CATALOG)
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {e.date_time for e in archive.infolist()} == {(2026, 1, 5, 3, 0, 0)}


@pytest.mark.parametrize("make", [summary_docx, minutes_docx])
def test_no_ranking(make: object) -> None:
    empty = replace(filing(), units=(), criteria=())
    doc = read(make(empty, CATALOG))  # type: ignore[operator]
    assert "Không có xếp hạng cho kỳ này." in texts(doc)
