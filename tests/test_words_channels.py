"""Error replies carry the open question on every channel (Telegram, Zalo, console)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, Rig, choices_of, rig


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def test_after_a_wrong_answer_the_numbered_choices_are_current(on: Rig) -> None:
    person = on.person(1001, "Nguyễn Văn An")
    await person.say(f"/start {await on.invite()}", "Chào mừng")
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    await person.say("500k", "Đối tượng nhận quà")
    asked = await person.choose("Bỏ qua", "Dịp tặng quà")
    refused = await person.say("sinh nhật", "Lựa chọn không hợp lệ")
    assert refused.endswith(asked)  # the question again, with its choices
    if person.numbered:
        assert choices_of(refused) == choices_of(asked) and choices_of(refused)[0]
    await person.choose("8/3", "Ngày trao")
