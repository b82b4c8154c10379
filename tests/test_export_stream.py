"""Exports with the database free: the chat file is made after the commit, `thidua export`
streams its reports from a read-only snapshot; the same workbook either way."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import openpyxl
import pytest

import documents.workbook as workbook_module
from bot.i18n import Catalog
from domain.messages import InboundKind
from domain.models import Role
from runtime import workers
from storage import exports as rows
from tests.harness import Harness, founded
from tests.test_export import harness, seed
from usecases import exports
from usecases.access import OPERATOR

CATALOG = Catalog()


async def gathered(h: Harness, *, hold: bool, lang: str = "vi") -> exports.ExportData:
    from domain.periods import Period, PeriodKind

    async with h.db.transaction() as tx:
        return await exports.gather(
            tx,
            OPERATOR,
            h.dispatcher.settings,
            CATALOG,
            lang,
            None,
            Period(PeriodKind.YEAR, 2025, 1),
            h.clock.now(),
            hold_reports=hold,
        )


async def test_nobody_waits_while_the_workbook_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While /export's file is being made (held here until the test lets it go), another
    officer is answered and a report is saved: the database is free. Then the file
    follows the caption in the cluster head's chat."""
    h = await harness(tmp_path)
    try:
        await seed(h)
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)
        other = await h.person(4, "long_bien")
        making, release = asyncio.Event(), asyncio.Event()
        real = workers.draw

        async def held(fn, *args):  # the real work, started when the test says
            making.set()
            await release.wait()
            return await real(fn, *args)

        monkeypatch.setattr(workers, "draw", held)
        asking = head.inbound(
            InboundKind.COMMAND, text="/export 2025", command="export", args="2025"
        )
        export = asyncio.create_task(h.ingress.submit(asking))
        await asyncio.wait_for(making.wait(), 30)
        help_ = await asyncio.wait_for(other.send("/help"), 30)
        assert "/report" in help_[0].text
        await asyncio.wait_for(founded(other, 3), 30)  # a write commits meanwhile
        assert not export.done()
        release.set()
        await export
        await h.collect()
        sent = [s for s in h.delivered if s.chat_id == head.chat_id]
        caption = next(n for n, s in enumerate(sent) if "📎" in s.text)
        document = next(n for n, s in enumerate(sent) if s.reply.attachment is not None)
        assert caption < document
        attachment = sent[document].reply.attachment
        assert attachment is not None and attachment.filename == "thidua-cum1-2025.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(attachment.data_b64)))
        assert book.sheetnames == ["Xếp hạng", "Báo cáo", "Chỉ tiêu"]
    finally:
        await h.close()


async def test_a_workbook_that_cannot_be_made_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await harness(tmp_path)
    try:
        await seed(h)
        head = await h.person(9, "dong_da", Role.CLUSTER_HEAD)

        async def broken(fn, *args):
            raise OSError("disk full")

        monkeypatch.setattr(workers, "draw", broken)
        sent = await head.send("/export 2025")
        assert "📎" in sent[0].text
        assert sent[-1].reply.attachment is None
        assert sent[-1].text == CATALOG("vi", "export.failed")
    finally:
        await h.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_streamed_and_held_exports_are_the_same_bytes(tmp_path: Path, lang: str) -> None:
    """The snapshot's shape query (SQL over the stored values) decides the columns exactly
    as the rows held in memory do, including values no column shows."""
    h = await harness(tmp_path)
    try:
        await seed(h)
        async with h.db.transaction() as tx:  # a report of an indicator no longer configured
            await tx.execute(
                "UPDATE reports SET values_json = ? WHERE id = 1",
                (json.dumps({"unions": 49, "date": "2025-01-02", "old": "x"}),),
            )
        held = await gathered(h, hold=True, lang=lang)
        streamed = await gathered(h, hold=False, lang=lang)
        assert held.reports is not None and streamed.reports is None
        out = tmp_path / "streamed.xlsx"
        await asyncio.to_thread(exports.write_from_snapshot, streamed, CATALOG, h.db.path, out)
        assert out.read_bytes() == exports.render(held, CATALOG)
        sheet = openpyxl.load_workbook(out)["Báo cáo" if lang == "vi" else "Reports"]
        header = [c.value for c in sheet[1]]
        other = header.index("Giá trị khác" if lang == "vi" else "Other values")
        assert next(sheet.iter_rows(min_row=2, values_only=True))[other] is not None
        left = await asyncio.to_thread(lambda: list(tmp_path.glob(".streamed.xlsx.*")))
        assert not left  # no partial file left
    finally:
        await h.close()


async def test_past_the_row_limit_the_reports_go_on_another_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook_module, "_MAX_DATA_ROWS", 2)
    h = await harness(tmp_path)
    try:
        await seed(h)
        await founded(await h.person(5, "long_bien"), 1)
        await founded(await h.person(6, "hoan_kiem"), 2)
        data = await gathered(h, hold=False)
        out = tmp_path / "all.xlsx"
        await asyncio.to_thread(exports.write_from_snapshot, data, CATALOG, h.db.path, out)
        book = openpyxl.load_workbook(out)
        reports = [n for n in book.sheetnames if n.startswith("Báo cáo")]
        assert reports == ["Báo cáo", "Báo cáo (2)", "Báo cáo (3)"]
        numbers = [r[0] for n in reports for r in book[n].iter_rows(min_row=2, values_only=True)]
        assert numbers == [1, 2, 3, 4, 5]  # every report once, in order
        assert [book[n].max_row for n in reports] == [3, 3, 2]
        assert book[reports[1]]["A1"].value == "Số báo cáo"  # each sheet has its header
    finally:
        await h.close()


async def test_the_snapshot_reads_without_holding_writers_up(tmp_path: Path) -> None:
    """A long read (the federation's export) does not block the bot: a write commits while
    the snapshot is half read, and the snapshot keeps seeing the database as it was."""
    h = await harness(tmp_path)
    try:
        await seed(h)
        codes = list(h.dispatcher.settings.units)
        from domain.periods import Period, PeriodKind

        year = Period(PeriodKind.YEAR, 2025, 1)
        with rows.Snapshot(h.db.path) as snapshot:
            lines = snapshot.lines(codes, year.start, year.end)
            first = next(lines)
            await asyncio.wait_for(founded(await h.person(5, "tay_ho"), 7), 30)
            rest = list(lines)
            assert [first.id, *(line.id for line in rest)] == [1, 2, 3]
            assert snapshot.count(codes, year.start, year.end) == 3
        async with h.db.transaction() as tx:
            assert await rows.count(tx, codes, year.start, year.end) == 4
        assert first.unit_name == "LĐLĐ quận Long Biên" and first.person_name == "Người 1"
    finally:
        await h.close()
