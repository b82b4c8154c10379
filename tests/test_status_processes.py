"""`thidua status` with several processes on one database: each process writes its own
heartbeats (they used to overwrite each other's), status shows every process (host, pid,
its elected roles, when last seen) with its loops, marks one that stopped reporting, and
rows of processes gone for a day are forgotten. Both backends; the PostgreSQL case runs
two real Apps side by side (a leader and a standby) and the real `thidua status`."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import SystemClock
from bot.config import Secrets, load_config
from domain.models import Heartbeat, ProcessBeat
from storage import health as health_repo
from storage.db import Database
from tests.harness import Harness
from tests.test_cli import thidua
from tests.test_ops import config_file

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)


def beat(key: str, host: str, pid: int, roles: tuple[str, ...], seen: dt.datetime) -> ProcessBeat:
    """A process whose two loops last succeeded when it was seen."""
    loops = tuple(
        Heartbeat(name, seen, None, pid % 3, False, seen)
        for name in ("scheduler", "telegram.receive")
    )
    return ProcessBeat(key, host, pid, roles, T0, seen, loops)


async def test_each_process_keeps_its_own_heartbeats_and_the_long_gone_are_forgotten(
    h: Harness,
) -> None:
    forget = dt.timedelta(days=1)
    leader = beat("a1", "may-1", 101, ("scheduler", "telegram.poll"), T0)
    standby = beat("b2", "may-2", 202, (), T0 + dt.timedelta(seconds=5))
    async with h.db.transaction() as tx:
        await health_repo.put(tx, leader, leader.seen_at - forget)
        await health_repo.put(tx, standby, standby.seen_at - forget)
    async with h.db.transaction() as tx:
        found = await health_repo.processes(tx)
    assert found == [leader, standby]  # the same components, neither overwritten

    # The leader is killed; the standby takes over and keeps reporting for a day.
    later = T0 + dt.timedelta(days=1, seconds=1)
    took_over = beat("b2", "may-2", 202, ("scheduler", "telegram.poll"), later)
    async with h.db.transaction() as tx:
        await health_repo.put(tx, took_over, later - forget)
        found = await health_repo.processes(tx)
    assert found == [took_over]
    assert await h.scalar("SELECT COUNT(*) FROM heartbeats") == 2  # the dead one's went too

    async with h.db.transaction() as tx:  # a clean stop leaves nothing behind
        await health_repo.forget(tx, "b2")
        assert await health_repo.processes(tx) == []
    assert await h.scalar("SELECT COUNT(*) FROM heartbeats") == 0


async def status(tmp_path: Path, database: str) -> tuple[int, str]:
    env = {"THIDUA_DATABASE_URL": database}
    result = await asyncio.to_thread(
        thidua, "status", "--config", str(config_file(tmp_path)), env=env
    )
    return result.returncode, result.stdout + result.stderr


async def test_status_shows_each_process_with_its_role_and_marks_the_silent(
    tmp_path: Path, database: str, backend: str
) -> None:
    config = load_config(config_file(tmp_path))
    first = App(config, Secrets(), clock=SystemClock(), database=database)
    second = App(config, Secrets(), clock=SystemClock(), database=database)
    here = f"Máy {socket.gethostname()}, pid {os.getpid()}"
    started = [first]
    await first.start()
    try:
        await first._heartbeat()
        if backend == "postgresql":  # a second process on the same database stands by
            started.append(second)
            await second.start()
            await second._heartbeat()
        # a process killed ten minutes ago on another host, never stopped cleanly
        seen = SystemClock().now() - dt.timedelta(minutes=10)
        async with Database(database) as db, db.transaction() as tx:
            await health_repo.put(
                tx, beat("dead", "may-cu", 4242, ("scheduler",), seen), seen - dt.timedelta(days=1)
            )

        code, out = await status(tmp_path, database)
        assert code == 0, out  # the live processes are fine; the silent one is shown, not judged
        assert f"🖥 {here} — chạy bộ lập lịch" in out, out
        assert "✅ scheduler: thành công lần cuối" in out
        assert "⚠️ Máy may-cu, pid 4242 — chạy bộ lập lịch; không thấy báo từ" in out
        if backend == "postgresql":
            assert f"🖥 {here} — dự phòng; báo lần cuối" in out, out
            assert out.count(f"🖥 {here}") == 2

            await first.stop()  # a clean stop: its rows go; the standby takes over
            await second.elections.check()
            await second._heartbeat()
            code, out = await status(tmp_path, database)
            assert code == 0, out
            assert out.count(f"🖥 {here}") == 1 and f"🖥 {here} — chạy bộ lập lịch" in out, out
    finally:
        for app in started:
            await app.stop()
    code, out = await status(tmp_path, database)
    assert code == 1 and f"🖥 {here}" not in out, out  # nothing left running
