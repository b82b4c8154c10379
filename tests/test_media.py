"""Generated images for Zalo: the in-memory MediaStore, the webhook server's ``/media/{token}``
route, and a ZaloChannel sending a chart with ``sendPhoto`` by a URL that FakeZaloAPI's caller
(here, the test, playing Zalo's fetcher) can download from the WebhookServer.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloBotAPI
from bot.media import MediaStore
from bot.webhook import WebhookServer
from domain.errors import DeliveryError
from domain.messages import Attachment, Reply
from tests.fakes.zalo_api import FakeZaloAPI
from tests.harness import FakeClock, Harness


def png(seed: int = 0, size: int = 64) -> bytes:
    """A small PNG-looking blob (signature, then distinct bytes per seed)."""
    return b"\x89PNG\r\n\x1a\n" + zlib.compress(bytes([seed % 256]) * size) + bytes(size)


def chart(data: bytes, filename: str = "bxh.png", kind: str = "image") -> Attachment:
    return Attachment(kind, filename, base64.b64encode(data).decode())


# ---- the store ----------------------------------------------------------------------------


def test_put_returns_unguessable_tokens_and_get_finds_the_bytes() -> None:
    store = MediaStore(clock=FakeClock())
    first = store.put(png(1), "image/png", "a.png")
    second = store.put(png(2), "image/png", "b.png")
    assert first != second and len(first) >= 43  # 32 random bytes, base64url
    assert store.get(first) == (png(1), "image/png")
    assert store.get(second) == (png(2), "image/png")
    assert store.get(secrets.token_urlsafe(32)) is None
    assert store.get("") is None


def test_items_expire_after_the_ttl_by_the_injected_clock() -> None:
    clock = FakeClock()
    store = MediaStore(clock=clock, ttl=dt.timedelta(hours=2))
    token = store.put(png(), "image/png", "a.png")
    clock.advance(hours=1, minutes=59)
    assert store.get(token) is not None
    clock.advance(minutes=1)
    assert store.get(token) is None
    assert len(store) == 0 and store.total_bytes == 0  # expired items are dropped


def test_expired_items_are_dropped_on_put() -> None:
    clock = FakeClock()
    store = MediaStore(clock=clock, ttl=dt.timedelta(minutes=10))
    store.put(png(1), "image/png", "a.png")
    clock.advance(minutes=11)
    fresh = store.put(png(2), "image/png", "b.png")
    assert len(store) == 1 and store.get(fresh) is not None


def test_the_oldest_are_evicted_beyond_the_item_limit() -> None:
    store = MediaStore(clock=FakeClock(), max_items=3)
    tokens = [store.put(png(n), "image/png", f"{n}.png") for n in range(5)]
    assert len(store) == 3
    assert [store.get(t) is not None for t in tokens] == [False, False, True, True, True]


def test_the_oldest_are_evicted_beyond_the_byte_limit() -> None:
    blob = bytes(400)
    store = MediaStore(clock=FakeClock(), max_bytes=1000)
    tokens = [store.put(blob, "image/png", f"{n}.png") for n in range(4)]
    assert store.total_bytes == 800
    assert [store.get(t) is not None for t in tokens] == [False, False, True, True]
    with pytest.raises(ValueError, match="exceed"):
        store.put(bytes(1001), "image/png", "huge.png")
    assert store.total_bytes == 800  # a refused item evicts nothing


# ---- the /media route ---------------------------------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[WebhookServer, MediaStore, FakeClock]]:
    clock = FakeClock()
    store = MediaStore(clock=clock, ttl=dt.timedelta(hours=24))
    async with WebhookServer("127.0.0.1", 0, media=store) as server:
        yield server, store, clock


async def test_media_route_serves_the_bytes_until_they_expire(
    served: tuple[WebhookServer, MediaStore, FakeClock],
) -> None:
    server, store, clock = served
    token = store.put(png(7), "image/png", "bxh.png")
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get(f"/media/{token}")
        assert response.status_code == 200
        assert response.content == png(7)
        assert response.headers["content-type"].startswith("image/png")
        assert (await client.get(f"/media/{secrets.token_urlsafe(32)}")).status_code == 404
        assert (await client.get("/media/")).status_code == 404  # nothing is listed
        assert (await client.get("/media")).status_code == 404
        clock.advance(hours=24)
        expired = await client.get(f"/media/{token}")
        assert expired.status_code == 404
        assert expired.content == (await client.get("/media/unknown")).content  # same answer


async def test_without_a_store_there_is_no_media_route() -> None:
    async with (
        WebhookServer("127.0.0.1", 0) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        assert (await client.get("/media/anything")).status_code == 404
        assert (await client.get("/healthz")).status_code == 200


# ---- end to end through the Zalo channel --------------------------------------------------


@dataclass
class Rig:
    fake: FakeZaloAPI
    api: ZaloBotAPI
    server: WebhookServer
    store: MediaStore
    clock: FakeClock

    def channel(self, h: Harness, *, public: bool = True) -> ZaloChannel:
        return ZaloChannel(
            self.api,
            h.db,
            h.clock,
            media=self.store,
            public_base_url=f"{self.server.url}/" if public else None,
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock()
    store = MediaStore(clock=clock)
    async with (
        FakeZaloAPI() as fake,
        ZaloBotAPI(fake.token, base_url=fake.base_url) as api,
        WebhookServer("127.0.0.1", 0, media=store) as server,
    ):
        yield Rig(fake, api, server, store, clock)
        assert not fake.errors


async def test_an_image_goes_out_with_send_photo_by_a_url_serving_the_same_bytes(
    rig: Rig, h: Harness
) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/bxh")  # the chat exists for the strict fake
    data = png(42, size=2048)
    reply = Reply("🏆 Bảng xếp hạng\n1. Hoàn Kiếm 12", attachment=chart(data))

    message_id = await rig.channel(h).deliver(user.id, reply)

    [call] = rig.fake.calls_of("sendPhoto")
    assert call.ok and call.result["message_id"] == message_id
    assert call.params["caption"] == "🏆 Bảng xếp hạng\n1. Hoàn Kiếm 12"  # no "not sent" note
    assert not rig.fake.calls_of("sendMessage")
    url = str(call.params["photo"])
    assert url.startswith(f"{rig.server.url}/media/")  # the trailing slash was not doubled
    async with httpx.AsyncClient() as client:  # what Zalo does with the URL
        fetched = await client.get(url)
        assert fetched.status_code == 200 and fetched.content == data
        assert fetched.headers["content-type"].startswith("image/png")
        rig.clock.advance(days=1)
        assert (await client.get(url)).status_code == 404


async def test_without_a_public_url_the_same_reply_goes_out_as_text(rig: Rig, h: Harness) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/bxh")
    reply = Reply("🏆 Bảng xếp hạng\n1. Hoàn Kiếm 12", attachment=chart(png()))

    await rig.channel(h, public=False).deliver(user.id, reply)

    assert not rig.fake.calls_of("sendPhoto")
    [text] = rig.fake.texts(user.id)
    assert text.startswith("🏆 Bảng xếp hạng\n1. Hoàn Kiếm 12\n\n📎 Ảnh “bxh.png”")
    assert len(rig.store) == 0


async def test_a_document_always_goes_out_as_text_with_the_note(rig: Rig, h: Harness) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/export")
    reply = Reply("Báo cáo tháng 3", attachment=chart(b"PK\x03\x04", "bc.xlsx", "document"))

    await rig.channel(h).deliver(user.id, reply)

    assert not rig.fake.calls_of("sendPhoto")
    assert "📎 Tệp “bc.xlsx”" in rig.fake.texts(user.id)[0]
    assert len(rig.store) == 0


async def test_an_image_without_text_is_a_photo_without_caption(rig: Rig, h: Harness) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/bxh")
    await rig.channel(h).deliver(user.id, Reply("", attachment=chart(png())))
    [call] = rig.fake.calls_of("sendPhoto")
    assert "caption" not in call.params


async def test_a_long_caption_failing_half_way_resends_only_the_rest(rig: Rig, h: Harness) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/bxh")
    long_text = "\n".join(f"Dòng {n:04d} " + "a" * 90 for n in range(60))  # 3 parts
    reply = Reply(long_text, attachment=chart(png()))
    channel = rig.channel(h)
    rig.fake.fail_next("sendMessage", http_status=502, body="<html>502</html>")

    with pytest.raises(DeliveryError) as failed:
        await channel.deliver(user.id, reply)
    assert not failed.value.permanent
    await channel.deliver(user.id, reply)  # the outbox's retry of the same row

    assert len(rig.fake.sent(user.id, "sendPhoto")) == 1  # the photo went out once
    assert "\n".join(rig.fake.texts(user.id, captions=True)) == long_text


async def test_zalo_refusing_the_photo_maps_to_delivery_errors(rig: Rig, h: Harness) -> None:
    user = rig.fake.user("u1", "An")
    user.text_update("/bxh")
    channel = rig.channel(h)
    reply = Reply("BXH", attachment=chart(png()))
    rig.fake.fail_next("sendPhoto", http_status=429, retry_after=3)
    with pytest.raises(DeliveryError) as limited:
        await channel.deliver(user.id, reply)
    assert not limited.value.permanent and limited.value.retry_after == 3
    await channel.deliver(user.id, reply)
    assert len(rig.fake.sent(user.id, "sendPhoto")) == 1

    bad = Reply("BXH", attachment=Attachment("image", "x.png", "not base64!"))
    with pytest.raises(DeliveryError) as invalid:
        await channel.deliver(user.id, bad)
    assert invalid.value.permanent
