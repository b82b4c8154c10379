"""Zalo and the console have no buttons: what a typed number means, proven on every channel.

The rule (bot/channels/text_choices.py): a number means the list of the newest message with
choices, unless the conversation moved on since. A message that belongs to the same answer
(the chart after the standings text), an error asking again and a scheduled post keep the
list; a new answer without choices (/help, a receipt) clears it. The list survives a restart
(it is rebuilt from the outbox). On Telegram the same flows press buttons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels import CHANNELS, WAIT, Person, Rig, rig
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

QUICK = "tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"
WHY = "Vì sao? LĐLĐ quận Hoàn Kiếm"


@pytest.fixture(params=CHANNELS)
async def on(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with rig(request.param, tmp_path) as running:
        yield running
        await running.check_settled()


async def registered(on: Rig) -> Person:
    person = on.person(1001, "Nguyễn Văn An")
    await person.say(f"/start {await on.invite()}", "Chào mừng")
    return person


async def reports(on: Rig) -> int:
    return await on.count("SELECT COUNT(*) FROM reports")


async def standings_with_chart(person: Person) -> None:
    await person.say("/standings", "🏆 Xếp hạng")
    await person.expect("📊 Biểu đồ")  # on Zalo and the console with a note: no choices


# ---- a message without choices does not erase the choices of its answer ------------------


async def test_why_can_be_chosen_after_the_standings_chart(on: Rig) -> None:
    """The chart (on Zalo and the console, its text note) follows the ranking and carries no
    choices; "Vì sao?" must still be chosen by its number."""
    person = await registered(on)
    await standings_with_chart(person)
    why = await person.choose(WHY, "❓ LĐLĐ quận Hoàn Kiếm")
    assert "tham khảo" in why


async def test_why_can_be_chosen_after_a_restart(on: Rig) -> None:
    person = await registered(on)
    await standings_with_chart(person)
    await on.restart()  # a new process: the list comes back from the outbox
    await person.choose(WHY, "❓ LĐLĐ quận Hoàn Kiếm")


async def test_an_error_keeps_the_list_it_asks_about(on: Rig) -> None:
    """A wrong answer is explained, and the numbers on screen still mean the card's choices."""
    person = await registered(on)
    await person.say(QUICK, "kiểm tra lại")
    await person.say("abc", "lưu")
    assert await reports(on) == 0
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    assert await reports(on) == 1


# ---- a new answer without choices clears them; numbers are the channel's only ------------


async def test_after_help_a_typed_1_does_not_save_the_card(on: Rig) -> None:
    person = await registered(on)
    await person.say(QUICK, "kiểm tra lại")
    await person.say("/help", "Các lệnh bạn dùng được")
    asked = await person.say("1", "lưu")  # told the words to type, nothing saved
    assert "Đã lưu" not in asked
    assert await reports(on) == 0
    await person.say("lưu", "Đã lưu báo cáo #1")
    assert await reports(on) == 1


async def test_after_help_and_a_restart_a_typed_1_still_does_not_save(on: Rig) -> None:
    person = await registered(on)
    await person.say(QUICK, "kiểm tra lại")
    await person.say("/help", "Các lệnh bạn dùng được")
    await on.restart()
    await person.say("1", "lưu")
    assert await reports(on) == 0


async def test_the_card_survives_a_restart(on: Rig) -> None:
    person = await registered(on)
    await person.say(QUICK, "kiểm tra lại")
    await on.restart()
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    assert await reports(on) == 1


async def test_a_number_means_the_newest_list(on: Rig) -> None:
    """On the card, ✏️ Sửa shows the fields: "1" then means the first field, not ✅ Lưu."""
    person = await registered(on)
    await person.say(QUICK, "kiểm tra lại")
    await person.choose("Sửa", "Bạn muốn sửa mục nào?")
    await person.choose("Số suất quà", "Số suất quà:")  # "1" on Zalo and the console
    assert await reports(on) == 0
    await person.say("25", "kiểm tra lại")
    await person.choose("Lưu", "Đã lưu báo cáo #1")


# ---- texts say what to type where there are no buttons ------------------------------------


async def test_texts_say_what_to_type_where_there_are_no_buttons(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")
    await person.say("20", "Giá trị mỗi suất")
    optional = await person.say("500k", "Đối tượng nhận quà")
    await person.choose("Bỏ qua", "Dịp tặng quà")
    await person.choose("8/3", "Ngày trao")
    await person.say("8/3", "Ảnh minh chứng")
    card = await person.choose("Bỏ qua", "kiểm tra lại")
    await person.choose("Lưu", "Đã lưu báo cáo #1")
    thanks = await person.expect("Cảm ơn bạn")
    if person.numbered:
        assert "gõ “bỏ qua”" in optional
        assert "Gõ “báo cáo”" in thanks and "0 để xem menu" in thanks
        assert "Gõ số hoặc tên" in card
        said = "\n".join(person.messages)
        assert "bấm" not in said.lower(), said  # no button words anywhere in the flow
    else:
        assert "bấm ⏭ Bỏ qua" in optional
        assert "Bấm 📝 Báo cáo" in thanks
        assert "Bấm ✅ Lưu" in card


# ---- the main menu without slashes -------------------------------------------------------


MENU_WORDS = [
    ("báo cáo", "Bạn muốn báo cáo hoạt động nào?"),
    ("bao cao", "Bạn muốn báo cáo hoạt động nào?"),
    ("Báo cáo của tôi", "chưa có báo cáo nào"),
    ("bao cao cua toi", "chưa có báo cáo nào"),
    ("xếp hạng", "📊 Biểu đồ"),  # the ranking, then its chart
    ("xep hang", "📊 Biểu đồ"),
    ("trợ giúp", "Các lệnh bạn dùng được"),
    ("tro giup", "Các lệnh bạn dùng được"),
    ("menu", "Menu chính"),
    ("/report tang qua", "Số suất quà"),
    ("/report tặng quà", "Số suất quà"),
    ("/report Tặng Quà", "Số suất quà"),
    ("/report gifts", "Số suất quà"),
]


async def test_menu_words_without_slashes(on: Rig) -> None:
    person = await registered(on)
    for typed, expect in MENU_WORDS:
        await person.say(typed, expect)


async def test_an_unknown_indicator_after_report_is_explained(on: Rig) -> None:
    person = await registered(on)
    await person.say("/report xyz", "Không có chỉ tiêu “xyz”")
    await person.expect("Bạn muốn báo cáo hoạt động nào?")
    await person.choose("Tặng quà", "Số suất quà")


async def test_zero_shows_the_numbered_main_menu(on: Rig) -> None:
    person = await registered(on)
    if not person.numbered:  # Telegram keeps its menu keyboard; "0" is not a menu there
        await person.say("/menu", "Menu chính")
        await person.choose("Báo cáo của tôi", "chưa có báo cáo nào")
        return
    menu = await person.say("0", "Menu chính")
    assert menu.endswith("1. 📝 Báo cáo  2. 📋 Báo cáo của tôi  3. 🏆 Xếp hạng  4. ❓ Trợ giúp"), (
        menu
    )
    await person.say("2", "chưa có báo cáo nào")
    await person.say("0", "Menu chính")
    await on.restart()
    await person.say("1", "Bạn muốn báo cáo hoạt động nào?")


async def test_zero_is_a_value_while_a_number_is_asked(on: Rig) -> None:
    """In a field "0" is the answer (here refused by the minimum), never the menu."""
    person = await registered(on)
    await person.say("/report tặng quà", "Số suất quà")
    refused = await person.say("0", "")
    assert "Menu chính" not in refused and "nhỏ hơn" in refused, refused


# ---- a typing indicator before slow answers ----------------------------------------------


def _actions(on: Rig, person: Person) -> list[str]:
    fake = getattr(person, "fake", None)
    if isinstance(fake, FakeTelegramAPI):
        return [str(c.params.get("action")) for c in fake.sent(method="sendChatAction")]
    if isinstance(fake, FakeZaloAPI):
        return [str(c.params.get("action")) for c in fake.calls_of("sendChatAction")]
    return []


async def test_a_typing_indicator_comes_before_the_standings(on: Rig) -> None:
    person = await registered(on)
    assert _actions(on, person) == []  # fast answers go without one
    await standings_with_chart(person)
    fake = getattr(person, "fake", None)
    if isinstance(fake, FakeTelegramAPI | FakeZaloAPI):
        # Telegram says what is coming (a photo); Zalo documents only "typing".
        assert _actions(on, person) == ["upload_photo" if on.channel == "telegram" else "typing"]
        calls = [c for c in fake.calls if c.method in ("sendChatAction", "sendMessage")]
        ranking = next(i for i, c in enumerate(calls) if "🏆 Xếp hạng" in (c.text or ""))
        assert calls[ranking - 1].method == "sendChatAction"  # first the indicator
    else:
        assert _actions(on, person) == []  # the console answers at once


# ---- cluster posts in private for those who ask ------------------------------------------


async def post_standings(on: Rig, at: dt.datetime) -> int:
    job = next(j for j in on.app.scheduler.jobs if j.id == "standings-posts")
    async with on.app.db.transaction() as tx:
        items = await job.run(tx, at, None)
    assert job.after_commit is not None  # the charts, drawn once the texts are committed
    items += await job.after_commit(at, on.app.db.transaction)
    on.app.scheduler.on_outbox(items)
    await on.app.senders[on.channel].wait_idle(WAIT)
    return len(items)


async def test_subscribers_get_the_cluster_posts_in_private(on: Rig) -> None:
    person = await registered(on)
    monday = dt.datetime(2026, 3, 16, 1, 0, tzinfo=dt.UTC)
    assert await post_standings(on, monday) == 0  # nobody asked, no group linked
    await person.say("/subscribe", "Đã đăng ký")
    await person.say("/subscribe", "đã đăng ký nhận")
    assert await post_standings(on, monday + dt.timedelta(days=7)) == 2  # text and chart
    await person.expect("🏆 Xếp hạng")
    await person.say("/unsubscribe", "Đã thôi gửi riêng")
    await person.say("/unsubscribe", "chưa đăng ký")
    assert await post_standings(on, monday + dt.timedelta(days=14)) == 0


async def test_a_post_does_not_take_the_card_away(on: Rig) -> None:
    """A post arriving while the card waits: "lưu" still saves (a post is not an answer)."""
    person = await registered(on)
    await person.say("/subscribe", "Đã đăng ký")
    await person.say(QUICK, "kiểm tra lại")
    await post_standings(on, dt.datetime(2026, 3, 16, 1, 0, tzinfo=dt.UTC))
    await person.say("lưu", "Đã lưu báo cáo #1")
