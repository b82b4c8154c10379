"""The reports table's keyset paging (storage/report_list.py): page after page, in both
orders, the rows are those of one ordered read, none twice, none missing; the cursor's day
bounds the index range (a page deep in the list reads what the first does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from storage import report_list
from storage.db import Database
from tests.harness import FakeClock, Harness, User

pytestmark = pytest.mark.both_backends


START, END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)


@pytest.fixture
async def h(tmp_path, database) -> AsyncIterator[Harness]:
    harness = await Harness.create(tmp_path, FakeClock(), database=database)
    yield harness
    await harness.close()


async def _reported(user: User, day: dt.date, unions: int) -> None:
    await user.send(f"thành lập {unions} công đoàn cơ sở ngày {day:%d/%m/%Y}")
    await user.press("Lưu")


async def _all_pages(db: Database, newest_first: bool, per: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        filters = report_list.Filters(None, START, END, newest_first=newest_first, after=after)
        async with db.transaction() as tx:
            rows = await report_list.page(tx, filters, per)
        seen += [r.id for r in rows]
        if len(rows) < per:
            return seen
        after = (rows[-1].occurred_on, rows[-1].id)


async def test_every_row_once_in_order_page_after_page(h: Harness) -> None:
    user = await h.person(1, "ba_dinh")
    days = [dt.date(2026, 1, 5), dt.date(2026, 2, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    for n, day in enumerate(days * 2, start=1):  # several reports on one day: ids break ties
        await _reported(user, day, n)
    async with h.db.transaction() as tx:
        whole = await report_list.page(tx, report_list.Filters(None, START, END), 100)
    newest = [r.id for r in whole]
    assert len(newest) == 8
    assert [(r.occurred_on, r.id) for r in whole] == sorted(
        ((r.occurred_on, r.id) for r in whole), reverse=True
    )
    for per in (1, 2, 3):
        assert await _all_pages(h.db, True, per) == newest
        assert await _all_pages(h.db, False, per) == newest[::-1]
