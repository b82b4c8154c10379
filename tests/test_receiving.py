"""The one poll loop every channel shares (bot.channels.base.Receiver), against a database
that refuses the inbox for a while: nothing is confirmed before it is recorded, nothing is
lost, and the loop goes on.

A platform that sends a batch again until it is confirmed (Telegram) is asked again; one that
forgets what it handed out (Zalo) has its update kept in hand and recorded again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import pytest

from bot.channels.base import Received, ReceiveError, Receiver, Webhook
from domain.errors import DatabaseUnavailable
from domain.messages import ChatType, Inbound, InboundKind, Reply
from runtime.dispatcher import Dispatcher
from runtime.ingress import Ingress
from tests.harness import Harness

WAIT = 10.0


class Refusing(Dispatcher):
    """The real dispatcher, its inbox refusing the first `refusals` batches."""

    def __init__(self, h: Harness, refusals: int) -> None:
        super().__init__(
            h.db, h.dispatcher.settings, h.catalog, h.clock, router=h.dispatcher.router
        )
        self.refusals = refusals

    async def receive_many(self, inbounds: Iterable[Inbound]) -> list[Inbound]:
        if self.refusals > 0:
            self.refusals -= 1
            raise DatabaseUnavailable("database is locked")
        return await super().receive_many(inbounds)


class Platform:
    """A channel over a platform holding one update; `redelivers` like Telegram or not."""

    name = "platform"
    polling = True

    def __init__(self, inbound: Inbound, *, redelivers: bool) -> None:
        self.inbound = inbound
        self.redelivers = redelivers
        self.polls = 0
        self.handed_out = False
        self.confirmed = asyncio.Event()
        self.refuse_next: ReceiveError | None = None

    async def receive(self) -> Received:
        self.polls += 1
        if self.refuse_next is not None:
            refusal, self.refuse_next = self.refuse_next, None
            raise refusal
        if self.confirmed.is_set() or (self.handed_out and not self.redelivers):
            await asyncio.Event().wait()  # nothing more: a long poll that never answers
        self.handed_out = True
        return Received([self.inbound], self.confirmed.set, redelivered=self.redelivers)

    def webhooks(self) -> Sequence[Webhook]:
        return ()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        return "1"


def update(h: Harness) -> Inbound:
    return Inbound(
        channel="platform",
        key="platform:1",
        chat_id="c1",
        chat_type=ChatType.PRIVATE,
        sender_id="c1",
        sender_name="An",
        kind=InboundKind.COMMAND,
        received_at=h.clock.now(),
        text="/help",
        command="help",
    )


async def inbox(h: Harness) -> list[tuple[str, str]]:
    async with h.db.transaction() as tx:
        return [(r[0], r[1]) for r in await tx.fetch_all("SELECT key, status FROM inbox")]


@pytest.mark.parametrize("redelivers", [True, False], ids=["asked-again", "kept-in-hand"])
async def test_a_batch_the_inbox_refused_is_recorded_once_it_takes_it(
    h: Harness, redelivers: bool
) -> None:
    ingress = Ingress(Refusing(h, refusals=3))
    platform = Platform(update(h), redelivers=redelivers)
    receiver = Receiver(platform, ingress, retry_base=0.001, retry_max=0.001)
    receiver.start()
    try:
        await asyncio.wait_for(platform.confirmed.wait(), WAIT)
        assert await inbox(h) != []  # confirmed only once recorded
        await ingress.wait_handled()
    finally:
        await receiver.stop()
    assert await inbox(h) == [("platform:1", "done")]
    # asked again for each refusal (and once more after), or asked once and kept in hand
    assert platform.polls == (5 if redelivers else 2)


async def test_a_refused_poll_waits_what_the_platform_asked_and_polls_on(h: Harness) -> None:
    ingress = Ingress(h.dispatcher)
    platform = Platform(update(h), redelivers=True)
    platform.refuse_next = ReceiveError("429: slow down", retry_after=0.001)
    receiver = Receiver(platform, ingress, retry_base=3600)  # the backoff would never end
    receiver.start()
    try:
        await asyncio.wait_for(platform.confirmed.wait(), WAIT)
        await ingress.wait_handled()
    finally:
        await receiver.stop()
    assert await inbox(h) == [("platform:1", "done")]
