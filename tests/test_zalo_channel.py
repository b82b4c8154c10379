"""The Zalo channel end to end: the real ZaloBotAPI over HTTP against FakeZaloAPI on loopback,
the real dispatcher and handlers (Harness), and an OutboxSender delivering through the channel.

Numbered text choices stand in for buttons, so these tests type "1", "tặng quà", "xong" where
the Telegram tests press buttons.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.channels.base import Receiver
from bot.channels.text_choices import render
from bot.channels.zalo import ZaloChannel, last_buttons_from_outbox, to_inbound
from bot.channels.zalo_api import ZaloBotAPI, ZaloUpdate
from bot.config import Secrets, WebSection, load_config
from bot.outbox_sender import OutboxSender
from domain.messages import Attachment, Button, Inbound, InboundKind, Reply
from runtime.ingress import Ingress
from storage import outbox
from tests.fakes.zalo_api import FakeZaloAPI, FakeZaloUser
from tests.harness import EXAMPLE, FakeClock, Harness


@dataclass
class Rig:
    h: Harness
    fake: FakeZaloAPI
    api: ZaloBotAPI
    channel: ZaloChannel
    sender: OutboxSender
    ingress: Ingress
    receiver: Receiver

    async def count(self, sql: str, *params: object) -> int:
        return int(str(await self.h.scalar(sql, *params)))

    async def retry_due(self) -> None:
        """Move the hand-held clock to the row's next attempt and let the sender look."""
        async with self.h.db.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            )
        due = dt.datetime.fromisoformat(next(iter(rows))[0])
        self.h.clock.current = due
        self.sender.wake()


@pytest.fixture
async def rig(h: Harness) -> AsyncIterator[Rig]:
    async with FakeZaloAPI() as fake, ZaloBotAPI(fake.token, base_url=fake.base_url) as api:
        channel = ZaloChannel(api, h.db, h.clock, poll_timeout=1)
        sender = OutboxSender(h.db, channel, h.clock, idle_poll=0.2)
        h.dispatcher.on_outbox = sender.submit
        receiver = Receiver(channel, h.ingress, retry_base=0.05)
        await sender.start()
        await channel.start()
        receiver.start()
        rig = Rig(h, fake, api, channel, sender, h.ingress, receiver)
        try:
            yield rig
        finally:
            await rig.receiver.stop()
            await h.ingress.wait_handled()
            await sender.stop()
            await channel.stop()
            assert not fake.errors


@dataclass
class ZUser:
    """A person on Zalo who types and waits for the bot's next message containing a fragment."""

    fake: FakeZaloAPI
    user: FakeZaloUser
    seen: int = 0
    last_message_id: str = ""

    def _new(self) -> list[str]:
        return self.fake.texts(self.user.id)[self.seen :]

    async def expect(self, fragment: str, limit: float = 10.0) -> str:
        def found(fake: FakeZaloAPI) -> bool:
            return any(fragment in text for text in self._new())

        await self.fake.wait_for(found, limit, what=f"a message containing {fragment!r}")
        new = self._new()
        index = next(i for i, text in enumerate(new) if fragment in text)
        self.seen += index + 1
        return new[index]

    async def say(self, text: str, expect: str) -> str:
        self.last_message_id = self.user.send(text)
        return await self.expect(expect)


async def registered(rig: Rig, user_id: str = "u1001", unit: str = "hoan_kiem") -> ZUser:
    person = ZUser(rig.fake, rig.fake.user(user_id, "Nguyễn Văn An"))
    await person.say(f"/start {await rig.h.invite(unit)}", "Chào mừng")
    return person


# ---- conversations ------------------------------------------------------------------------


async def test_registration_and_a_gifts_report_answered_with_numbers_and_names(rig: Rig) -> None:
    an = await registered(rig)
    menu = await an.say("/report", "Bạn muốn báo cáo hoạt động nào?")
    assert "1. 🎁 Tặng quà" in menu and "(❌ Hủy)" in menu  # numbered, navigation as words
    await an.say("tặng quà", "Số suất quà")  # by name, without caring about case
    await an.say("20", "Giá trị mỗi suất")  # a number where no choice is listed stays a value
    await an.say("500k", "Đối tượng nhận quà")
    occasions = await an.say("bo qua", "Dịp tặng quà")  # navigation word, no diacritics
    assert "2. 8/3" in occasions
    await an.say("2", "Ngày trao")
    await an.say("hôm nay", "Ảnh minh chứng")
    an.user.send_image("https://photo.zalo.example/abc.jpg", caption="ảnh trao quà")
    await an.expect("Đã nhận 1 ảnh")
    card = await an.say("xong", "vui lòng kiểm tra lại")
    assert "• Giá trị mỗi suất: 500.000 đ" in card
    assert card.endswith("1. ✅ Lưu  2. ✏️ Sửa  3. ❌ Hủy")
    saved = await an.say("1", "Đã lưu báo cáo #1")
    assert saved.startswith("✅ Đã lưu báo cáo #1: 🎁 Tặng quà · 20 suất · 500.000 đ · 8/3")
    await an.expect("Cảm ơn bạn")

    assert await rig.count("SELECT COUNT(*) FROM reports") == 1
    photo = (
        "SELECT COUNT(*) FROM report_photos WHERE file_ref = 'https://photo.zalo.example/abc.jpg'"
    )
    assert await rig.count(photo) == 1
    assert not rig.fake.calls_of("editMessageText")  # Zalo cannot edit: the receipt is new


async def test_quick_report_then_myreports(rig: Rig) -> None:
    binh = await registered(rig, "u2002", "long_bien")
    card = await binh.say("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3", "kiểm tra lại")
    assert "1. ✅ Lưu" in card
    await binh.say("lưu", "Đã lưu báo cáo #1")
    await binh.expect("Cảm ơn bạn")
    listing = await binh.say("/myreports", "Báo cáo gần nhất")
    assert "500.000 đ" in listing and "1. ✏️ #1" in listing


async def test_a_redelivered_message_is_handled_once(rig: Rig) -> None:
    an = await registered(rig)
    message_id = an.user.send("/myreports")
    await an.expect("chưa có báo cáo nào")
    rig.fake.push_again(message_id)  # Zalo delivers the same message again
    await an.say("/help", "Các lệnh")  # handled after the repeat was polled
    texts = rig.fake.texts(an.user.id)
    assert sum("chưa có báo cáo nào" in t for t in texts) == 1
    assert len([u for u in rig.fake.delivered if u["message"]["message_id"] == message_id]) == 2
    key = f"zalo:{message_id}"
    assert await rig.count("SELECT COUNT(*) FROM inbox WHERE key = ?", key) == 1


async def test_a_sticker_where_text_is_expected_gets_a_polite_hint(rig: Rig) -> None:
    an = await registered(rig)
    await an.say("/report", "Bạn muốn báo cáo")
    await an.say("1", "Số suất quà")
    an.user.send_sticker("sticker-42")
    await an.expect("chưa đọc được")
    await an.say("20", "Giá trị mỗi suất")  # the form goes on


async def test_a_number_beyond_the_list_gets_the_handlers_explanation(rig: Rig) -> None:
    an = await registered(rig)
    await an.say("/report", "Bạn muốn báo cáo")
    kinds = await an.say("tổ chức sự kiện", "Loại sự kiện")
    assert "5. Khác" in kinds and "6." not in kinds
    refused = await an.say("7", "Lựa chọn không hợp lệ")
    assert "Hội nghị" in refused
    await an.say("2", "Số sự kiện")  # 2 = Văn nghệ, and the form goes on
    assert await rig.count("SELECT COUNT(*) FROM inbox WHERE status != 'done'") == 0


async def test_a_10000_character_message_is_refused_and_long_replies_are_split(rig: Rig) -> None:
    an = await registered(rig)
    await an.say("x" * 10_000, "quá dài")

    lines = [f"Dòng {n:04d} " + "ư" * 40 for n in range(200)]  # about 10,000 characters
    long_text = "\n".join(lines)
    await enqueue(rig, an.user.id, Reply(long_text))
    await rig.fake.wait_for(lambda f: "Dòng 0199" in "".join(f.texts(an.user.id)))
    parts = rig.fake.texts(an.user.id)[an.seen :]
    assert len(parts) >= 5
    assert all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == long_text  # in order, nothing lost, nothing doubled


async def test_a_split_message_failing_half_way_resends_only_the_rest(rig: Rig) -> None:
    an = await registered(rig)
    long_text = "\n".join(f"Dòng {n:04d} " + "a" * 90 for n in range(60))  # 3 parts
    rig.fake.fail_next("sendMessage", http_status=502, body="<html>502</html>", after=1)
    await enqueue(rig, an.user.id, Reply(long_text))
    await rig.fake.wait_calls(1, "sendMessage", an.user.id, include_failed=True)
    await rig.fake.wait_for(lambda f: any(c.status == 502 for c in f.calls_of("sendMessage")))
    await rig.sender.wait_idle()
    await rig.retry_due()
    await rig.fake.wait_for(lambda f: "Dòng 0059" in "".join(f.texts(an.user.id)))
    await rig.sender.wait_idle()
    parts = rig.fake.texts(an.user.id)[an.seen :]
    assert "\n".join(parts) == long_text


async def test_after_a_restart_a_typed_number_still_means_the_choice_on_screen(
    rig: Rig,
) -> None:
    an = await registered(rig)
    await an.say("tặng 20 suất quà nhân dịp 8/3", "1. ✅ Lưu  2. ✏️ Sửa  3. ❌ Hủy")
    await rig.receiver.stop()
    await rig.sender.wait_idle()
    # A new process: nothing in memory, the card's choices come back from the outbox.
    rig.channel = ZaloChannel(rig.api, rig.h.db, rig.h.clock, poll_timeout=1)
    assert rig.channel.choices.peek(an.user.id) == []
    rig.sender.channel = rig.channel
    rig.receiver = Receiver(rig.channel, rig.ingress)
    await rig.channel.start()
    rig.receiver.start()
    try:
        await an.say("1", "Đã lưu báo cáo #1")
    finally:
        await rig.channel.stop()
    assert await rig.count("SELECT COUNT(*) FROM reports") == 1


async def test_polling_survives_zalo_errors(rig: Rig) -> None:
    an = await registered(rig)
    rig.fake.fail_next("getUpdates", http_status=502, body="<html>502</html>")
    rig.fake.fail_next("getUpdates", http_status=429, retry_after=0)
    await rig.fake.wait_for(lambda f: {c.status for c in f.calls_of("getUpdates")} >= {502, 429})
    await an.say("/help", "Các lệnh")


async def enqueue(rig: Rig, chat_id: str, reply: Reply) -> None:
    """An unsolicited row (like a reminder), handed to the sender as the scheduler does."""
    now = rig.h.clock.now()
    async with rig.h.db.transaction() as tx:
        row_id = await outbox.enqueue(tx, "zalo", chat_id, reply, now)
    assert row_id is not None
    async with rig.h.db.transaction() as tx:
        items = await outbox.chat_backlog(tx, "zalo", chat_id)
    rig.sender.submit(items)


# ---- delivery failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "delay"),
    [
        ({"http_status": 200, "error_code": 500, "description": "Internal error"}, 1.0),
        ({"http_status": 429, "retry_after": 7}, 7.0),
        ({"http_status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"}, 1.0),
    ],
    ids=["ok-false", "429", "502"],
)
async def test_refused_deliveries_are_retried_through_the_outbox_and_sent_once(
    rig: Rig, failure: dict[str, object], delay: float
) -> None:
    an = await registered(rig)
    rig.fake.fail_next("sendMessage", chat_id=an.user.id, **failure)  # type: ignore[arg-type]
    an.user.send("/help")
    await rig.fake.wait_for(lambda f: any(not c.ok for c in f.calls_of("sendMessage")))
    await rig.sender.wait_idle()  # the failure is recorded and a retry scheduled

    async with rig.h.db.transaction() as tx:
        rows = await tx.fetch_all(
            "SELECT attempts, next_attempt_at, created_at, status FROM outbox "
            "WHERE last_error IS NOT NULL"
        )
    [(attempts, next_at, created, status)] = list(rows)
    assert (attempts, status) == (1, "pending")
    waited = dt.datetime.fromisoformat(next_at) - dt.datetime.fromisoformat(created)
    assert waited == dt.timedelta(seconds=delay)  # retry_after when given, else the backoff

    await rig.retry_due()
    await an.expect("Các lệnh")
    await rig.sender.wait_idle()
    assert sum("Các lệnh" in t for t in rig.fake.texts(an.user.id)) == 1
    assert await rig.count("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0


async def test_a_person_who_blocked_the_bot_is_given_up_on(rig: Rig) -> None:
    an = await registered(rig)
    rig.fake.block(an.user.id)
    an.user.send("/help")
    await rig.fake.wait_for(lambda f: any(c.status == 403 for c in f.calls_of("sendMessage")))
    await rig.sender.wait_idle()
    assert await rig.count("SELECT COUNT(*) FROM outbox WHERE status = 'failed'") == 1
    assert await rig.count("SELECT COUNT(*) FROM people WHERE unreachable_at IS NOT NULL") == 1


# ---- mapping details ----------------------------------------------------------------------


CHOICES = [
    Button("🎁 Tặng quà", "f:i:gifts"),
    Button("📅 Tổ chức sự kiện", "f:i:events"),
    Button("Khác", "f:c:a"),
    Button("khac", "f:c:b"),
    Button("⏭ Bỏ qua", "f:s", nav=True),
]


async def test_mapping_of_texts_commands_choices_and_media(h: Harness) -> None:
    fake = FakeZaloAPI()
    user = fake.user("u1", "An")
    now = h.clock.now()

    def of(payload: dict[str, Any]) -> Inbound | None:
        return to_inbound(ZaloUpdate.from_dict(payload), now, CHOICES, bot_user_id="bot9")

    command = of(user.text_update("/Report  gifts "))
    assert command is not None and command.kind == InboundKind.COMMAND
    assert (command.command, command.args, command.key[:5]) == ("report", "gifts", "zalo:")
    choice = of(user.text_update("2"))
    assert choice is not None and (choice.kind, choice.choice) == (InboundKind.CHOICE, "f:i:events")
    skip = of(user.text_update("bỏ qua"))
    assert skip is not None and skip.choice == "f:s"
    for typed in ("7", "0", "khác"):  # beyond the list; a name two choices share
        text = of(user.text_update(typed))
        assert text is not None and (text.kind, text.text) == (InboundKind.TEXT, typed)
    photo = of(user.image_update("https://img.example/p.jpg", "chú thích"))
    assert photo is not None and photo.kind == InboundKind.PHOTO and photo.text == "chú thích"
    assert photo.photos[0].file_ref == "https://img.example/p.jpg"
    assert photo.photos[0].file_unique_id == photo.key.removeprefix("zalo:")
    sticker = of(user.sticker_update("s1"))
    assert sticker is not None and sticker.kind == InboundKind.STICKER
    other = of(user.unsupported_update())
    assert other is not None and other.kind == InboundKind.UNSUPPORTED
    group = of(user.text_update("hello", chat_id="g7", chat_type="GROUP"))
    assert group is not None and group.chat_type == "group" and group.chat_id == "g7"
    assert of(fake.user("bot9", "Bot").text_update("1")) is None  # the bot itself (by id)
    assert of(fake.user("b2", "Other bot", is_bot=True).text_update("1")) is None


async def test_after_a_restart_choices_are_read_back_from_the_outbox(h: Harness) -> None:
    card = Reply("card", ((Button("✅ Lưu", "x:ok"), Button("✏️ Sửa", "x:ed")),))
    async with h.db.transaction() as tx:
        await outbox.enqueue(tx, "zalo", "c1", card, h.clock.now())
        await outbox.enqueue(
            tx, "telegram", "c1", Reply("other", ((Button("T", "t"),),)), h.clock.now()
        )
    assert [b.data for b in await last_buttons_from_outbox(h.db, "c1")] == ["x:ok", "x:ed"]
    async with h.db.transaction() as tx:  # a newer message without choices: "1" is text again
        await outbox.enqueue(tx, "zalo", "c1", Reply("Cảm ơn bạn"), h.clock.now())
    assert await last_buttons_from_outbox(h.db, "c1") == []
    assert await last_buttons_from_outbox(h.db, "c2") == []
    assert render(card).endswith("1. ✅ Lưu  2. ✏️ Sửa")


# ---- documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(("web", "hint"), [(True, "Gõ /web"), (False, "thidua export")])
async def test_a_document_on_zalo_says_where_to_get_the_file(
    tmp_path: Path, web: bool, hint: str
) -> None:
    """Zalo cannot carry a workbook: with the dashboard on, the note sends the person there."""
    async with FakeZaloAPI(token="777:zalo-token") as fake:
        secrets = Secrets(zalo_bot_token=SecretStr(fake.token), zalo_api_base_url=fake.base_url)
        base = load_config(EXAMPLE).with_secrets(secrets)
        config = base.model_copy(update={"web": WebSection(enabled=web)})
        app = App(config, secrets, clock=FakeClock(), database=str(tmp_path / "z.sqlite3"))
        channel = app.build_channel("zalo")
        assert isinstance(channel, ZaloChannel)
        fake.user("u1001", "Nguyễn Văn An")
        await channel.start()
        try:
            data = base64.b64encode(b"PK\x03\x04 not really a workbook").decode()
            reply = Reply("📊 Bảng tổng hợp", attachment=Attachment("document", "cum1.xlsx", data))
            await channel.deliver("u1001", reply)
        finally:
            await channel.stop()
        sent = "\n".join(fake.texts("u1001"))
        assert "📊 Bảng tổng hợp" in sent
        assert "“cum1.xlsx” không gửi được qua Zalo" in sent and hint in sent
