"""The outbox sender: order per chat, retries that never reorder, permanent failures recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.outbox_sender import OutboxSender, _Pacing
from domain.errors import DeliveryError
from domain.messages import Reply
from storage import outbox
from storage.db import Database
from tests.harness import FakeClock

pytestmark = pytest.mark.both_backends


class ScriptedChannel:
    """A channel whose platform answers from a script: ok, or a DeliveryError per text."""

    name = "scripted"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.failures: dict[str, list[DeliveryError]] = {}
        self.changed = asyncio.Condition()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        async with self.changed:
            self.changed.notify_all()
            queue = self.failures.get(reply.text)
            if queue:
                raise queue.pop(0)
            self.delivered.append((chat_id, reply.text))
            return str(len(self.delivered))

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(lambda: len(self.delivered) >= count)


@pytest.fixture
async def setup(
    database: str,
) -> AsyncIterator[tuple[Database, ScriptedChannel, OutboxSender, FakeClock]]:
    db = Database(database)
    await db.open()
    clock = FakeClock()
    channel = ScriptedChannel()
    sender = OutboxSender(db, channel, clock, idle_poll=0.05)
    await sender.start()
    yield db, channel, sender, clock
    await sender.stop()
    await db.close()


async def enqueue(db: Database, clock: FakeClock, chat: str, *texts: str) -> None:
    async with db.transaction() as tx:
        for text in texts:
            await outbox.enqueue(tx, "scripted", chat, Reply(text), clock.now())


async def statuses(db: Database) -> list[tuple[str, str, int, str | None]]:
    async with db.transaction() as tx:
        rows = await tx.fetch_all(
            "SELECT payload_json, status, attempts, last_error FROM outbox ORDER BY id"
        )
    return [(Reply.from_json(r[0]).text, r[1], r[2], r[3]) for r in rows]


async def test_messages_arrive_in_order_per_chat(setup) -> None:
    db, channel, sender, clock = setup
    await enqueue(db, clock, "a", "a1", "a2", "a3")
    await enqueue(db, clock, "b", "b1", "b2")
    sender.wake()
    await channel.wait_for(5)
    await sender.wait_idle(5)
    assert [t for c, t in channel.delivered if c == "a"] == ["a1", "a2", "a3"]
    assert [t for c, t in channel.delivered if c == "b"] == ["b1", "b2"]
    assert {s for _, s, _, _ in await statuses(db)} == {"sent"}


async def test_a_429_holds_the_chat_back_until_retry_after(setup) -> None:
    db, channel, sender, clock = setup
    channel.failures["a1"] = [
        DeliveryError("429: Too Many Requests", permanent=False, retry_after=30)
    ]
    await enqueue(db, clock, "a", "a1", "a2")
    await enqueue(db, clock, "b", "b1")
    sender.wake()
    await channel.wait_for(1)
    await sender.wait_idle(5)
    assert channel.delivered == [("b", "b1")]  # a2 must not overtake a1
    clock.advance(seconds=31)
    sender.wake()
    await channel.wait_for(3)
    await sender.wait_idle(5)
    assert [t for c, t in channel.delivered if c == "a"] == ["a1", "a2"]
    rows = await statuses(db)
    assert rows[0] == ("a1", "sent", 2, None)
    async with db.transaction() as tx:
        outcomes = await tx.fetch_all(
            "SELECT outcome FROM outbox_attempts WHERE outbox_id = 1 ORDER BY id"
        )
    assert [r[0] for r in outcomes] == ["retry", "sent"]


async def test_server_errors_back_off_exponentially(setup) -> None:
    db, channel, sender, clock = setup
    channel.failures["x"] = [DeliveryError("network: Bad Gateway", permanent=False)] * 3
    await enqueue(db, clock, "a", "x")
    sender.wake()
    waits = []
    for _ in range(3):
        await sender.wait_idle(5)
        async with db.transaction() as tx:
            due = await outbox.next_due_at(tx, "scripted")
        assert due is not None
        waits.append((due - clock.now()).total_seconds())
        clock.advance(seconds=waits[-1] + 0.001)
        sender.wake()
    await channel.wait_for(1)
    assert waits == [1.0, 2.0, 4.0]


async def test_blocked_user_is_a_permanent_failure_and_the_chat_moves_on(setup) -> None:
    db, channel, sender, clock = setup
    channel.failures["blocked"] = [
        DeliveryError("403: Forbidden: bot was blocked by the user", permanent=True)
    ]
    await enqueue(db, clock, "a", "blocked", "after")
    sender.wake()
    await channel.wait_for(1)
    await sender.wait_idle(5)
    rows = await statuses(db)
    assert rows[0] == ("blocked", "failed", 1, "403: Forbidden: bot was blocked by the user")
    assert rows[1][:2] == ("after", "sent")


async def test_a_person_who_blocked_the_bot_is_marked_unreachable(setup) -> None:
    db, channel, sender, clock = setup
    from domain.models import Language, Role, Unit
    from storage import org, people

    async with db.transaction() as tx:
        await org.sync(tx, [Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm")], [])
        person = await people.create(
            tx,
            name="An",
            unit_code="hoan_kiem",
            role=Role.OFFICER,
            language=Language.VI,
            channel="scripted",
            platform_id="a",
            now=clock.now(),
        )
    channel.failures["hello"] = [
        DeliveryError(
            "403: Forbidden: bot was blocked by the user", permanent=True, unreachable=True
        )
    ]
    await enqueue(db, clock, "a", "hello")
    sender.wake()
    await sender.wait_idle(5)
    async with db.transaction() as tx:
        again = await people.get(tx, person.id)
    assert again is not None and again.unreachable
    assert channel.delivered == []


async def test_bulk_messages_go_in_order_through_the_pacing(database: str) -> None:
    db = Database(database)
    await db.open()
    clock = FakeClock()
    channel = ScriptedChannel()
    sender = OutboxSender(db, channel, clock, per_chat_interval=0.01, per_chat_burst=2)
    await sender.start()
    try:
        await enqueue(db, clock, "a", *[f"bulk{n}" for n in range(5)])  # no inbox row: reminders
        sender.wake()
        await channel.wait_for(5)
        assert [text for _, text in channel.delivered] == [f"bulk{n}" for n in range(5)]
    finally:
        await sender.stop()
        await db.close()


def test_the_pacing_lets_a_burst_go_then_one_per_interval() -> None:
    """The schedule itself, on a clock moved by hand (the wait is only asleep for it)."""
    pacing = _Pacing(interval=1.0, burst=2)
    at_once = [pacing.reserve("a", 100.0) for _ in range(5)]
    assert at_once == [0.0, 0.0, 1.0, 2.0, 3.0]  # two at once, then one a second
    assert pacing.reserve("b", 100.0) == 0.0  # every chat has its own pace
    assert pacing.reserve("a", 110.0) == 0.0  # a quiet chat starts afresh…
    assert pacing.reserve("a", 110.0) == 0.0  # …with its burst again
    assert pacing.reserve("a", 110.0) == 1.0
    assert _Pacing(interval=0, burst=1).reserve("a", 5.0) == 0.0  # no pacing configured
