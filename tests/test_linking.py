"""One person, two messengers: /link codes and the preferred channel for reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from storage import people
from tests.harness import FakeClock, Harness

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_link_a_second_messenger_and_choose_where_reminders_go(tmp_path, database) -> None:
    h = await Harness.create(
        tmp_path, FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN)), database=database
    )
    try:
        on_telegram = h.user(111, "Nguyễn Văn An", channel="telegram")
        await on_telegram.register(await h.invite("hoan_kiem"))
        shown = (await on_telegram.send("/link"))[0].text
        code = shown.split("Mã liên kết: ")[1].split(" ")[0]
        on_zalo = h.user(999, "An Zalo", channel="zalo")
        assert "không đúng" in (await on_zalo.send("/link AAAA-BBBB-CCCC-DDDD"))[0].text
        linked = (await on_zalo.send(f"/link {code}"))[0].text
        assert "Đã liên kết tài khoản Zalo" in linked and "Nguyễn Văn An" in linked
        assert (
            "không đúng" in (await h.user(5, channel="zalo").send(f"/link {code}"))[0].text
        )  # spent
        # the same person on both: a report from Zalo is An's, for An's unit
        await on_zalo.send("tặng 20 suất quà nhân dịp tết")
        await on_zalo.press("Lưu")
        mine = (await on_telegram.send("/myreports"))[0].text
        assert "#1" in mine and "Nguyễn Văn An" in mine
        assert await h.scalar("SELECT COUNT(*) FROM people") == 1
        async with h.db.transaction() as tx:
            person = await people.by_identity(tx, "telegram", "111")
            assert person is not None
            assert [c for c, _ in await people.channels_of(tx, person.id)] == ["telegram", "zalo"]
        assert "Zalo" in (await on_telegram.send("/channel zalo"))[0].text
        assert "Gõ /channel zalo" in (await on_telegram.send("/channel fax"))[0].text
        async with h.db.transaction() as tx:
            assert [c for c, _ in await people.channels_of(tx, person.id)] == ["zalo", "telegram"]
    finally:
        await h.close()


async def test_wrong_link_codes_count_towards_the_lockout(tmp_path) -> None:
    """A wrong /link code is recorded like a wrong invite code: guessing is stopped."""
    h = await Harness.create(tmp_path, FakeClock(dt.datetime(2026, 6, 27, 8, 0, tzinfo=VN)))
    try:
        guesser = h.user(999, "Ai đó", channel="zalo")
        tries = h.dispatcher.settings.start_attempts
        for _ in range(tries):
            assert "không đúng" in (await guesser.send("/link AAAA-BBBB-CCCC-DDDD"))[0].text
        locked = (await guesser.send("/link AAAA-BBBB-CCCC-DDDD"))[0].text
        assert locked == h.catalog("vi", "start.locked", minutes=15)
    finally:
        await h.close()
