"""The Zalo Bot API client, driven over real HTTP against ``FakeZaloAPI``.

Most tests run the real ``ZaloBotAPI`` against the fake server on loopback, so URL building,
JSON encoding, envelope handling and error mapping are all exercised. A few use
``httpx.MockTransport`` to feed the parser payloads the fake would never produce.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.channels.zalo_api import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    EVENT_UNSUPPORTED,
    ZaloAPIError,
    ZaloBotAPI,
    ZaloNetworkError,
    ZaloUpdate,
    split_text,
    verify_webhook_secret,
)
from tests.fakes.zalo_api import DROP_CONNECTION, SECRET_HEADER, FakeZaloAPI

TOKEN = "7777777777777777777:zalo-SECRET-part-abcdefghij"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=TOKEN) as server:
        yield server


@pytest.fixture
async def api(fake: FakeZaloAPI) -> AsyncIterator[ZaloBotAPI]:
    async with ZaloBotAPI(TOKEN, base_url=fake.base_url, timeout=5.0) as client:
        yield client


def paragraphs(total: int) -> str:
    """About ``total`` characters of numbered lines, so order and loss are checkable."""
    lines: list[str] = []
    size = 0
    n = 0
    while size < total:
        line = f"dòng {n:04d} " + "x" * 60
        lines.append(line)
        size += len(line) + 1
        n += 1
    return "\n".join(lines)[:total]


def no_space(text: str) -> str:
    return re.sub(r"\s", "", text)


# --------------------------------------------------------------------------------------------
# Receiving
# --------------------------------------------------------------------------------------------


async def test_get_me(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    me = await api.get_me()
    assert me.id == fake.bot_id
    assert me.account_name == "bot.thidua_test"
    assert me.account_type == "BASIC"
    assert [c.method for c in fake.calls] == ["getMe"]


async def test_get_updates_returns_one_update_per_call(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    alice = fake.user("a1", "Alice Nguyễn")
    first = alice.send("báo cáo 1")
    second = alice.send("báo cáo 2")

    one = await api.get_updates(timeout=1)
    assert one is not None and fake.pending_updates == 1
    two = await api.get_updates(timeout=1)
    assert two is not None and fake.pending_updates == 0
    assert await api.get_updates(timeout=0) is None

    assert [one.message_id, two.message_id] == [first, second]
    msg = one.message
    assert one.event_name == EVENT_TEXT
    assert (msg.text, msg.chat_id, msg.chat_type) == ("báo cáo 1", "a1", "PRIVATE")
    assert (msg.sender_id, msg.sender_name, msg.sender_is_bot) == ("a1", "Alice Nguyễn", False)
    assert msg.date is not None and abs((datetime.now(UTC) - msg.date).total_seconds()) < 60
    polls = fake.calls_of("getUpdates")
    assert [c.params["timeout"] for c in polls] == ["1", "1", "0"]  # sent as a string


@pytest.mark.parametrize("http_status", [408, 200])
async def test_poll_timeout_is_none_not_an_error(
    api: ZaloBotAPI, fake: FakeZaloAPI, http_status: int
) -> None:
    fake.poll_timeout_http_status = http_status  # 200 = ok:false + error_code 408 in HTTP 200
    assert await api.get_updates(timeout=0) is None
    (call,) = fake.calls_of("getUpdates")
    assert (call.status, call.error_code) == (http_status, 408)


async def test_long_poll_wakes_when_a_user_writes(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    bob = fake.user("b2", "Bob")
    poll = asyncio.create_task(api.get_updates(timeout=30))
    await fake.wait_polling()
    sent = bob.send("có ai không?")
    update = await asyncio.wait_for(poll, timeout=25)  # woken by the message, not the 30 s
    assert update is not None and update.message_id == sent


async def test_image_sticker_unsupported_and_group_updates(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    carol = fake.user("c3", "Carol")
    carol.send_image("https://img.example/p.jpg", caption="ảnh hoạt động")
    carol.send_sticker("d063f44dc80821567819")
    carol.send_unsupported()
    carol.send("chào nhóm", chat_id="g9", chat_type="GROUP")

    got = [await api.get_updates(timeout=1) for _ in range(4)]
    image, sticker, unsupported, group = (u for u in got if u is not None)
    assert image.event_name == EVENT_IMAGE
    assert image.message.photo_url == "https://img.example/p.jpg"
    assert image.message.text == "ảnh hoạt động"
    assert (sticker.event_name, sticker.message.sticker) == (EVENT_STICKER, "d063f44dc80821567819")
    assert unsupported.event_name == EVENT_UNSUPPORTED
    assert unsupported.message.text is None and unsupported.message.photo_url is None
    assert (group.message.chat_id, group.message.chat_type) == ("g9", "GROUP")
    assert group.message.sender_id == "c3"


async def test_push_again_redelivers_the_same_message(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    mid = fake.user("d4", "Dung").send("một lần thôi")
    first = await api.get_updates(timeout=1)
    fake.push_again(mid)
    again = await api.get_updates(timeout=1)
    assert first is not None and again is not None
    assert first.message_id == again.message_id == mid
    assert first == again  # same content: the bot must deduplicate by message_id


async def test_get_updates_while_a_webhook_is_set_is_an_error(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    await api.set_webhook("https://thidua.example/zalo", "s3cret-token")
    with pytest.raises(ZaloAPIError) as info:
        await api.get_updates(timeout=0)
    assert info.value.error_code == 409 and not info.value.permanent


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


async def test_send_message_splits_long_text_on_line_boundaries(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    fake.user("e5", "Em")
    text = paragraphs(4500)
    assert len(text) == 4500 and "\n" in text

    ids = await api.send_message("e5", text)

    parts = fake.texts("e5")
    assert len(parts) == 3 and len(ids) == 3
    assert ids == [c.message_id for c in fake.sent("e5")]
    assert all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == text  # split only where a newline was, nothing lost or reordered


async def test_send_short_message_and_chat_action(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("f6", "Phúc")
    await api.send_chat_action("f6")
    [mid] = await api.send_message("f6", "Đã ghi nhận ✅")
    assert fake.texts("f6") == ["Đã ghi nhận ✅"]
    action, message = fake.calls
    assert (action.method, action.params) == (
        "sendChatAction",
        {"chat_id": "f6", "action": "typing"},
    )
    assert message.message_id == mid


async def test_empty_message_is_refused_locally(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    with pytest.raises(ValueError):
        await api.send_message("f6", "  \n ")
    assert fake.calls == []


async def test_send_photo_with_caption(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("g7", "Giang")
    mid = await api.send_photo("g7", "https://img.example/bang-xep-hang.png", "Bảng xếp hạng")
    (call,) = fake.sent("g7")
    assert call.method == "sendPhoto" and call.message_id == mid
    assert call.params == {
        "chat_id": "g7",
        "photo": "https://img.example/bang-xep-hang.png",
        "caption": "Bảng xếp hạng",
    }


async def test_send_photo_long_caption_continues_in_text_messages(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    fake.user("g7", "Giang")
    caption = paragraphs(3000)
    await api.send_photo("g7", "https://img.example/x.png", caption)
    photo, rest = fake.sent("g7")
    assert (photo.method, rest.method) == ("sendPhoto", "sendMessage")
    assert f"{photo.text}\n{rest.text}" == caption


async def test_send_message_partial_failure_reports_sent_parts(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    fake.user("h8", "Hà")
    fake.fail_next("sendMessage", http_status=502, after=1)  # the second part fails
    with pytest.raises(ZaloAPIError) as info:
        await api.send_message("h8", paragraphs(4500))
    assert info.value.error_code == 502 and not info.value.permanent
    assert list(info.value.sent_message_ids) == [c.message_id for c in fake.sent("h8")]
    assert len(info.value.sent_message_ids) == 1


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


async def test_ok_false_in_http_200_raises_with_code_and_description(
    api: ZaloBotAPI, fake: FakeZaloAPI
) -> None:
    fake.user("i9", "Ích")
    fake.fail_next(
        "sendMessage", http_status=200, error_code=400, description="Bad Request: text invalid"
    )
    with pytest.raises(ZaloAPIError) as info:
        await api.send_message("i9", "xin chào")
    err = info.value
    assert (err.error_code, err.description, err.http_status) == (
        400,
        "Bad Request: text invalid",
        200,
    )
    assert err.method == "sendMessage" and err.permanent and err.retry_after is None
    assert "[400] Bad Request: text invalid" in str(err)


async def test_429_carries_retry_after_and_is_transient(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("j1", "Jun")
    fake.fail_next("sendMessage", http_status=429, retry_after=7)
    with pytest.raises(ZaloAPIError) as info:
        await api.send_message("j1", "nhanh quá")
    assert info.value.error_code == 429
    assert info.value.retry_after == 7
    assert not info.value.permanent
    [mid] = await api.send_message("j1", "nhanh quá")  # the next try goes through
    assert fake.texts("j1") == ["nhanh quá"] and mid


async def test_502_html_page_is_transient(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("k2", "Khoa")
    fake.fail_next("sendMessage", http_status=502, body="<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(ZaloAPIError) as info:
        await api.send_message("k2", "alo")
    assert info.value.error_code == 502 and info.value.http_status == 502
    assert not info.value.permanent


async def test_blocked_user_is_permanent(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("l3", "Linh")
    fake.block("l3")
    with pytest.raises(ZaloAPIError) as info:
        await api.send_message("l3", "nhắc nộp báo cáo")
    assert info.value.error_code == 403 and info.value.permanent
    with pytest.raises(ZaloAPIError) as unknown:
        await api.send_message("nobody", "?")
    assert unknown.value.error_code == 400 and unknown.value.permanent  # chat not found


async def test_dropped_connection_is_a_network_error(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    fake.user("m4", "Minh")
    fake.fail_next("sendMessage", http_status=DROP_CONNECTION)
    with pytest.raises(ZaloNetworkError) as info:
        await api.send_message("m4", "mất mạng")
    assert isinstance(info.value, ZaloAPIError)
    assert not info.value.permanent and info.value.error_code == 0


async def test_unreachable_server_is_a_network_error() -> None:
    async with ZaloBotAPI(TOKEN, base_url="http://127.0.0.1:9", timeout=2.0) as api:
        with pytest.raises(ZaloNetworkError) as info:
            await api.get_me()
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_wrong_token_is_refused(fake: FakeZaloAPI) -> None:
    async with ZaloBotAPI("1:wrong-token-value", base_url=fake.base_url) as api:
        with pytest.raises(ZaloAPIError) as info:
            await api.get_me()
    assert info.value.error_code == 401 and info.value.permanent
    assert fake.unauthorized == 1 and fake.calls == []


async def test_token_never_appears_in_errors_reprs_or_logs(
    fake: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_half = TOKEN.split(":", 1)[1]
    errors: list[ZaloAPIError] = []
    async with ZaloBotAPI(TOKEN, base_url=fake.base_url, timeout=5.0) as api:
        fake.user("n5", "Nam")
        await api.get_me()
        await api.send_message("n5", "ok")
        for kwargs in (
            {"http_status": 429, "retry_after": 1},
            {"http_status": 502, "body": "<html>bad gateway</html>"},
            {"http_status": 200, "error_code": 403, "description": f"echo /bot{TOKEN}/x"},
            {"http_status": DROP_CONNECTION},
        ):
            fake.fail_next("sendMessage", **kwargs)
            with pytest.raises(ZaloAPIError) as info:
                await api.send_message("n5", "ok")
            errors.append(info.value)
        client_repr = repr(api)
    async with ZaloBotAPI(TOKEN, base_url="http://127.0.0.1:9", timeout=2.0) as down:
        with pytest.raises(ZaloNetworkError) as info:
            await down.get_me()
        errors.append(info.value)

    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log URLs
    assert "/bot<redacted>/getMe" in caplog.text
    shown = [str(e) for e in errors] + [repr(e) for e in errors] + [client_repr]
    shown += [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in shown:
        assert TOKEN not in text and secret_half not in text
    assert "<redacted>" in str(errors[2])


# --------------------------------------------------------------------------------------------
# Webhook methods and the fake's webhook delivery
# --------------------------------------------------------------------------------------------


async def test_webhook_set_and_delete(api: ZaloBotAPI, fake: FakeZaloAPI) -> None:
    info = await api.set_webhook("https://thidua.example/zalo", "s3cret-token")
    assert info.url == "https://thidua.example/zalo" and info.updated_at is not None
    assert fake.webhook_secret == "s3cret-token"
    assert fake.webhook_url == "https://thidua.example/zalo"
    await api.delete_webhook()
    assert fake.webhook_url == ""
    with pytest.raises(ZaloAPIError) as info_err:
        await api.set_webhook("https://thidua.example/zalo", "short")
    assert info_err.value.error_code == 400 and info_err.value.permanent


@pytest.mark.parametrize("wrapped", [True, False])
async def test_deliver_webhook_posts_update_with_secret(fake: FakeZaloAPI, wrapped: bool) -> None:
    received: list[tuple[str | None, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        ok = verify_webhook_secret("s3cret-token", request.headers.get(SECRET_HEADER))
        return web.Response(status=200 if ok else 403, text="ok" if ok else "no")

    app = web.Application()
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        update = fake.user("o6", "Oanh").text_update("qua webhook")
        good = await fake.deliver_webhook(
            f"http://127.0.0.1:{port}/zalo", update, "s3cret-token", wrapped=wrapped
        )
        bad = await fake.deliver_webhook(f"http://127.0.0.1:{port}/zalo", update, None)
    finally:
        await runner.cleanup()
    assert (good.status, bad.status) == (200, 403)
    secret, body = received[0]
    assert secret == "s3cret-token"
    assert ("result" in body) is wrapped
    parsed = ZaloUpdate.from_dict(body)  # accepts both shapes
    assert parsed.message.text == "qua webhook"
    assert parsed.message_id == update["message"]["message_id"]
    assert fake.pending_updates == 0  # building a webhook update does not queue it


# --------------------------------------------------------------------------------------------
# split_text
# --------------------------------------------------------------------------------------------


def test_split_text_short_and_empty() -> None:
    assert split_text("xin chào") == ["xin chào"]
    assert split_text("x" * 2000) == ["x" * 2000]
    assert split_text("") == [] and split_text(" \n ") == []


def test_split_text_hard_cuts_a_long_line() -> None:
    parts = split_text("a" * 4500)
    assert [len(p) for p in parts] == [2000, 2000, 500]
    words = ("từ " * 1500).strip()
    parts = split_text(words)
    assert all(len(p) <= 2000 for p in parts) and len(parts) == 3
    assert all(not p.endswith("t") for p in parts[:-1])  # cut after a space, not mid-word
    assert "".join(parts) == words


def test_split_text_mixed_lines_keep_order_and_content() -> None:
    text = "đầu\n" + "b" * 2500 + "\n" + "c" * 10 + "\n\n" + paragraphs(2100)
    parts = split_text(text, limit=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert no_space("".join(parts)) == no_space(text)


def test_split_text_counts_emoji_as_two_units() -> None:
    parts = split_text("😀" * 1500)
    assert [len(p) for p in parts] == [1000, 500]
    assert all(len(p.encode("utf-16-le")) // 2 <= 2000 for p in parts)


# --------------------------------------------------------------------------------------------
# Parsing odd payloads (httpx.MockTransport, no server)
# --------------------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def mock_api(handler: Handler) -> tuple[ZaloBotAPI, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ZaloBotAPI(TOKEN, base_url="https://zalo.test/", client=client), client


def envelope(result: Any, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"ok": True, "result": result, **extra})


async def test_request_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return envelope({"message_id": "m1", "date": 1749632637199})

    api, client = mock_api(handler)
    async with client:
        assert await api.send_message("u1", "chào") == ["m1"]
        await api.aclose()
        assert not client.is_closed  # a client passed in belongs to the caller
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"https://zalo.test/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"chat_id": "u1", "text": "chào"}


async def test_parses_minimal_and_extra_keys() -> None:
    payloads: list[Any] = [
        # the reference's own getUpdates sample: no event_name, "first_name", date in ms
        {
            "message": {
                "chat": {"id": "c1", "chat_type": "PRIVATE"},
                "text": "Xin chào",
                "message_id": "16f6366b3f02645a3d15",
                "date": 1766619597466,
                "from": {"id": "c1", "first_name": "Nguyen Van A"},
            }
        },
        # bare minimum: id and chat only, plus keys we do not know
        {
            "event_name": "message.text.received",
            "message": {"message_id": 42, "chat": {"id": 99}, "mystery": [1, 2]},
            "app_id": "x",
        },
        # image spelled "photo", sender "name", date in seconds, group chat in lower case
        {
            "message": {
                "message_id": "p1",
                "chat": {"id": "g1", "chat_type": "group"},
                "from": {"id": "u7", "name": "Bảy", "is_bot": True},
                "photo": "https://img/1.jpg",
                "caption": "cap",
                "date": 1749632637,
            }
        },
        # no chat at all: replies go to the sender
        {
            "event_name": EVENT_STICKER,
            "message": {"message_id": "s1", "from": {"id": "u8"}, "sticker_id": "st"},
        },
    ]
    queue = list(payloads)

    def handler(request: httpx.Request) -> httpx.Response:
        return envelope(queue.pop(0))

    api, client = mock_api(handler)
    async with client:
        got = [await api.get_updates(timeout=0) for _ in payloads]
    sample, minimal, photo, sticker = got
    assert sample is not None and sample.event_name == EVENT_TEXT
    assert sample.message.sender_name == "Nguyen Van A"
    assert sample.message.date == datetime.fromtimestamp(1766619597.466, tz=UTC)
    assert minimal is not None
    assert (minimal.message.message_id, minimal.message.chat_id) == ("42", "99")
    assert (minimal.message.sender_id, minimal.message.chat_type) == ("99", "PRIVATE")
    assert minimal.message.sender_name is None and minimal.message.date is None
    assert photo is not None and photo.event_name == EVENT_IMAGE
    assert (photo.message.photo_url, photo.message.text) == ("https://img/1.jpg", "cap")
    assert photo.message.chat_type == "GROUP" and photo.message.sender_is_bot
    assert photo.message.date == datetime.fromtimestamp(1749632637, tz=UTC)
    assert sticker is not None and sticker.message.sticker == "st"
    assert sticker.message.chat_id == "u8"


async def test_list_results_are_buffered_and_garbage_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: list[httpx.Response] = [
        envelope(
            [
                {"message": {"message_id": "a", "chat": {"id": "c"}, "text": "1"}},
                {"message": {"chat": {"id": "c"}, "text": "no id"}},
                {"message": {"message_id": "b", "chat": {"id": "c"}, "text": "2"}},
            ]
        ),
        envelope(None),
        envelope({}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    api, client = mock_api(handler)
    async with client:
        first = await api.get_updates()
        second = await api.get_updates()  # from the buffer, no request
        assert answers and len(answers) == 2
        assert await api.get_updates() is None  # result null
        assert await api.get_updates() is None  # result {}
    assert first is not None and second is not None
    assert [first.message_id, second.message_id] == ["a", "b"]
    assert "cannot be parsed" in caplog.text


async def test_error_shapes() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "12"}, json={"ok": False, "error_code": 429}),
        httpx.Response(200, json={"ok": False, "description": "no code"}),
        httpx.Response(200, text="not json"),
        httpx.Response(503, json={"ok": False, "error_code": 503, "retry_after": 2.5}),
        httpx.Response(200, json={"ok": True}),  # sendMessage without a result: still sent
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    api, client = mock_api(handler)
    async with client:
        errors: list[ZaloAPIError] = []
        for _ in range(4):
            with pytest.raises(ZaloAPIError) as info:
                await api.send_chat_action("c")
            errors.append(info.value)
        assert await api.send_message("c", "x") == [""]
    limited, no_code, not_json, unavailable = errors
    assert (limited.retry_after, limited.permanent) == (12, False)
    assert (no_code.error_code, no_code.description, no_code.permanent) == (200, "no code", False)
    assert not_json.error_code == 200 and "not a Bot API answer" in not_json.description
    assert (unavailable.retry_after, unavailable.permanent) == (2.5, False)


async def test_constructor_validates_and_hides_token() -> None:
    with pytest.raises(ValueError):
        ZaloBotAPI("")
    with pytest.raises(ValueError):
        ZaloBotAPI(TOKEN, base_url="ftp://zalo.test")
    api = ZaloBotAPI(TOKEN)
    assert api.base_url == "https://bot-api.zaloplatforms.com"
    assert api.bot_id == "7777777777777777777"
    assert TOKEN.split(":")[1] not in repr(api)
    await api.aclose()


def test_webhook_secret_check() -> None:
    assert verify_webhook_secret("abcdefgh", "abcdefgh")
    assert not verify_webhook_secret("abcdefgh", "abcdefgX")
    assert not verify_webhook_secret("abcdefgh", None)
    assert not verify_webhook_secret("", "")
