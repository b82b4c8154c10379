"""Outbox delivery end to end: OutboxSender + TelegramChannel + SQLite against the fake Bot API.

Nothing is mocked: python-telegram-bot's own HTTPX transport, AIORateLimiter and error
mapping talk to FakeTelegramAPI over 127.0.0.1, and every outcome is checked twice --
at the fake (what people received) and in the outbox tables (what the bot recorded).

Time: the sender runs on the system clock, because what it times is delivery (the
fake's rate limit, `retry_after`, backoff), and that is real waiting. Business time
(the FakeClock) is only read by the dispatcher side of the channel, unused here.
Synchronisation waits on the fake (`wait_for` / `wait_calls`) and `sender.wait_idle`,
never on sleeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import handler_settings, make_router
from bot.channels.telegram import TelegramChannel
from bot.clock import SystemClock
from bot.config import load_config
from bot.i18n import Catalog
from bot.outbox_sender import OutboxSender
from domain.messages import DeliveryStatus, OutboxItem, Reply
from domain.models import Language, Role, Unit
from runtime.dispatcher import Dispatcher
from storage import org, outbox, people
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE, FakeClock

CHANNEL = "telegram"
BLOCKED = "403: Forbidden: bot was blocked by the user"

Row = tuple[int, str]
"""(chat id, text) of one reminder; texts are unique, so a duplicate is visible."""


def reminders(chats: int, per_chat: int, first_chat: int = 5001) -> list[Row]:
    """Rows in the order a fan-out writes them: every chat's first reminder, then the second…"""
    return [
        (first_chat + c, f"Nhắc báo cáo #{k + 1} cho {first_chat + c}")
        for k in range(per_chat)
        for c in range(chats)
    ]


@dataclass
class Rig:
    """One fake Bot API, one database, and the channels and senders a test starts on them."""

    fake: FakeTelegramAPI
    db: Database
    dispatcher: Dispatcher
    clock: SystemClock = field(default_factory=SystemClock)
    channels: list[TelegramChannel] = field(default_factory=list)
    senders: list[OutboxSender] = field(default_factory=list)

    async def channel(self, max_per_second: float) -> TelegramChannel:
        """The production channel with its limiter at `max_per_second`; sending only."""
        channel = TelegramChannel(
            token=self.fake.token,
            api_base_url=self.fake.base_url,
            file_base_url=self.fake.base_file_url,
            clock=FakeClock(),
            commands={},
            max_per_second=max_per_second,
        )
        await channel.app.initialize()
        self.channels.append(channel)
        return channel

    async def sender(self, channel: TelegramChannel, **options: Any) -> OutboxSender:
        sender = OutboxSender(self.db, channel, self.clock, idle_poll=0.5, **options)
        await sender.start()
        self.senders.append(sender)
        return sender

    async def enqueue(self, rows: list[Row]) -> list[OutboxItem]:
        """Unsolicited rows (reminders) with unique dedupe keys, in one transaction."""
        now = self.clock.now()
        items = []
        async with self.db.transaction() as tx:
            for n, (chat, text) in enumerate(rows):
                reply = Reply(text)
                row_id = await outbox.enqueue(
                    tx, CHANNEL, str(chat), reply, now, dedupe_key=f"remind:test:{n}"
                )
                assert row_id is not None
                items.append(
                    OutboxItem(
                        row_id, CHANNEL, str(chat), reply, DeliveryStatus.PENDING, 0, now, now
                    )
                )
        return items

    async def fan_out(self, sender: OutboxSender, rows: list[Row]) -> None:
        """Write the rows and hand them over, as a scheduler firing does (`on_outbox`)."""
        sender.submit(await self.enqueue(rows))

    async def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        async with self.db.transaction() as tx:
            return [tuple(r) for r in await tx.fetch_all(sql, params)]

    async def statuses(self) -> dict[Row, tuple[str, int, str | None]]:
        """(chat, text) → (status, attempts, last error) of every outbox row."""
        found = await self.query(
            "SELECT chat_id, payload_json, status, attempts, last_error FROM outbox ORDER BY id"
        )
        return {
            (int(chat), Reply.from_json(payload).text): (status, attempts, error)
            for chat, payload, status, attempts, error in found
        }

    async def outcomes(self, outcome: str) -> list[str]:
        """The detail of every recorded attempt with this outcome."""
        found = await self.query(
            "SELECT detail FROM outbox_attempts WHERE outcome = ? ORDER BY id", outcome
        )
        return [detail for (detail,) in found]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    config = load_config(EXAMPLE)
    async with FakeTelegramAPI() as fake, Database(tmp_path / "delivery.sqlite3") as db:
        dispatcher = Dispatcher(
            db,
            handler_settings(config),
            Catalog(),
            FakeClock(),
            router=make_router(),
        )
        rig = Rig(fake, db, dispatcher)
        try:
            yield rig
        finally:
            for sender in rig.senders:
                await sender.stop()
            for channel in rig.channels:
                await channel.app.shutdown()


# ---- checks -------------------------------------------------------------------------------


def accepted(fake: FakeTelegramAPI) -> Counter[Row]:
    """How many times the fake accepted each (chat, text)."""
    return Counter((int(c.chat_id or 0), c.text or "") for c in fake.sent(method="sendMessage"))


async def wait_delivered(fake: FakeTelegramAPI, rows: list[Row], limit: float) -> None:
    expected = set(rows)
    await fake.wait_for(
        lambda f: accepted(f).keys() >= expected, timeout=limit, what="every row delivered"
    )


def assert_once_in_order(fake: FakeTelegramAPI, rows: list[Row]) -> None:
    """Everything arrived, nothing twice, and each chat got its rows in the written order."""
    counts = accepted(fake)
    assert set(counts) == set(rows), f"lost: {set(rows) - set(counts)}"
    assert [row for row, n in counts.items() if n > 1] == []
    for chat in {chat for chat, _ in rows}:
        got = [c.text for c in fake.sent(chat_id=chat, method="sendMessage")]
        assert got == [text for c, text in rows if c == chat], chat


def refused_per_row(fake: FakeTelegramAPI) -> Counter[Row]:
    return Counter(
        (int(c.chat_id or 0), c.text or "")
        for c in fake.calls
        if c.method == "sendMessage" and c.status == 502
    )


def send_statuses(fake: FakeTelegramAPI) -> Counter[int | None]:
    return Counter(c.status for c in fake.calls if c.method == "sendMessage")


# ---- the tests ----------------------------------------------------------------------------


async def test_a_429_storm_is_retried_until_everything_arrived_once_in_order(rig: Rig) -> None:
    # Telegram refuses the next 60 sends with 429 (retry_after=1), whatever the pace:
    # the storm is injected by count, so it happens on any machine, and the outbox
    # must absorb it.
    storm = 60
    rig.fake.fail_next("sendMessage", 429, count=storm, retry_after=1)
    sender = await rig.sender(await rig.channel(max_per_second=400))
    rows = reminders(chats=150, per_chat=2)
    await rig.fan_out(sender, rows)

    await wait_delivered(rig.fake, rows, limit=60)
    await sender.wait_idle(30)

    assert_once_in_order(rig.fake, rows)
    refused = send_statuses(rig.fake)[429]
    assert refused == storm
    assert rig.fake.stats.too_many_requests == refused
    retries = await rig.outcomes("retry")
    assert len(retries) == refused  # every 429 is on record…
    assert all(r.startswith("429: ") for r in retries)
    table = await rig.statuses()
    assert {s for s, _, _ in table.values()} == {"sent"}
    assert sum(attempts for _, attempts, _ in table.values()) == len(rows) + refused  # …per row
    assert len(await rig.outcomes("sent")) == len(rows)


async def test_a_limiter_at_the_platform_limit_loses_and_doubles_nothing(rig: Rig) -> None:
    # The platform enforces its limit; whatever slips past the bot's limiter (how many
    # depends on the machine's pace, which is bench/fanout.py's business) is refused,
    # recorded and retried, and every row still arrives once, in order.
    limit = 100
    rig.fake.rate_limit(limit)
    channel = await rig.channel(max_per_second=limit)
    sender = await rig.sender(channel)
    rows = reminders(chats=150, per_chat=2)
    await rig.fan_out(sender, rows)

    await wait_delivered(rig.fake, rows, limit=60)
    await sender.wait_idle(30)

    assert_once_in_order(rig.fake, rows)
    refused = send_statuses(rig.fake)[429]
    assert len(await rig.outcomes("retry")) == refused
    table = await rig.statuses()
    assert {s for s, _, _ in table.values()} == {"sent"}
    assert sum(attempts for _, attempts, _ in table.values()) == len(rows) + refused


def test_the_limiter_is_configured_from_max_per_second() -> None:
    """The pace itself is measured in bench/fanout.py; here: it is wired as configured."""
    from telegram.ext import AIORateLimiter

    def limiter(max_per_second: float) -> object:
        channel = TelegramChannel(
            token="1:x",
            api_base_url="http://127.0.0.1:9/bot",
            file_base_url="http://127.0.0.1:9/file/bot",
            clock=FakeClock(),
            commands={},
            max_per_second=max_per_second,
        )
        return channel.app.bot.rate_limiter  # type: ignore[attr-defined]

    configured = limiter(100)
    assert isinstance(configured, AIORateLimiter)
    base = configured._base_limiter
    assert base is not None and base.max_rate / base.time_period == pytest.approx(100)
    assert limiter(0) is None


@pytest.mark.parametrize(
    ("tries", "backoff_base", "backoff_max"),
    [(3, 0.05, 0.2), (10, 0.05, 0.4)],
    ids=["short-outage", "long-outage"],
)
async def test_a_502_outage_delays_but_loses_and_doubles_nothing(
    rig: Rig, tries: int, backoff_base: float, backoff_max: float
) -> None:
    # The outage lasts until some message has been refused `tries` times (the long one
    # takes the sender to its maximum backoff several times over), not a wall-clock
    # span, so it checks the same on a fast or a busy machine.
    sender = await rig.sender(
        await rig.channel(max_per_second=0), backoff_base=backoff_base, backoff_max=backoff_max
    )
    rows = reminders(chats=100, per_chat=2)
    await rig.fan_out(sender, rows)
    await rig.fake.wait_calls(40, method="sendMessage")
    outage = rig.fake.outage(502)
    began = len(rig.fake.calls)
    await rig.fake.wait_for(
        lambda f: max(refused_per_row(f).values(), default=0) >= tries,
        timeout=120,
        what="a message refused again and again",
    )
    outage.end()
    rig.fake.end_outage()
    ended = len(rig.fake.calls)

    await wait_delivered(rig.fake, rows, limit=120)
    await sender.wait_idle(30)

    assert_once_in_order(rig.fake, rows)
    during = [c for c in rig.fake.calls[began:ended] if c.method == "sendMessage"]
    assert during and all(c.status == 502 for c in during)  # nothing got through meanwhile
    assert any(
        c.status == 200 for c in rig.fake.calls[ended:] if c.method == "sendMessage"
    )  # the rest went out after the outage
    refused = send_statuses(rig.fake)[502]
    retries = await rig.outcomes("retry")
    assert len(retries) == refused
    assert all(r.startswith("network: ") for r in retries)
    table = await rig.statuses()
    assert {s for s, _, _ in table.values()} == {"sent"}
    assert max(attempts for _, attempts, _ in table.values()) >= tries + 1  # backed off, retried


async def test_a_person_who_blocked_the_bot_is_given_up_on_and_marked_unreachable(
    rig: Rig,
) -> None:
    blocked, other = 6001, 6002
    async with rig.db.transaction() as tx:
        await org.sync(tx, [Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm")], [])
        person = await people.create(
            tx,
            name="Nguyễn Văn An",
            unit_code="hoan_kiem",
            role=Role.OFFICER,
            language=Language.VI,
            channel=CHANNEL,
            platform_id=str(blocked),
            now=rig.clock.now(),
        )
    rig.fake.block(blocked)
    sender = await rig.sender(await rig.channel(max_per_second=30))
    rows = [(blocked, "Nhắc lần 1"), (other, "Nhắc anh Bình"), (blocked, "Nhắc lần 2")]
    await rig.fan_out(sender, rows)

    await rig.fake.wait_calls(2, method="sendMessage", chat_id=blocked, include_failed=True)
    await wait_delivered(rig.fake, [(other, "Nhắc anh Bình")], limit=5)
    await sender.wait_idle(5)

    table = await rig.statuses()
    assert table[(blocked, "Nhắc lần 1")] == ("failed", 1, BLOCKED)
    assert table[(blocked, "Nhắc lần 2")] == ("failed", 1, BLOCKED)
    assert table[(other, "Nhắc anh Bình")][0] == "sent"
    calls = rig.fake.sent(chat_id=blocked, method="sendMessage", include_failed=True)
    assert [c.status for c in calls] == [403, 403]  # one try per row, no retries
    assert await rig.outcomes("retry") == []
    assert await rig.outcomes("failed") == [BLOCKED, BLOCKED]
    async with rig.db.transaction() as tx:
        again = await people.get(tx, person.id)
        nothing_left = await outbox.next_due_at(tx, CHANNEL)
    assert again is not None and again.unreachable
    assert nothing_left is None


@dataclass
class Restart:
    """What a restart in the middle of a fan-out left behind."""

    rows: list[Row]
    sent_before: Counter[Row]  # accepted by the fake before the stop
    unacknowledged: set[Row]  # …of which the outbox had not recorded the delivery
    delivered: Counter[Row]  # accepted by the fake in total, after the second run

    @property
    def doubled(self) -> set[Row]:
        return {row for row, n in self.delivered.items() if n > 1}


async def restart_mid_fan_out(rig: Rig) -> Restart:
    """200 rows to 100 chats; the sender stops (no draining) mid-way, a new one finishes."""
    rows = reminders(chats=100, per_chat=2)
    first = await rig.sender(await rig.channel(max_per_second=100))
    await rig.fan_out(first, rows)
    await rig.fake.wait_calls(120, method="sendMessage")  # mid-way, past the first burst
    await first.stop()  # no draining: queued and in-flight work is cancelled

    sent_before = accepted(rig.fake)
    assert 120 <= sum(sent_before.values()) < len(rows), "the stop came too late"
    table = await rig.statuses()
    recorded = {row for row, (status, _, _) in table.items() if status == "sent"}
    assert recorded <= set(sent_before)  # nothing is marked sent that did not arrive

    second = await rig.sender(await rig.channel(max_per_second=100))  # the next process
    await wait_delivered(rig.fake, rows, limit=10)
    await second.wait_idle(5)
    assert {s for s, _, _ in (await rig.statuses()).values()} == {"sent"}
    return Restart(rows, sent_before, set(sent_before) - recorded, accepted(rig.fake))


async def test_a_restart_mid_fan_out_loses_nothing_and_resends_only_unrecorded_rows(
    rig: Rig,
) -> None:
    restart = await restart_mid_fan_out(rig)

    assert set(restart.rows) - set(restart.delivered) == set()  # none lost, strictly
    # At-least-once: only a row that was sent but not yet recorded at the stop goes
    # twice, and only the deliveries under way at that moment can be such rows.
    assert restart.doubled <= restart.unacknowledged
    assert len(restart.doubled) <= 16  # the channel's connection pool
    assert max(restart.delivered.values()) <= 2
    for chat in {chat for chat, _ in restart.rows}:
        got = [c.text for c in rig.fake.sent(chat_id=chat, method="sendMessage")]
        assert list(dict.fromkeys(got)) == [text for c, text in restart.rows if c == chat]


async def test_a_restart_mid_fan_out_sends_nothing_twice(rig: Rig) -> None:
    restart = await restart_mid_fan_out(rig)

    assert restart.unacknowledged == set()
    assert restart.doubled == set()
