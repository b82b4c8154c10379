"""The fake Telegram server must fool the real python-telegram-bot stack, over real HTTP.

Every test drives PTB's own ``Bot`` / ``Application`` against ``FakeTelegramAPI``; nothing in
PTB is mocked, so a green run means PTB's encoding, decoding and error mapping agree with the
fake. Only the methods the bot calls are there: the others answer 404.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import DROP_CONNECTION, Call, FakeTelegramAPI

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Có", callback_data="yes"),
            InlineKeyboardButton("Không", callback_data="no"),
        ],
        [InlineKeyboardButton("Hủy", callback_data="cancel")],
    ]
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def _build_app(fake: FakeTelegramAPI, *, concurrent: bool = False) -> AnyApplication:
    builder = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
    )
    if concurrent:
        builder = builder.concurrent_updates(True).connection_pool_size(64)
    return builder.build()


def _msg(update: Update) -> Message:
    """The update's message or edited message; the test fails if there is none."""
    message = update.effective_message
    assert isinstance(message, Message), update
    return message


async def _poll_once(bot: Bot, offset: int | None = None) -> list[Update]:
    return list(await bot.get_updates(offset=offset, timeout=0))


# ------------------------------------------------------------------------------ basics


async def test_get_me_and_bot_identity(fake: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "thidua_test_bot"
    assert bot.username == "thidua_test_bot"  # Bot.initialize() called getMe
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.stats.calls["getMe"] >= 2


async def test_wrong_token_is_unauthorized(fake: FakeTelegramAPI) -> None:
    other = Bot("999:wrong", base_url=fake.base_url)
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await other.get_me()
    assert fake.unauthorized == 1
    assert fake.calls == []


async def test_unknown_method_is_404(bot: Bot, fake: FakeTelegramAPI) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"x": 1})
    assert fake.calls[-1].status == 404
    # a method the bot does not call is not there (PTB says so as InvalidToken)
    with pytest.raises(InvalidToken, match="Not Found"):
        await bot.get_my_commands()


async def test_token_is_configurable() -> None:
    async with (
        FakeTelegramAPI(token="42:other") as server,
        Bot(server.token, base_url=server.base_url) as other,
    ):
        assert other.id == 42


# ------------------------------------------------------------------------------ getUpdates


async def test_get_updates_offset_semantics(fake: FakeTelegramAPI, bot: Bot) -> None:
    alice = fake.user(1001, "Alice")
    first, second, third = (alice.send(t) for t in ("một", "hai", "ba"))

    updates = await _poll_once(bot)
    assert [u.update_id for u in updates] == [first, second, third]
    assert [_msg(u).text for u in updates] == ["một", "hai", "ba"]

    # offset=second confirms `first` only; it is gone for good
    updates = await _poll_once(bot, offset=second)
    assert [u.update_id for u in updates] == [second, third]
    assert fake.confirmed_offset == second

    assert await _poll_once(bot, offset=third + 1) == []
    assert await _poll_once(bot, offset=0) == [], "confirmed updates never come back"


async def test_get_updates_limit(fake: FakeTelegramAPI, bot: Bot) -> None:
    alice = fake.user(1001, "Alice")
    ids = [alice.send(str(i)) for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2, timeout=0)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=ids[2], timeout=0)] == ids[2:]
    assert fake.pending_updates == 3


async def test_long_poll_wakes_up_on_new_update(fake: FakeTelegramAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for(lambda f: f.stats.calls["getUpdates"] == 1)
    assert not poll.done()
    update_id = fake.user(7, "Bảy").send("xin chào")
    updates = await asyncio.wait_for(poll, 25)  # woken by the update, not the 30 s timeout
    assert [u.update_id for u in updates] == [update_id]


async def test_long_poll_returns_empty_after_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert loop.time() - started >= 0.25


async def test_second_poller_conflicts_first(fake: FakeTelegramAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for(lambda f: f.stats.calls["getUpdates"] == 1)
    async with Bot(fake.token, base_url=fake.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        await first


async def test_push_update_again_redelivers_confirmed_update(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    alice = fake.user(1001, "Alice")
    update_id = alice.send("/start")
    (update,) = await _poll_once(bot)
    assert await _poll_once(bot, offset=update_id + 1) == []

    fake.push_update_again(update_id)
    (again,) = await _poll_once(bot, offset=update_id + 1)
    assert again.update_id == update_id
    assert _msg(again).text == _msg(update).text
    assert await _poll_once(bot, offset=update_id + 1) == []


async def test_drop_pending_updates_and_webhook_conflict(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.user(1001, "Alice").send("sẽ bị bỏ")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await _poll_once(bot) == []

    assert await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await _poll_once(bot)
    await bot.delete_webhook()
    assert await _poll_once(bot) == []


async def test_raw_push_update(fake: FakeTelegramAPI, bot: Bot) -> None:
    update_id = fake.push_update(
        {
            "my_chat_member": {
                "chat": {"id": 5, "type": "private", "first_name": "Năm"},
                "from": {"id": 5, "is_bot": False, "first_name": "Năm"},
                "date": 1_700_000_000,
                "old_chat_member": {"status": "member", "user": fake.bot_user},
                "new_chat_member": {"status": "kicked", "user": fake.bot_user, "until_date": 0},
            }
        }
    )
    (update,) = await _poll_once(bot)
    assert update.update_id == update_id
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


# ------------------------------------------------------------------------------ sending


async def test_send_message_with_inline_keyboard(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.user(1001, "Alice")
    first = await bot.send_message(1001, "Chọn đi 👇", reply_markup=KEYBOARD)
    second = await bot.send_message(1001, "123")
    in_group = await bot.send_message(-500, "nhóm")

    assert isinstance(first, Message)
    assert first.reply_markup == KEYBOARD
    assert first.chat.type == "private" and first.chat.first_name == "Alice"
    assert first.from_user is not None and first.from_user.id == bot.id
    assert (first.message_id, second.message_id) == (1, 2)
    assert in_group.message_id == 1 and in_group.chat.type == "group"
    assert second.text == "123", "numeric-looking text must stay a string"

    call = fake.sent(1001)[0]
    assert call.params["chat_id"] == 1001
    assert call.callback_data == ["yes", "no", "cancel"]
    assert call.params["reply_markup"] == KEYBOARD.to_dict()
    assert fake.texts(1001) == ["Chọn đi 👇", "123"]
    assert fake.texts("1001") == fake.texts(1001)
    assert [c.message_id for c in fake.sent()] == [1, 2, 1]


async def test_reply_keyboard_is_accepted_but_not_echoed(fake: FakeTelegramAPI, bot: Bot) -> None:
    menu = ReplyKeyboardMarkup([["Báo cáo", "Xếp hạng"]], resize_keyboard=True)
    message = await bot.send_message(1001, "Menu", reply_markup=menu)
    assert message.reply_markup is None
    assert fake.sent(1001)[0].params["reply_markup"]["keyboard"][0][0] == {"text": "Báo cáo"}


async def test_edit_message_text_and_markup(fake: FakeTelegramAPI, bot: Bot) -> None:
    sent = await bot.send_message(1001, "Bước 1", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("Bước 2", 1001, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(edited, Message)
    assert edited.text == "Bước 2" and edited.edit_date is not None
    assert edited.reply_markup == KEYBOARD

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Bước 2", 1001, sent.message_id, reply_markup=KEYBOARD)

    # Without reply_markup Telegram drops the keyboard, like the real API.
    plain = await bot.edit_message_text("Xong", 1001, sent.message_id)
    assert isinstance(plain, Message) and plain.reply_markup is None
    assert (fake.message(1001, sent.message_id) or {}).get("text") == "Xong"
    assert fake.texts(1001) == ["Bước 1", "Bước 2", "Xong"]

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("?", 1001, 4242)


async def test_chat_action(fake: FakeTelegramAPI, bot: Bot) -> None:
    assert await bot.send_chat_action(1001, "typing")
    assert await bot.send_chat_action(1001, "upload_document")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(1001, "record_voice")
    with pytest.raises(KeyError):
        fake.user(1001, "Alice").press(42, "yes")


async def test_send_photo_and_document_multipart(fake: FakeTelegramAPI, bot: Bot) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    photo = await bot.send_photo(1001, png, caption="Biểu đồ", filename="chart.png")
    call = fake.calls[-1]
    assert call.method == "sendPhoto"
    assert call.files["photo"] == ("chart.png", png)
    assert call.params == {"chat_id": 1001, "caption": "Biểu đồ"}
    assert photo.caption == "Biểu đồ"
    assert photo.photo[-1].file_size == len(png)

    xlsx = b"PK\x03\x04 fake spreadsheet"
    document = await bot.send_document(1001, xlsx, filename="bao_cao.xlsx", reply_markup=KEYBOARD)
    assert fake.calls[-1].files["document"] == ("bao_cao.xlsx", xlsx)
    assert document.document is not None
    assert document.document.file_name == "bao_cao.xlsx"
    assert document.document.file_size == len(xlsx)
    assert document.reply_markup == KEYBOARD
    assert [c.method for c in fake.sent(1001)] == ["sendPhoto", "sendDocument"]


async def test_set_my_commands(fake: FakeTelegramAPI, bot: Bot) -> None:
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("bao_cao", "Gửi báo cáo")]
    assert await bot.set_my_commands(commands)
    assert fake.commands_seen(1001, "en") == [c.to_dict() for c in commands]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Báo-cáo", "bad")])


# ------------------------------------------------------------------------------ strictness


async def test_strict_validation_matches_telegram(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1001, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        too_long = InlineKeyboardButton("x", callback_data="x" * 65)
        await bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup([[too_long]]))


async def test_non_strict_mode_is_lenient() -> None:
    async with (
        FakeTelegramAPI(strict=False) as server,
        Bot(server.token, base_url=server.base_url) as lenient,
    ):
        message = await lenient.send_message(1, "a" * 5000)
        assert message.text == "a" * 5000


# ------------------------------------------------------------------------------ users


async def test_command_entities_reach_command_handler(fake: FakeTelegramAPI, bot: Bot) -> None:
    alice = fake.user(1001, "Alice", language_code="vi")
    alice.send("/bao_cao 👍 hôm nay")
    alice.send("/start@thidua_test_bot")
    alice.send("không phải lệnh")
    updates = await _poll_once(bot)

    async def noop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None

    report: CommandHandler[ContextTypes.DEFAULT_TYPE, None] = CommandHandler("bao_cao", noop)
    start: CommandHandler[ContextTypes.DEFAULT_TYPE, None] = CommandHandler("start", noop)
    assert report.check_update(updates[0])
    assert start.check_update(updates[1])
    assert not report.check_update(updates[2])
    assert _msg(updates[0]).entities[0].length == len("/bao_cao")
    assert filters.COMMAND.check_update(updates[0])
    sender = _msg(updates[0]).from_user
    assert sender is not None and sender.language_code == "vi"


async def test_press_delivers_callback_with_current_message(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    alice = fake.user(1001, "Alice")
    await bot.send_message(1001, "Chọn", reply_markup=KEYBOARD)
    call = fake.sent(1001)[-1]
    await bot.edit_message_text("Chọn lại", 1001, call.message_id, reply_markup=KEYBOARD)

    alice.press(call, "no")
    (update,) = await _poll_once(bot)
    query = update.callback_query
    assert query is not None and query.data == "no"
    assert query.from_user.id == 1001
    assert isinstance(query.message, Message)
    assert query.message.message_id == call.message_id
    assert query.message.text == "Chọn lại", "the callback carries the edited message"

    assert await query.answer("Đã chọn")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    with pytest.raises(ValueError, match="no button with data"):
        alice.press(call, "maybe")
    alice.press(call.message_id, "forged", check=False)


async def test_user_photo_sticker_edit_and_group(fake: FakeTelegramAPI, bot: Bot) -> None:
    alice = fake.user(1001, "Alice")
    alice.send_photo("AgACAgIAAxkBphoto", "AQADuniq", 80_000, caption="Ảnh minh chứng")
    alice.send_sticker()
    alice.send("sai chính tả")
    alice.edit(alice.last_message_id or 0, "đúng chính tả")
    alice.send_in_group(-1001234567890, "/start")
    updates = await _poll_once(bot)

    photo, sticker, typo, fixed, group = (_msg(u) for u in updates)
    assert photo.caption == "Ảnh minh chứng"
    assert photo.photo[-1].file_id == "AgACAgIAAxkBphoto"
    assert photo.photo[-1].file_unique_id == "AQADuniq"
    assert photo.photo[-1].file_size == 80_000
    assert len(photo.photo) == 2
    assert sticker.sticker is not None
    assert filters.Sticker.ALL.check_update(updates[1])
    assert updates[3].edited_message is fixed
    assert fixed.text == "đúng chính tả"
    assert fixed.message_id == typo.message_id
    assert group.chat.id == -1001234567890 and group.chat.type == "supergroup"
    assert group.from_user is not None and group.from_user.id == 1001
    with pytest.raises(ValueError, match="negative"):
        alice.send_in_group(5, "x")


# ------------------------------------------------------------------------------ failures


async def test_fail_next_maps_to_ptb_exceptions(
    fake: FakeTelegramAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(1001, "a")
    assert retry.value.retry_after == dtm.timedelta(seconds=7)

    fake.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError) as bad_gateway:
        await bot.send_message(1001, "a")
    assert type(bad_gateway.value) is NetworkError

    fake.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(1001, "a")

    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(1001, "a")

    fake.fail_next("sendMessage", DROP_CONNECTION)
    with pytest.raises(NetworkError, match="httpx"):
        await bot.send_message(1001, "a")

    delivered = await bot.send_message(1001, "cuối cùng")
    assert delivered.message_id == 1, "failed attempts consume no message ids"
    assert fake.texts(1001) == ["cuối cùng"]
    attempts = fake.sent(1001, "sendMessage", include_failed=True)
    assert [c.status for c in attempts] == [429, 502, 403, 400, DROP_CONNECTION, 200]
    assert fake.stats.too_many_requests == 1


async def test_fail_next_count_and_chat_filter(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", 502, count=2, chat_id=2)
    await bot.send_message(1, "không ảnh hưởng")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(2, "lỗi")
    await bot.send_message(2, "được")
    assert fake.texts(2) == ["được"]


async def test_block_chat(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.block(1001)
    fake.block(-500)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(1001, "a")
    with pytest.raises(Forbidden, match="kicked"):
        await bot.send_photo(-500, b"img")
    await bot.send_message(1002, "b")
    assert fake.texts(1002) == ["b"] and fake.texts(1001) == []


async def test_outage_window(fake: FakeTelegramAPI, bot: Bot) -> None:
    outage = fake.outage(502)
    for _ in range(3):
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "a")
    assert await bot.get_me(), "only send* methods are down"
    outage.end()
    await bot.send_message(1001, "b")
    assert outage.failures == 3

    fake.outage(503, methods={"sendMessage"})
    with pytest.raises(NetworkError):
        await bot.send_message(1001, "c")
    assert await bot.send_chat_action(1001, "typing"), "only the methods named are down"
    fake.end_outage()
    await bot.send_message(1001, "d")

    fake.outage(until=3600.0)
    with pytest.raises(NetworkError):
        await bot.send_message(1001, "e")
    fake.outage(until=0.0)  # already over
    await bot.send_message(1001, "f")
    assert fake.texts(1001) == ["b", "d", "f"]


async def test_rate_limit_token_bucket(
    fake: FakeTelegramAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.rate_limit(1.0, burst=2)
    await bot.send_message(1001, "1")
    await bot.edit_message_text("1b", 1001, 1)
    with pytest.raises(RetryAfter):
        await bot.send_message(1001, "2")
    assert await bot.get_me(), "getMe is not throttled"
    assert fake.stats.too_many_requests == 1
    fake.rate_limit(None)
    await bot.send_message(1001, "3")


# ------------------------------------------------------------------------------ waiting


async def test_wait_for_times_out_with_recent_calls(fake: FakeTelegramAPI, bot: Bot) -> None:
    await bot.send_message(1001, "xin chào")
    with pytest.raises(TimeoutError, match=r"(?s)never.*sendMessage chat=1001"):
        await fake.wait_for(lambda f: False, timeout=0.05, what="never")
    with pytest.raises(TimeoutError, match="2 call"):
        await fake.wait_calls(2, chat_id=1001, timeout=0.05)


async def test_wait_calls_returns_matching_calls(fake: FakeTelegramAPI, bot: Bot) -> None:
    async def later() -> None:
        await bot.send_message(5, "một")
        await bot.send_message(6, "khác")
        await bot.send_message(5, "hai")

    task = asyncio.create_task(later())
    calls = await fake.wait_calls(2, method="sendMessage", chat_id=5)
    await task
    assert [c.text for c in calls] == ["một", "hai"]
    assert all(isinstance(c, Call) and c.ok for c in calls)


# ------------------------------------------------------------------------------ full stack


async def test_application_end_to_end(fake: FakeTelegramAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Chào bạn!", reply_markup=KEYBOARD)

    async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Bạn chọn: {query.data}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_text(update.effective_message.text.upper())

    app = _build_app(fake)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choose))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    alice = fake.user(1001, "Alice")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=5))
        try:
            alice.send("/start")
            (menu,) = await fake.wait_calls(1, chat_id=1001)
            alice.press(menu, "yes")
            await fake.wait_calls(1, method="editMessageText", chat_id=1001)
            last = alice.send("tốt")
            await fake.wait_calls(3, chat_id=1001)
            await fake.wait_confirmed(last)
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.texts(1001) == ["Chào bạn!", "Bạn chọn: yes", "TỐT"]
    assert fake.sent(1001, "answerCallbackQuery") == []  # no chat_id on that method
    assert len(fake.sent(method="answerCallbackQuery")) == 1
    assert fake.pending_updates == 0


async def test_many_concurrent_users(fake: FakeTelegramAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_text(f"ok {update.effective_message.text}")

    app = _build_app(fake, concurrent=True)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    users = [fake.user(10_000 + i, f"User {i}") for i in range(60)]
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=5))
        try:
            for round_ in range(5):
                for person in users:
                    person.send(f"{person.id}-{round_}")
            # A deadline, not a speed check: a loaded CI core serves 300 replies slowly.
            await fake.wait_for(lambda f: f.stats.calls["sendMessage"] >= 300, timeout=120)
        finally:
            await app.updater.stop()
            await app.stop()
    for person in users:
        assert sorted(fake.texts(person.id)) == [f"ok {person.id}-{r}" for r in range(5)]


async def test_bot_in_subprocess_talks_to_fake(fake: FakeTelegramAPI) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from telegram import Bot

        async def main():
            async with Bot({fake.token!r}, base_url={fake.base_url!r}) as bot:
                await bot.send_message(1001, "từ tiến trình con")

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE
    )
    (call,) = await fake.wait_calls(1, chat_id=1001, timeout=30)
    _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert call.text == "từ tiến trình con"
