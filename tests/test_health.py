"""Health that tells the truth: /readyz goes 503 when a loop is deaf, loops heal, status reads it.

The real App, the real PTB stack against the fake Bot API on 127.0.0.1, the real aiohttp
server; time for staleness is the injected clock, moved by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import App
from bot.clock import SystemClock
from bot.config import Secrets, load_config
from bot.health import Health
from bot.supervisor import supervise
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import FakeClock
from tests.test_cli import thidua
from tests.test_ops import config_file


def with_port_zero(path: Path) -> Path:
    text = path.read_text(encoding="utf-8").replace("port = 8080", "port = 0")
    text = text.replace("[health]\nserve = false", "[health]\nserve = true")
    text = text.replace("poll_timeout_seconds = 25", "poll_timeout_seconds = 1")
    path.write_text(text, encoding="utf-8")
    return path


def polled_again_after_success(calls: list[Any]) -> bool:
    """A getUpdates answered 200 and a later one made: the loop has recorded its success."""
    polls = [c for c in calls if c.method == "getUpdates"]
    answered = next((n for n, c in enumerate(polls) if c.status == 200), None)
    return answered is not None and len(polls) > answered + 1


async def get(url: str) -> tuple[int, dict[str, Any], str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json(), response.headers.get("Server", "")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegramAPI, App, FakeClock]]:
    async with FakeTelegramAPI() as fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url
        )
        config = load_config(with_port_zero(config_file(tmp_path))).with_secrets(secrets)
        clock = FakeClock()
        app = App(config, secrets, clock=clock)
        app.add_channel(app.build_channel("telegram"))
        await app.start()
        try:
            yield fake, app, clock
        finally:
            await app.stop()


async def test_readyz_turns_503_when_the_receive_loop_goes_deaf(running) -> None:
    fake, app, clock = running
    assert app.server is not None
    await fake.wait_calls(2, method="getUpdates")  # a poll answered: the loop is alive
    await app.scheduler.tick()
    status, body, server = await get(f"{app.server.url}/readyz")
    assert status == 200, body
    assert body["telegram.receive"]["ok"] and body["scheduler"]["ok"]
    assert body["outbox"] == {"ok": True, "pending": 0, "oldest_seconds": 0}
    assert "aiohttp" not in server and "Python" not in server  # no versions

    # Telegram stops answering getUpdates: the loop keeps trying, but nothing succeeds.
    fake.outage(502, methods={"getUpdates"})
    before = len(fake.calls)
    await fake.wait_for(
        lambda f: sum(1 for c in f.calls[before:] if c.status == 502) >= 1,
        timeout=30,
        what="a refused poll",
    )
    clock.advance(seconds=181)
    await app.scheduler.tick()  # the scheduler is still fine
    status, body, _ = await get(f"{app.server.url}/readyz")
    assert status == 503
    assert body["telegram.receive"]["ok"] is False and body["scheduler"]["ok"] is True
    live, _, _ = await get(f"{app.server.url}/healthz")
    assert live == 200  # alive, but not ready: a supervisor sees the difference

    fake.end_outage()
    after = len(fake.calls)
    # Each loop beats again on its own turn after the outage (the sender's scanner too, whose
    # last beat the moved clock made stale): ready once every one has.
    await fake.wait_for(
        lambda f: polled_again_after_success(f.calls[after:]) and app.health.ready,
        timeout=60,
        what="a poll answered again, the loop polling on after it, every loop beating again",
    )
    status, body, _ = await get(f"{app.server.url}/readyz")
    assert status == 200, body


async def test_a_loop_that_fails_or_ends_is_started_again_and_counted() -> None:
    health = Health(FakeClock())
    health.register("demo.receive", dt.timedelta(minutes=3))
    runs: list[int] = []
    forever = asyncio.Event()
    third = asyncio.Event()

    async def loop() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database is locked")
        if len(runs) == 2:
            return  # ended by itself: also restarted
        health.ok("demo.receive")
        third.set()
        await forever.wait()

    task = asyncio.create_task(supervise("demo.receive", loop, health, backoff_base=0.001))
    await asyncio.wait_for(third.wait(), 30)
    (beat,) = health.snapshot()
    assert beat.restarts == 2
    assert beat.last_error == "RuntimeError: database is locked"
    assert beat.last_ok is not None and not beat.stale
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_thidua_status_reads_what_the_running_bot_reported(tmp_path: Path) -> None:
    config_path = config_file(tmp_path)
    config = load_config(config_path)
    app = App(config, Secrets(), clock=SystemClock())
    await app.start()  # no channel: the scheduler alone
    try:
        await app.scheduler.tick()
        await app._heartbeat()
        result = await asyncio.to_thread(thidua, "status", "--config", str(config_path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Bot đang chạy: pid" in result.stdout
        assert "✅ scheduler" in result.stdout
        assert "✅ Hộp thư đi: 0 tin chờ gửi" in result.stdout
    finally:
        await app.stop()
    stopped = await asyncio.to_thread(thidua, "status", "--config", str(config_path))
    assert stopped.returncode == 1
    assert "Không có tiến trình thidua run nào" in stopped.stdout
