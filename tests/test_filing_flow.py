"""From reports to a finalised, exported, filed result: /finalize, then /export sends the
workbook and the two .docx a cluster files; `thidua export` writes them beside the workbook.

Read back with python-docx: the national heading, the ranking as finalised (a report
sent afterwards changes nothing in them), the signatures; in Vietnamese and English.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import docx
import pytest
from docx.document import Document

from bot.cli import main
from domain.models import Role
from tests.harness import Harness, User, founded
from tests.test_export import _logging_restored, harness, seed

__all__ = ["_logging_restored"]  # the fixture test_export uses for `main`, used here too


def read(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def cells(table: object) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows]  # type: ignore[attr-defined]


def heading(doc: Document) -> list[str]:
    left, right = doc.tables[0].rows[0].cells
    return [p.text for cell in (left, right) for p in cell.paragraphs if p.text]


async def finalised(head: User, lang: str = "vi") -> None:
    preview = await head.send("/finalize 2025")
    assert "Cụm thi đua số 1" in preview[0].text
    assert await head.press(head.h.catalog(lang, "btn.finalize"))


async def test_finalised_export_sends_the_documents_to_file(tmp_path: Path) -> None:
    h = await harness(tmp_path)
    try:
        await seed(h)
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)
        provisional = await head.send("/export 2025")
        names = [r.reply.attachment.filename for r in provisional if r.reply.attachment]
        assert names == ["thidua-cum1-2025.xlsx"]  # not finalised: nothing to file yet

        await finalised(head)
        await founded(await h.person(4, "ba_dinh"), 30)  # after finalising: documents stay
        replies = await head.send("/export 2025")
        files = {
            r.reply.attachment.filename: base64.b64decode(r.reply.attachment.data_b64)
            for r in replies
            if r.reply.attachment
        }
        assert list(files) == [
            "thidua-cum1-2025.xlsx",
            "thidua-cum1-2025-bang-tong-hop.docx",
            "thidua-cum1-2025-bien-ban.docx",
        ]
        summary = read(files["thidua-cum1-2025-bang-tong-hop.docx"])
        assert heading(summary) == [
            "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HÀ NỘI",
            "CỤM THI ĐUA SỐ 1",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Hà Nội, ngày 20 tháng 12 năm 2025",
        ]
        body = [p.text for p in summary.paragraphs]
        assert "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA" in body
        assert "Cụm thi đua số 1 — Cả năm 2025" in body
        assert "(Số liệu đã chốt ngày 20/12/2025)" in body
        table = cells(summary.tables[1])
        assert table[0][:2] == ["Hạng", "Đơn vị"] and table[0][-2:] == ["Tổng điểm", "Xếp loại"]
        assert [row[:2] for row in table[1:3]] == [
            ["1 (đồng hạng)", "LĐLĐ quận Hoàn Kiếm"],  # both over 120 %: capped alike
            ["1 (đồng hạng)", "LĐLĐ quận Long Biên"],
        ]
        assert len(table) == 7  # the six units of the cluster
        ba_dinh = next(row for row in table if row[1] == "LĐLĐ quận Ba Đình")
        assert ba_dinh[0] == "3 (đồng hạng)" and ba_dinh[-2] == "0,0"  # as finalised
        assert cells(summary.tables[2])[0] == [
            "NGƯỜI LẬP BIỂU\n(Ký, ghi rõ họ tên)",
            "CỤM TRƯỞNG\n(Ký, ghi rõ họ tên)",
        ]
        minutes = read(files["thidua-cum1-2025-bien-ban.docx"])
        text = [p.text for p in minutes.paragraphs]
        assert "BIÊN BẢN" in text and "Họp bình xét thi đua Cả năm 2025" in text
        assert "1. Chủ trì: …………………… – Cụm trưởng, LĐLĐ quận Đống Đa" in text
        assert "- LĐLĐ quận Hoàn Kiếm: ……………………" in text
        assert [row[:2] for row in cells(minutes.tables[1])[1:3]] == [
            ["1 (đồng hạng)", "LĐLĐ quận Hoàn Kiếm"],
            ["1 (đồng hạng)", "LĐLĐ quận Long Biên"],
        ]
        leaders = next(t for t in text if t.startswith("- Đơn vị dẫn đầu cụm: "))
        assert "LĐLĐ quận Hoàn Kiếm (" in leaders and "; LĐLĐ quận Long Biên (" in leaders
        assert cells(minutes.tables[2])[0] == [
            "THƯ KÝ\n(Ký, ghi rõ họ tên)",
            "CHỦ TRÌ\n(Ký, ghi rõ họ tên)",
        ]
    finally:
        await h.close()


async def test_documents_in_english(tmp_path: Path) -> None:
    h = await harness(tmp_path)
    try:
        await seed(h)
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)
        await head.send("/lang en")
        await finalised(head, "en")
        replies = await head.send("/export 2025")
        documents = [r.reply.attachment for r in replies if r.reply.attachment]
        assert len(documents) == 3
        summary = read(base64.b64decode(documents[1].data_b64))
        assert heading(summary)[2:] == [
            "SOCIALIST REPUBLIC OF VIET NAM",
            "Independence - Freedom - Happiness",
            "Hà Nội, 20/12/2025",
        ]
        assert "(Figures finalised on 20/12/2025)" in [p.text for p in summary.paragraphs]
        assert cells(summary.tables[1])[1][:2] == ["1 (tied)", "LĐLĐ quận Hoàn Kiếm"]
        minutes = read(base64.b64decode(documents[2].data_b64))
        assert "MINUTES" in [p.text for p in minutes.paragraphs]
        assert cells(minutes.tables[2])[0] == [
            "SECRETARY\n(Signature and full name)",
            "CHAIR\n(Signature and full name)",
        ]
    finally:
        await h.close()


def test_cli_writes_the_documents_beside_the_workbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        h: Harness = await harness(tmp_path)
        await seed(h)
        await h.close()

    asyncio.run(prepare())
    config = ["--config", str(tmp_path / "c.toml")]
    assert main(["finalize", "--period", "2025", "--cluster", "cum2", "--yes", *config]) == 0
    out = tmp_path / "out" / "thidua.xlsx"
    out.parent.mkdir()
    assert main(["export", "--period", "2025", "--out", str(out), *config]) == 0
    printed = capsys.readouterr().out
    written = sorted(p.name for p in out.parent.iterdir())
    # Every cluster's workbook; documents for the one finalised cluster only.
    assert written == [
        "thidua-cum2-2025-bang-tong-hop.docx",
        "thidua-cum2-2025-bien-ban.docx",
        "thidua.xlsx",
    ]
    assert str(out.parent / "thidua-cum2-2025-bien-ban.docx") in printed
    summary = read((out.parent / "thidua-cum2-2025-bang-tong-hop.docx").read_bytes())
    assert heading(summary)[1] == "CỤM THI ĐUA SỐ 2"
    assert cells(summary.tables[1])[1][:2] == ["1", "LĐLĐ quận Tây Hồ"]
