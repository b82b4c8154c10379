"""`thidua export` and /export: the workbook a clerk files, for one cluster or every cluster.

The CLI runs in-process through `bot.cli.main` on a database seeded through the
real dispatcher; the chat export goes through the dispatcher too. Both are
read back with openpyxl.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from bot.cli import main
from bot.config import load_config
from domain.models import Role
from domain.numbers import format_percent
from storage import targets
from tests.harness import EXAMPLE, FakeClock, Harness, founded

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START = dt.datetime(2025, 12, 20, 9, 0, tzinfo=VN)
FEDERATION = "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HÀ NỘI"
FOUNDED = "Thành lập CĐCS: thực hiện"


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`main` configures logging for the process (levels of httpx and others, root
    handlers); put it back so later tests that read those logs are not affected."""
    manager = logging.Logger.manager
    levels = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level, root_handlers = logging.root.level, list(logging.root.handlers)
    yield
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
    logging.root.setLevel(root_level)
    logging.root.handlers[:] = root_handlers


def config_file(tmp_path: Path) -> Path:
    """The sample configuration on the database the harness uses."""
    path = tmp_path / "c.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert 'database = "thidua.sqlite3"' in text
    path.write_text(
        text.replace('database = "thidua.sqlite3"', f'database = "{tmp_path / "test.sqlite3"}"'),
        encoding="utf-8",
    )
    return path


async def harness(tmp_path: Path) -> Harness:
    h = await Harness.create(tmp_path, FakeClock(START), load_config(config_file(tmp_path)))
    async with h.db.transaction() as tx:
        await targets.sync_from_config(tx, [t.target() for t in h.config.targets], h.clock.now())
    return h


async def seed(h: Harness) -> None:
    """Cluster 1: Long Biên 49, Hoàn Kiếm 31 unions founded; cluster 2: Tây Hồ 12."""
    await founded(await h.person(1, "long_bien"), 49)
    await founded(await h.person(2, "hoan_kiem"), 31)
    await founded(await h.person(3, "tay_ho"), 12)


def header_row(sheet: Worksheet) -> int:
    return next(n for n in range(1, 20) if sheet.cell(n, 2).value is not None)


def units_and_totals(sheet: Worksheet) -> tuple[list[str], dict[str, object]]:
    """The unit names in rank order, and the totals row by column header."""
    top = header_row(sheet)
    names = [c.value for c in sheet[top]]
    units: list[str] = []
    for n in range(top + 1, sheet.max_row + 1):
        name = sheet.cell(n, 2).value
        if name == "Tổng cộng":
            return units, {str(names[i]): c.value for i, c in enumerate(sheet[n])}
        units.append(str(name))
    raise AssertionError("no totals row")


def assert_filed(sheet: Worksheet, cluster: str) -> None:
    """The heading, frozen name columns and signature block a clerk files."""
    assert sheet["A1"].value == FEDERATION
    assert sheet["A2"].value == cluster.upper()
    assert sheet["A4"].value == "BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA"
    assert sheet["A5"].value == "Cả năm 2025"
    assert re.fullmatch(r"\(Số liệu tạm tính đến ngày \d\d/\d\d/\d{4}\)", str(sheet["A6"].value))
    assert sheet.freeze_panes == f"C{header_row(sheet) + 1}"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any(row[1] == "NGƯỜI LẬP BIỂU" and "CỤM TRƯỞNG" in row for row in rows)
    values = {v for row in rows for v in row}
    assert not values & {"long_bien", "hoan_kiem", "tay_ho"}  # names, never codes


def test_cli_export_without_cluster_holds_every_clusters_standings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        h = await harness(tmp_path)
        await seed(h)
        await h.close()

    asyncio.run(prepare())
    out = tmp_path / "all.xlsx"
    code = main(
        ["export", "--period", "2025", "--out", str(out), "--config", str(tmp_path / "c.toml")]
    )
    assert code == 0, capsys.readouterr().err
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames == ["Cụm thi đua số 1", "Cụm thi đua số 2", "Báo cáo", "Chỉ tiêu"]
    assert book.properties.title == (
        "Bảng tổng hợp kết quả thi đua — Liên đoàn Lao động Thành phố Hà Nội — Cả năm 2025"
    )

    first = book["Cụm thi đua số 1"]
    assert_filed(first, "Cụm thi đua số 1")
    units, totals = units_and_totals(first)
    assert set(units[:2]) == {"LĐLĐ quận Long Biên", "LĐLĐ quận Hoàn Kiếm"}
    assert len(units) == 6 and "LĐLĐ quận Tây Hồ" not in units
    assert totals[FOUNDED] == 80

    second = book["Cụm thi đua số 2"]
    assert_filed(second, "Cụm thi đua số 2")
    units, totals = units_and_totals(second)
    assert units[0] == "LĐLĐ quận Tây Hồ"
    assert "LĐLĐ quận Long Biên" not in units
    assert totals[FOUNDED] == 12

    reports = book["Báo cáo"]
    assert reports.max_row == 4  # the three reports of both clusters


def test_cli_export_of_a_period_without_data_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        h = await harness(tmp_path)
        await seed(h)  # reports in 2025 only
        await h.close()

    asyncio.run(prepare())
    config = str(tmp_path / "c.toml")
    for args in (["--period", "2024"], ["--period", "2024", "--cluster", "cum2"]):
        out = tmp_path / "empty.xlsx"
        code = main(["export", *args, "--out", str(out), "--config", config])
        err = capsys.readouterr().err
        assert code == 1
        assert "Không có số liệu thi đua" in err and "cả năm 2024" in err
        assert "chưa có báo cáo nào" in err
        assert not out.exists()


def test_cli_export_of_one_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def prepare() -> None:
        h = await harness(tmp_path)
        await seed(h)
        await h.close()

    asyncio.run(prepare())
    out = tmp_path / "cum2.xlsx"
    config = str(tmp_path / "c.toml")
    code = main(
        ["export", "--period", "2025", "--cluster", "cum2", "--out", str(out), "--config", config]
    )
    assert code == 0, capsys.readouterr().err
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    assert_filed(book["Xếp hạng"], "Cụm thi đua số 2")
    assert book["Báo cáo"].max_row == 2  # Tây Hồ's report only


async def test_chat_export_is_the_same_workbook_and_its_rates_agree_with_standings(
    tmp_path: Path,
) -> None:
    h = await harness(tmp_path)
    try:
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)
        empty = await head.send("/export 2025")
        assert len(empty) == 1 and empty[0].reply.attachment is None
        assert "Không có số liệu thi đua của Cụm thi đua số 1 trong cả năm 2025" in empty[0].text

        await seed(h)
        exported = await head.send("/export 2025")
        document = exported[-1].reply.attachment
        assert document is not None and document.filename == "thidua-cum1-2025.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(document.data_b64)))
        assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
        sheet = book["Xếp hạng"]
        assert_filed(sheet, "Cụm thi đua số 1")
        assert sheet["A6"].value == "(Số liệu tạm tính đến ngày 20/12/2025)"
        units, totals = units_and_totals(sheet)
        assert set(units[:2]) == {"LĐLĐ quận Long Biên", "LĐLĐ quận Hoàn Kiếm"}
        assert totals[FOUNDED] == 80

        # The rate column is the figure /standings shows for each unit (📥).
        standings = (await head.send("/standings 2025"))[0].text.splitlines()
        top = header_row(sheet)
        names = [c.value for c in sheet[top]]
        complete = names.index("Tỷ lệ báo cáo đầy đủ")
        for n in range(top + 1, top + 1 + len(units)):
            row = [c.value for c in sheet[n]]
            rate = row[complete]
            shown = (
                f"📥 {rate}"
                if isinstance(rate, str)
                else f"📥 {format_percent(float(rate or 0), 'vi')}"
            )
            start = next(
                i
                for i, line in enumerate(standings)
                if re.match(r"=?\d+\. ", line) and str(row[1]) in line
            )
            end = start + 1
            while end < len(standings) and standings[end].startswith("   "):
                end += 1
            entry = " ".join(standings[start:end])
            assert shown in entry, (row[1], entry)
    finally:
        await h.close()


async def test_exported_reports_count_their_evidence_photos(tmp_path: Path) -> None:
    h = await harness(tmp_path)
    try:
        officer = await h.person(1, "long_bien")
        await officer.send("/report")
        await officer.press("Tặng quà")
        for answer in ("20", "bỏ qua", "bỏ qua", "Tết", "hôm nay"):
            await officer.send(answer)
        await officer.photo(1)
        await officer.photo(2)
        await officer.press("Xong")
        await officer.press("Lưu")
        await founded(await h.person(2, "hoan_kiem"), 31)
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)
        document = (await head.send("/export 2025"))[-1].reply.attachment
        assert document is not None
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(document.data_b64)))
        sheet = book["Báo cáo"]
        names = [c.value for c in sheet[1]]
        photos = names.index("Số ảnh")
        by_unit = {row[2]: row[photos] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert by_unit == {"LĐLĐ quận Long Biên": 2, "LĐLĐ quận Hoàn Kiếm": None}
    finally:
        await h.close()


def test_cli_export_in_english_takes_every_label_from_the_english_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        h = await harness(tmp_path)
        await seed(h)
        await h.close()

    asyncio.run(prepare())
    out = tmp_path / "en.xlsx"
    config = str(tmp_path / "c.toml")
    args = ["export", "--period", "2025", "--out", str(out), "--config", config, "--lang", "en"]
    assert main(args) == 0, capsys.readouterr().err
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames == ["Cụm thi đua số 1", "Cụm thi đua số 2", "Reports", "Targets"]
    sheet = book["Cụm thi đua số 1"]
    assert sheet["A4"].value == "EMULATION RESULTS SUMMARY"
    assert re.fullmatch(r"\(Provisional figures as of \d\d/\d\d/\d{4}\)", str(sheet["A6"].value))
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any(row[1] == "Total" for row in rows)
    assert any(row[1] == "PREPARED BY" and "CLUSTER HEAD" in row for row in rows)
    texts = [v for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row]
    assert not [v for v in texts if isinstance(v, str) and v.startswith("workbook.")]


async def test_early_in_the_year_the_rate_reads_not_yet_due_as_in_standings(tmp_path: Path) -> None:
    h = await Harness.create(
        tmp_path,
        FakeClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=VN)),
        load_config(config_file(tmp_path)),
    )
    try:
        officer = await h.person(1, "long_bien")
        await officer.send("thành lập 2 công đoàn cơ sở ngày 2/1")
        await officer.press("Lưu")
        head = await h.person(9, "hoan_kiem", Role.CLUSTER_HEAD)
        document = (await head.send("/export 2026"))[-1].reply.attachment
        assert document is not None
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(document.data_b64)))["Xếp hạng"]
        units, totals = units_and_totals(sheet)
        top = header_row(sheet)
        names = [c.value for c in sheet[top]]
        complete = names.index("Tỷ lệ báo cáo đầy đủ")
        on_time = names.index("Tỷ lệ báo cáo đúng hạn")
        # January's report is not due before February: nothing owed is not 0 %, nor 100 %.
        for n in range(top + 1, top + 1 + len(units)):
            assert sheet.cell(n, complete + 1).value == "chưa đến hạn"
            assert sheet.cell(n, on_time + 1).value == "chưa đến hạn"
        assert totals["Tỷ lệ báo cáo đầy đủ"] == "chưa đến hạn"
        assert "📥 chưa đến hạn" in (await head.send("/standings"))[0].text
    finally:
        await h.close()
