"""The webhook server over real HTTP: FakeZaloAPI posts as Zalo would, aiohttp posts as Telegram.

The Zalo channel runs in webhook mode on the Harness's dispatcher, with an OutboxSender
delivering its replies back to the fake. The server knows no platform: it serves the routes
the channels behind its receivers contribute; a stand-in channel contributes
``/telegram/webhook`` and keeps what it was given.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot.channels.base import Received, Receiver, Webhook
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloBotAPI
from bot.outbox_sender import OutboxSender
from bot.webhook import WebhookServer
from domain.messages import Inbound, Reply
from runtime.dispatcher import Dispatcher
from runtime.ingress import Ingress
from tests.fakes.zalo_api import FakeZaloAPI
from tests.harness import Harness

ZALO_SECRET = "zalo-webhook-secret-0123456789"
TELEGRAM_SECRET = "telegram-webhook-secret-9876543210"
TELEGRAM_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class GatedDispatcher(Dispatcher):
    """The real dispatcher whose inbox writes wait for the test's go-ahead (to observe order)."""

    def __init__(self, h: Harness) -> None:
        super().__init__(
            h.db, h.dispatcher.settings, h.catalog, h.clock, router=h.dispatcher.router
        )
        self.entered = asyncio.Event()
        self.go = asyncio.Event()
        self.go.set()

    async def receive_many(self, inbounds: Iterable[Inbound]) -> list[Inbound]:
        self.entered.set()
        await self.go.wait()
        return await super().receive_many(inbounds)


class Keeper:
    """A channel whose webhook route keeps each body it is given (Telegram's place)."""

    name = "telegram"
    polling = False

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def webhooks(self) -> Sequence[Webhook]:
        return (Webhook("/telegram/webhook", TELEGRAM_HEADER, TELEGRAM_SECRET, self._keep),)

    async def _keep(self, body: dict[str, Any]) -> Received:
        self.bodies.append(body)
        return Received()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def receive(self) -> Received:
        raise NotImplementedError

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        raise NotImplementedError


@dataclass
class Rig:
    h: Harness
    fake: FakeZaloAPI
    dispatcher: GatedDispatcher
    channel: ZaloChannel
    server: WebhookServer
    ingress: Ingress
    receiver: Receiver
    telegram_updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def zalo_url(self) -> str:
        return f"{self.server.url}/zalo/webhook"

    async def inbox_rows(self) -> int:
        return int(str(await self.h.scalar("SELECT COUNT(*) FROM inbox")))

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.server.url}{path}", data=body, headers=headers) as response,
        ):
            return response.status, await response.text()


@pytest.fixture
async def rig(h: Harness) -> AsyncIterator[Rig]:
    async with FakeZaloAPI() as fake, ZaloBotAPI(fake.token, base_url=fake.base_url) as api:
        dispatcher = GatedDispatcher(h)
        channel = ZaloChannel(api, h.db, h.clock, mode="webhook", webhook_secret=ZALO_SECRET)
        sender = OutboxSender(h.db, channel, h.clock, idle_poll=0.2)
        dispatcher.on_outbox = sender.submit
        ingress = Ingress(dispatcher)
        receiver = Receiver(channel, ingress)
        keeper = Receiver(Keeper(), ingress)
        server = WebhookServer("127.0.0.1", 0, receivers=[receiver, keeper])
        await server.start()
        channel.webhook_url = f"{server.url}/zalo/webhook"
        await sender.start()
        await channel.start()
        receiver.start()
        keeper.start()
        assert isinstance(keeper.channel, Keeper)
        try:
            yield Rig(
                h, fake, dispatcher, channel, server, ingress, receiver, keeper.channel.bodies
            )
        finally:
            await receiver.stop()
            await server.stop()
            await ingress.wait_handled()
            await channel.stop()
            await sender.stop()


async def test_start_registers_the_webhook_and_does_not_poll(rig: Rig) -> None:
    assert rig.fake.webhook_url == rig.zalo_url
    assert rig.fake.webhook_secret == ZALO_SECRET
    assert not rig.fake.calls_of("getUpdates") and not rig.fake.calls_of("deleteWebhook")


async def test_right_secret_is_answered_200_only_after_the_update_is_in_the_inbox(
    rig: Rig,
) -> None:
    user = rig.fake.user("u1", "An")
    rig.dispatcher.go.clear()  # hold the inbox write
    post = asyncio.create_task(
        rig.fake.deliver_webhook(rig.zalo_url, user.text_update("/help"), ZALO_SECRET)
    )
    await rig.dispatcher.entered.wait()
    # A negative check needs a bound: the answer must not come while the write is held.
    done, _ = await asyncio.wait({post}, timeout=0.2)
    assert not done and await rig.inbox_rows() == 0
    rig.dispatcher.go.set()
    response = await post
    assert response.status == 200
    assert await rig.inbox_rows() == 1  # there the moment Zalo was told "received"
    await rig.fake.wait_calls(1, "sendMessage", "u1")  # and it was handled in the background


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
async def test_wrapped_and_bare_bodies_are_both_handled_and_repeats_once(
    rig: Rig, wrapped: bool
) -> None:
    user = rig.fake.user("u2", "Bình")
    update = user.text_update("/help")
    for _ in range(2):  # Zalo may deliver the same message twice
        response = await rig.fake.deliver_webhook(
            rig.zalo_url, update, ZALO_SECRET, wrapped=wrapped
        )
        assert response.status == 200
    await rig.fake.wait_calls(1, "sendMessage", "u2")
    await rig.ingress.wait_handled()
    assert await rig.inbox_rows() == 1
    key = f"zalo:{update['message']['message_id']}"
    assert await rig.h.scalar("SELECT status FROM inbox WHERE key = ?", key) == "done"


@pytest.mark.parametrize(
    "secret", [None, "wrong-secret-123", ""], ids=["missing", "wrong", "empty"]
)
async def test_a_missing_or_wrong_secret_is_refused_and_nothing_recorded(
    rig: Rig, secret: str | None
) -> None:
    user = rig.fake.user("u3", "Cường")
    response = await rig.fake.deliver_webhook(rig.zalo_url, user.text_update("/help"), secret)
    assert response.status == 403
    assert await rig.inbox_rows() == 0
    status, _ = await rig.post(
        "/telegram/webhook",
        json.dumps({"update_id": 1}).encode(),
        {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret},
    )
    assert status == 403 and rig.telegram_updates == []


DEEP_LIST = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_OBJECT = b'{"a": ' * 40 + b"1" + b"}" * 40


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b"\xff\xfe", b"", DEEP_LIST, DEEP_OBJECT],
    ids=["text", "list", "not-utf8", "empty", "nested-100000", "nested-40"],
)
async def test_a_body_that_is_not_a_json_object_is_refused_and_nothing_recorded(
    rig: Rig, body: bytes
) -> None:
    zalo, _ = await rig.post("/zalo/webhook", body, {"X-Bot-Api-Secret-Token": ZALO_SECRET})
    telegram, _ = await rig.post(
        "/telegram/webhook", body, {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )
    assert (zalo, telegram) == (400, 400)
    assert await rig.inbox_rows() == 0 and rig.telegram_updates == []


async def test_telegram_updates_go_to_the_ingest_callable(rig: Rig) -> None:
    update = {"update_id": 7, "message": {"message_id": 1, "text": "/help"}}
    status, text = await rig.post(
        "/telegram/webhook",
        json.dumps(update).encode(),
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(text) == {"ok": True}
    assert rig.telegram_updates == [update]


async def test_a_json_body_without_a_message_is_acknowledged_and_ignored(rig: Rig) -> None:
    status, _ = await rig.post(
        "/zalo/webhook", b'{"event_name": "ping"}', {"X-Bot-Api-Secret-Token": ZALO_SECRET}
    )
    assert status == 200 and await rig.inbox_rows() == 0


async def test_after_stop_receiving_the_zalo_webhook_asks_for_a_later_delivery(rig: Rig) -> None:
    await rig.receiver.stop()
    user = rig.fake.user("u4", "Dũng")
    response = await rig.fake.deliver_webhook(rig.zalo_url, user.text_update("/help"), ZALO_SECRET)
    assert response.status == 503 and await rig.inbox_rows() == 0


async def test_healthz(rig: Rig) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{rig.server.url}/healthz") as response,
    ):
        assert response.status == 200
        assert await response.json() == {"ok": True}
