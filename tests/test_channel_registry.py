"""A new messenger is one channel module plus its registration: proven with a carrier pigeon.

`Pigeon` below is a whole channel in some forty lines: it maps its platform's messages to
`Inbound`s, receives by long polling or by a webhook route it contributes, and delivers
replies. Registered through `bot.channels.registry` like Telegram and Zalo, it is started by
the real App, and a report conversation goes through it end to end: inbox, dispatcher,
outbox, its `deliver`. Nothing else in the bot is told about it.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import App
from bot.channels import registry
from bot.channels.base import Received, Webhook
from bot.config import Secrets, load_config
from domain.messages import Button, ChatType, Inbound, InboundKind, Reply
from domain.models import Role
from runtime.context import Clock
from tests.harness import EXAMPLE, FakeClock
from usecases.access import OPERATOR
from usecases.invites import create_invite

NAME = "pigeon"
SECRET = "pigeon-loft-secret-0123456789"
SECRET_HEADER = "X-Pigeon-Secret"
WAIT = 10.0


class Pigeon:
    """The channel: messages are dicts {"id", "from", "text" | "choice"}; replies are kept."""

    name = NAME

    def __init__(self, clock: Clock, db_path: str, *, webhook: bool = False) -> None:
        self.clock = clock
        self.db_path = db_path
        self.webhook = webhook
        self.loft: asyncio.Queue[list[dict[str, str]]] = asyncio.Queue()  # polls' answers
        self.delivered: list[tuple[str, Reply]] = []
        self.in_inbox_when_confirmed: list[bool] = []
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)

    @property
    def polling(self) -> bool:
        return not self.webhook

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def receive(self) -> Received:
        messages = await self.loft.get()
        inbounds = [self._inbound(m) for m in messages]
        return Received(inbounds, lambda: self._confirmed(inbounds))

    def webhooks(self) -> Sequence[Webhook]:
        return (
            (Webhook("/pigeon/webhook", SECRET_HEADER, SECRET, self._parse),)
            if self.webhook
            else ()
        )

    async def _parse(self, body: dict[str, Any]) -> Received:
        inbound = self._inbound(body)
        return Received([inbound], lambda: self._confirmed([inbound]))

    def _inbound(self, message: dict[str, str]) -> Inbound:
        text = message.get("text", "")
        base = Inbound(
            channel=NAME,
            key=f"{NAME}:{message['id']}",
            chat_id=message["from"],
            chat_type=ChatType.PRIVATE,
            sender_id=message["from"],
            sender_name="Chim Bồ Câu",
            kind=InboundKind.TEXT,
            received_at=self.clock.now(),
            text=text,
        )
        if "choice" in message:
            return replace(base, kind=InboundKind.CHOICE, choice=message["choice"], message_ref="")
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return replace(base, kind=InboundKind.COMMAND, command=command, args=args)
        return base

    def _confirmed(self, inbounds: Sequence[Inbound]) -> None:
        """What the platform is told "received" for must already be in the inbox."""
        with sqlite3.connect(self.db_path) as db:
            for inbound in inbounds:
                row = db.execute("SELECT 1 FROM inbox WHERE key = ?", (inbound.key,)).fetchone()
                self.in_inbox_when_confirmed.append(row is not None)

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        if reply.action is not None:
            return ""
        self.delivered.append((chat_id, reply))
        self._changed.set()
        return str(next(self._ids))

    async def wait_for(self, chat_id: str, fragment: str, after: int) -> tuple[int, Reply]:
        """The first reply to `chat_id` containing `fragment` past index `after`."""

        def found() -> tuple[int, Reply] | None:
            for n, (chat, reply) in enumerate(self.delivered[after:], after):
                if chat == chat_id and fragment in reply.text:
                    return n, reply
            return None

        async def wait() -> tuple[int, Reply]:
            while (hit := found()) is None:
                self._changed.clear()
                await self._changed.wait()
            return hit

        return await asyncio.wait_for(wait(), WAIT)


@dataclass
class Flier:
    """A person on the pigeon network."""

    pigeon: Pigeon
    id: str
    seen: int = 0
    on_screen: tuple[Button, ...] = ()
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def message(self, **content: str) -> dict[str, str]:
        return {"id": f"{self.id}-{next(self._ids)}", "from": self.id, **content}

    async def expect(self, fragment: str) -> Reply:
        n, reply = await self.pigeon.wait_for(self.id, fragment, self.seen)
        self.seen = n + 1
        if reply.buttons:
            self.on_screen = tuple(reply.choice_buttons)
        return reply

    async def say(self, text: str, expect: str) -> Reply:
        await self.pigeon.loft.put([self.message(text=text)])
        return await self.expect(expect)

    async def press(self, label: str, expect: str) -> Reply:
        [data] = [b.data for b in self.on_screen if label in b.label]
        await self.pigeon.loft.put([self.message(choice=data)])
        return await self.expect(expect)


@dataclass
class Pigeons:
    """The pigeons the registered builder made, and how the next one receives."""

    webhook: bool = False
    made: list[Pigeon] = field(default_factory=list)

    def build(self, setup: registry.ChannelSetup) -> Pigeon:
        self.made.append(Pigeon(setup.clock, setup.db.path, webhook=self.webhook))
        return self.made[-1]


@pytest.fixture
def pigeons() -> Iterator[Pigeons]:
    """The pigeon registered for one test, as any messenger is."""
    kind = Pigeons()
    registry.register(registry.ChannelKind(NAME, enabled=lambda setup: True, build=kind.build))
    try:
        yield kind
    finally:
        registry.unregister(NAME)


@asynccontextmanager
async def running(tmp_path: Path, *, webhook: bool = False) -> AsyncIterator[App]:
    base = load_config(EXAMPLE)
    config = base
    if webhook:
        server = base.webhook.model_copy(update={"host": "127.0.0.1", "port": 0})
        config = base.model_copy(update={"webhook": server})
    app = App(config, Secrets(), clock=FakeClock(), database=str(tmp_path / "pigeon.sqlite3"))
    for channel in app.enabled_channels():  # no tokens: the pigeon alone
        app.add_channel(channel)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def invite(app: App) -> str:
    async with app.db.transaction() as tx:
        issued = await create_invite(
            tx,
            OPERATOR,
            unit_code="hoan_kiem",
            role=Role.OFFICER,
            uses=1,
            expires_in=None,
            now=app.clock.now(),
        )
    return issued.shown


async def count(app: App, sql: str) -> int:
    async with app.db.transaction() as tx:
        return int(await tx.fetch_value(sql))


async def test_a_registered_channel_carries_a_report_end_to_end(
    tmp_path: Path, pigeons: Pigeons
) -> None:
    async with running(tmp_path) as app:
        assert list(app.channels) == [NAME]
        [pigeon] = pigeons.made
        an = Flier(pigeon, "p-1")
        await an.say(f"/start {await invite(app)}", "Chào mừng")
        await an.say("/report", "Bạn muốn báo cáo hoạt động nào?")
        await an.press("Tặng quà", "Số suất quà")
        await an.say("20", "Giá trị mỗi suất")
        await an.say("500.000đ", "Đối tượng nhận quà")
        await an.say("nữ đoàn viên", "Dịp tặng quà")
        await an.press("8/3", "Ngày trao")
        await an.say("8/3", "Ảnh minh chứng")
        card = await an.press("Bỏ qua", "kiểm tra lại")
        assert "• Giá trị mỗi suất: 500.000 đ" in card.text
        saved = await an.press("Lưu", "Đã lưu báo cáo #1")
        assert saved.text.startswith("✅ Đã lưu báo cáo #1: 🎁 Tặng quà · 20 suất · 500.000 đ")

        # a repeated delivery is recorded once and answered once
        again = an.message(text="/myreports")
        await pigeon.loft.put([again, again])
        await an.expect("Báo cáo gần nhất")
        await an.say("/help", "/report")  # handled after the repeat
        await app.ingress.wait_handled()
        await app.senders[NAME].wait_idle(WAIT)
        assert sum("Báo cáo gần nhất" in r.text for _, r in pigeon.delivered) == 1
        assert await count(app, "SELECT COUNT(*) FROM reports") == 1
        assert await count(app, "SELECT COUNT(*) FROM inbox WHERE status != 'done'") == 0
        assert await count(app, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0
        assert await count(app, "SELECT COUNT(*) FROM outbox") == len(pigeon.delivered)
        assert pigeon.in_inbox_when_confirmed and all(pigeon.in_inbox_when_confirmed)


async def test_a_registered_channel_contributes_its_webhook_route(
    tmp_path: Path, pigeons: Pigeons
) -> None:
    pigeons.webhook = True
    async with running(tmp_path, webhook=True) as app:
        [pigeon] = pigeons.made
        assert app.server is not None and not pigeon.polling
        url = f"{app.server.url}/pigeon/webhook"
        message = Flier(pigeon, "p-2").message(text="/help")
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=message, headers={SECRET_HEADER: "wrong"}) as wrong:
                assert wrong.status == 403
            for _ in range(2):  # delivered twice by the platform
                async with http.post(url, json=message, headers={SECRET_HEADER: SECRET}) as ok:
                    assert ok.status == 200
        assert pigeon.in_inbox_when_confirmed == [True, True]  # before each 200
        await app.ingress.wait_handled()
        await app.senders[NAME].wait_idle(WAIT)
        assert await count(app, "SELECT COUNT(*) FROM inbox") == 1
        assert len(pigeon.delivered) == 1


def test_updates_are_recorded_and_handled_in_one_place_only() -> None:
    """Channels, the webhook server and the app reach the inbox and the dispatcher only
    through runtime/ingress.py: no second way in to keep the guarantees of."""
    root = Path(__file__).resolve().parent.parent
    own = {root / "runtime" / "ingress.py", root / "runtime" / "dispatcher.py"}
    calls = ("receive_many(", "dispatcher.receive(", "dispatcher.process(", "inbox.record(")
    found = [
        f"{path.relative_to(root)}: {call}"
        for folder in ("bot", "handlers", "runtime", "usecases")
        for path in sorted((root / folder).rglob("*.py"))
        if path not in own
        for call in calls
        if call in path.read_text(encoding="utf-8")
    ]
    assert found == []
