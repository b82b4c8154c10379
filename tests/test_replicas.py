"""Several real `thidua run` processes on one PostgreSQL database, against the fake Bot API.

Each process is a child started as an operator would start it; the fake Telegram and the
simulated officers live in the test process, so they outlive every kill. Leases are short
(2 s) and standing-by processes ask every half second, by config, so a failover takes a
few seconds; every wait is a generous deadline on a condition, never a sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench._rig import THIDUA_REPORT, THIDUA_STEPS, Officer, invite
from storage.db import Database
from tests import pg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE, ROOT

SECRET = "replica-secret"
DEADLINE = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, name: str, *, webhook_port: int | None = None) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('database = "thidua.sqlite3"', f'database = "{folder / "unused.sqlite3"}"')
    text = text.replace('folder = "backups"', f'folder = "{folder / "backups"}"')
    text = text.replace("outbox_lease_seconds = 60", "outbox_lease_seconds = 6")
    text = text.replace("standby_check_seconds = 5", "standby_check_seconds = 0.5")
    text = text.replace("max_messages_per_second = 30", "max_messages_per_second = 0")
    text = text.replace("poll_timeout_seconds = 25", "poll_timeout_seconds = 1")
    if webhook_port is not None:
        text = text.replace(
            '\nmode = "polling"', '\nmode = "webhook"\npublic_base_url = "https://bot.example"', 1
        )
        text = text.replace(
            'host = "0.0.0.0"\nport = 8080', f'host = "127.0.0.1"\nport = {webhook_port}'
        )
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Replicas:
    """The bot processes of one test and what they share."""

    fake: FakeTelegramAPI
    url: str
    folder: Path
    env: dict[str, str]
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    async def start(self, *, webhook: bool = False) -> asyncio.subprocess.Process:
        n = len(self.procs)
        port = _free_port() if webhook else None
        config = _config(self.folder, f"bot{n}", webhook_port=port)
        log = (self.folder / f"bot{n}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(config),
            cwd=ROOT, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        self.procs.append(proc)
        if port is not None:
            self.ports.append(port)
        return proc

    async def running(self) -> list[str]:
        """The processes registered on the database (as `thidua status` names them)."""
        async with Database(self.url) as db:
            names = await db.process_holder()
        return names.split("; ") if names else []

    async def until(self, what: str, check: Any) -> None:
        """Until `await check()` is true (polled), or fail after the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while not await check():
            if loop.time() > deadline or any(
                p.returncode not in (None, -signal.SIGKILL) for p in self.procs
            ):
                logs = "\n".join(
                    p.read_text(errors="replace")[-2000:] for p in self.folder.glob("*.log")
                )
                pytest.fail(f"timed out waiting for {what}\n{logs}")
            await asyncio.sleep(0.1)

    async def gather(self, *steps: Any) -> None:
        """Every officer's steps; on a timeout, what the database still holds, and the logs."""
        try:
            await asyncio.wait_for(asyncio.gather(*steps), DEADLINE)
        except TimeoutError as exc:
            left = await self.rows(
                "SELECT 'in', id, chat_id, status, payload_json, NULL, NULL FROM inbox "
                "WHERE status <> 'done' UNION ALL SELECT 'out', id, chat_id, status, "
                "payload_json, lease_owner, lease_until FROM outbox WHERE status <> 'sent'"
            )
            logs = "\n".join(
                p.read_text(errors="replace")[-3000:] for p in self.folder.glob("*.log")
            )
            raise AssertionError(f"{exc}\nleft: {left}\n{logs}") from exc

    async def rows(self, sql: str) -> list[Any]:
        async with Database(self.url) as db, db.transaction() as tx:
            return list(await tx.fetch_all(sql))

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[Replicas]:
    url = await pg.fresh_url()
    async with FakeTelegramAPI(strict=False) as fake:
        env = {k: v for k, v in os.environ.items() if k != "THIDUA_CONFIG"}
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            THIDUA_DATABASE_URL=url,
        )
        env.pop("ZALO_BOT_TOKEN", None)
        group = Replicas(fake, url, tmp_path, env)
        try:
            yield group
        finally:
            await group.stop()


def delivered_twice(fake: FakeTelegramAPI) -> list[tuple[str, Any, str | None]]:
    """Messages that reached a chat more than once (same method, chat and text)."""
    seen = Counter(
        (c.method, c.chat_id, c.text)
        for c in fake.calls
        if c.status == 200 and c.method in ("sendMessage", "editMessageText", "sendPhoto")
    )
    return [key for key, n in seen.items() if n > 1]


async def _converse(officer: Officer, steps: list[Any], code: str) -> None:
    for action, expect in steps:
        if isinstance(action, str):
            action = action.format(code=code)
        await officer.step(action, expect)


async def _balance(group: Replicas, updates: asyncio.Queue[dict[str, Any]]) -> None:
    """A load balancer in front of the replicas' webhooks: each update to the next one,
    to another one when it does not answer 200 (Telegram resends until one does)."""
    turn = itertools.count()
    async with aiohttp.ClientSession() as http:
        while True:
            update = await updates.get()
            while True:
                port = group.ports[next(turn) % len(group.ports)]
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/telegram/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    ) as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)


async def test_three_webhook_replicas_share_report_conversations_once_each_in_order(
    replicas: Replicas,
) -> None:
    """20 officers register and report at once through three processes behind a load
    balancer that sends each update to the next process: every report stored once, no
    update left, no message twice, each chat's messages in order, work done by several."""
    group = replicas
    officers = 20
    code = await invite(_config(group.folder, "cli"), group.env, officers)
    for _ in range(3):
        await group.start(webhook=True)
    await group.until("three registered processes", lambda: _count(group, 3))
    updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    group.fake.webhook_sink = updates.put_nowait
    balancer = asyncio.create_task(_balance(group, updates))
    try:
        people = [Officer(group.fake, 20_000 + i) for i in range(officers)]
        await group.gather(*(_converse(o, THIDUA_STEPS, code) for o in people))
    finally:
        balancer.cancel()
    per_officer = Counter(
        str(r[0])
        for r in await group.rows(
            "SELECT i.platform_id FROM reports r JOIN identities i ON i.person_id = r.person_id"
        )
    )
    assert sorted(per_officer.values()) == [1] * officers  # 0 lost, 0 doubled
    assert await group.rows("SELECT id FROM inbox WHERE status <> 'done'") == []
    sent = await group.rows(
        "SELECT chat_id, id, sent_at, lease_owner FROM outbox WHERE status = 'sent' ORDER BY id"
    )
    assert await group.rows("SELECT id FROM outbox WHERE status <> 'sent'") == []
    assert delivered_twice(group.fake) == []
    by_chat: dict[str, list[str]] = {}
    for chat, _, sent_at, _ in sent:
        by_chat.setdefault(chat, []).append(sent_at)
    assert all(times == sorted(times) for times in by_chat.values())  # in order per chat
    assert len({owner for *_, owner in sent}) >= 2  # the work was shared


async def _count(group: Replicas, n: int) -> bool:
    return len(await group.running()) >= n


async def test_a_killed_poller_holding_leases_is_replaced_and_its_messages_sent_once(
    replicas: Replicas,
) -> None:
    """Two polling processes: the first polls (elected), the second stands by. While
    Telegram refuses messages the first holds the leases on every answer; it is SIGKILLed.
    The second takes over polling and, once the leases expire, sends those answers: each
    officer gets each once, and then finishes the report through the second process."""
    group = replicas
    fake = group.fake
    officers = 8
    code = await invite(_config(group.folder, "cli"), group.env, officers)
    first = await group.start()
    await group.until("the first process to poll", lambda: _polled(fake, 0))
    await group.start()
    await group.until("two registered processes", lambda: _count(group, 2))
    people = [Officer(fake, 30_000 + i) for i in range(officers)]
    await group.gather(*(_converse(o, THIDUA_STEPS[:1], code) for o in people))
    fake.outage(502)
    for officer in people:
        officer.user.send("/report")
    owner = f"pid {first.pid} "

    async def leased_by_first() -> bool:
        rows = await group.rows(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND attempts > 0 "
            f"AND lease_owner LIKE '%{owner}%'"
        )
        return int(rows[0][0]) >= officers

    await group.until("the first process to hold every answer's lease", leased_by_first)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_at = len(fake.calls)
    fake.end_outage()

    async def answered() -> bool:  # the /report answers the dead process held
        return all(
            any("Bạn muốn báo cáo" in (c.text or "") for c in fake.sent(chat_id=o.user.id))
            for o in people
        )

    await group.until("every /report answered", answered)
    for officer in people:
        officer.seen = len(fake.sent(chat_id=officer.user.id))
    assert _polled_since(fake, killed_at)  # the second process polls now
    assert delivered_twice(fake) == []
    taken = await group.rows(
        "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'sent' AND attempts > 1"
    )
    assert taken and all(owner not in str(r[0]) for r in taken)  # sent by the other one
    rest = THIDUA_REPORT[1:]
    await group.gather(*(_converse(o, rest, code) for o in people))
    reports = await group.rows("SELECT person_id FROM reports")
    assert sorted(Counter(r[0] for r in reports).values()) == [1] * officers
    assert delivered_twice(fake) == []


async def _polled(fake: FakeTelegramAPI, since: int) -> bool:
    return _polled_since(fake, since)


def _polled_since(fake: FakeTelegramAPI, since: int) -> bool:
    return any(c.method == "getUpdates" for c in fake.calls[since:])
