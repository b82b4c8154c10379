"""What the chat benchmarks share: the conversation, the simulated officers, the processes.

Three kinds of process take part in a run, so that none measures itself:
the driver (this module, idle while a bot is measured), the bot under test
(`thidua run` or the bare PTB peer, bench/echo_bot.py) and the load: the fake
Bot API with the simulated officers (bench/_load.py). The load times each
update where the bot sees it: from the getUpdates answer that carried it to
the request carrying its reply ("processing"), and from the officer's press
or message to that reply ("wait", what a person feels).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.telegram_api import Call, FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"

Step = tuple[str | tuple[str, str], str]
"""(text to send | ("press", button label), fragment of the answer that ends the step)."""

THIDUA_START: list[Step] = [("/start {code}", "Chào mừng")]
THIDUA_REPORT: list[Step] = [
    ("/report", "Bạn muốn báo cáo"),
    (("press", "Tặng quà"), "Số suất quà"),
    ("20", "Giá trị mỗi suất"),
    ("500k", "Đối tượng nhận quà"),
    (("press", "Bỏ qua"), "Dịp tặng quà"),
    (("press", "8/3"), "Ngày trao"),
    ("hôm nay", "Ảnh minh chứng"),
    (("press", "Bỏ qua"), "kiểm tra lại"),
    (("press", "Lưu"), "Đã lưu báo cáo"),
]
THIDUA_STEPS: list[Step] = THIDUA_START + THIDUA_REPORT
"""One officer's first gifts report: registration, then the 9-update conversation."""


def echo_steps(steps: Sequence[Step]) -> list[Step]:
    """The same shape of conversation for the echo bot: a press wherever thidua has one."""
    return [
        (("press", "tap"), "echo: pressed tap")
        if isinstance(action, tuple)
        else (f"message {i}", f"echo: message {i}")
        for i, (action, _) in enumerate(steps)
    ]


def conversation(kind: str, reports: int) -> list[Step]:
    """Registration then `reports` full gifts reports (thidua), or the echo bot's mirror."""
    steps = THIDUA_START + THIDUA_REPORT * reports
    return steps if kind == "thidua" else echo_steps(steps)


# ---- inside the load process ---------------------------------------------------------------


class TimedFake(FakeTelegramAPI):
    """The fake Bot API, noting when each update was first handed to the bot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: dict[int, float] = {}

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        batch = await super()._get_updates(call)
        now = time.monotonic()
        for update in batch:
            self.delivered.setdefault(int(update["update_id"]), now)
        return batch


class Officer:
    """A person: sends the next message only once the bot answered the previous one."""

    def __init__(self, fake: FakeTelegramAPI, user_id: int) -> None:
        self.fake = fake
        self.user = fake.user(user_id, f"Officer {user_id}")
        self.seen = 0

    def _button(self, label: str) -> tuple[Call, str]:
        for call in reversed(self.fake.sent(chat_id=self.user.id)):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if label in b.get("text", ""):
                        return call, b["callback_data"]
        raise LookupError(label)

    async def step(self, action: str | tuple[str, str], expect: str) -> tuple[float, float | None]:
        """One update and its answer: (the officer's wait, the bot's processing time)."""
        start = time.monotonic()
        if isinstance(action, tuple):
            call, data = self._button(action[1])
            update_id = self.user.press(call, data, check=False)
        else:
            update_id = self.user.send(action)
        while True:
            calls = await self.fake.wait_calls(self.seen + 1, chat_id=self.user.id, timeout=120)
            fresh, self.seen = calls[self.seen :], len(calls)
            answer = next((c for c in fresh if expect in (c.text or "")), None)
            if answer is not None:
                delivered = getattr(self.fake, "delivered", {}).get(update_id)
                processing = None if delivered is None else answer.at - delivered
                return answer.at - start, processing


@dataclass
class Result:
    """One bot's run: updates handled, how long all took, and the per-update times."""

    name: str
    updates: int
    seconds: float
    waits: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    cpu: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    """Bot API calls the bot made, by method (the Telegram work it did)."""
    """CPU seconds the bot's process used while the officers were served."""

    @property
    def cpu_per_update(self) -> float:
        """Milliseconds of the bot's CPU per update: hardly moved by other load."""
        return self.cpu / self.updates * 1000

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def pct(values: Sequence[float], q: int) -> float:
    """The q-th percentile in milliseconds (inclusive method: exact at small samples)."""
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def drive(fake: FakeTelegramAPI, officers: int, steps: list[Step], code: str) -> Result:
    """Every officer through `steps` at once; returns the run's times."""
    people = [Officer(fake, 10_000 + i) for i in range(officers)]
    result = Result("", officers * len(steps), 0.0)

    async def run(officer: Officer) -> None:
        for action, expect in steps:
            if isinstance(action, str):
                action = action.format(code=code)
            wait, processing = await officer.step(action, expect)
            result.waits.append(wait)
            if processing is not None:
                result.processing.append(processing)

    start = time.monotonic()
    await asyncio.gather(*(run(o) for o in people))
    result.seconds = time.monotonic() - start
    return result


# ---- in the driver -------------------------------------------------------------------------


def write_config(folder: Path, name: str = "bench", webhook_port: int | None = None) -> Path:
    """The example config with its database in `folder`, no rate limit, short long polls;
    with `webhook_port`, Telegram by webhook on that port (one of several replicas)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('database = "thidua.sqlite3"', f'database = "{folder / "bench.sqlite3"}"')
    text = text.replace("max_messages_per_second = 30", "max_messages_per_second = 0")
    text = text.replace("poll_timeout_seconds = 25", "poll_timeout_seconds = 2")
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


WEBHOOK_SECRET = "bench-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ptb_settings(config: Path) -> dict[str, int]:
    """The PTB settings thidua runs with under this config: the peer gets the same."""
    from bot.config import load_config

    tg = load_config(config).telegram
    return {
        "concurrent_updates": tg.concurrent_updates,
        "connection_pool_size": tg.connection_pool_size,
        "poll_timeout": tg.poll_timeout_seconds,
    }


PEER_TRANSPORT = os.environ.get("BENCH_PEER_TRANSPORT", "aiohttp")
"""The echo peer's HTTP under PTB: thidua's own (aiohttp), or "httpx" (PTB's default)."""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "THIDUA_CONFIG"}


async def invite(config: Path, env: dict[str, str], uses: int) -> str:
    """An officer invite for Hoàn Kiếm with `uses` uses, made by `thidua invite`."""
    made = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "invite",
        "--config",
        str(config),
        "--unit",
        "hoan_kiem",
        "--role",
        "officer",
        "--uses",
        str(uses),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await made.communicate()
    found = re.search(r"(?:Mã mời|Code): (\S+)", out.decode())
    assert found, out
    return found.group(1)


async def start_process(
    fake: FakeTelegramAPI, *args: str, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """A bot process against an in-process fake, once it polls (bench/crash.py)."""
    before = len(fake.calls)
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    await fake.wait_for(
        lambda f: any(c.method == "getUpdates" for c in f.calls[before:]),
        timeout=60,
        what="the bot to start polling",
    )
    return proc


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def verify(db: Path) -> dict[str, int]:
    """What thidua kept: reports, unhandled updates, unsent replies."""
    with sqlite3.connect(db) as conn:
        q = lambda sql: int(conn.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "reports": q("SELECT COUNT(*) FROM reports"),
            "inbox_not_done": q("SELECT COUNT(*) FROM inbox WHERE status != 'done'"),
            "outbox_not_sent": q("SELECT COUNT(*) FROM outbox WHERE status != 'sent'"),
            "outbox_sent": q("SELECT COUNT(*) FROM outbox WHERE status = 'sent'"),
        }


async def verify_url(url: str) -> dict[str, int]:
    """`verify` for a PostgreSQL database (through the storage port)."""
    from storage.db import Database

    async with Database(url) as db, db.transaction() as tx:
        q = tx.fetch_value
        return {
            "reports": int(await q("SELECT COUNT(*) FROM reports")),
            "inbox_not_done": int(await q("SELECT COUNT(*) FROM inbox WHERE status != 'done'")),
            "outbox_not_sent": int(await q("SELECT COUNT(*) FROM outbox WHERE status != 'sent'")),
            "outbox_sent": int(await q("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")),
        }


async def run_bot(
    kind: str,
    officers: int,
    reports: int,
    *,
    database_url: str | None = None,
    processes: int = 0,
) -> Result:
    """One bot in its own process against a fresh load process; thidua on a fresh database
    (an SQLite file, or the empty PostgreSQL database `database_url` names).

    `kind` is "thidua" or "echo". The peer gets thidua's PTB settings from the same config.
    `processes` > 0: that many `thidua run` on the database, Telegram by webhook, the load
    process sending each update to the next one (a load balancer, bench/_load.py).
    """
    if processes:
        return await _run_replicas(officers, reports, processes, database_url)
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        env = clean_env()
        if database_url:
            env["THIDUA_DATABASE_URL"] = database_url
        code = await invite(config, env, officers) if kind == "thidua" else ""
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._load",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,  # the answer is one line with every update's times
        )
        assert load.stdin is not None and load.stdout is not None
        hello = json.loads(await asyncio.wait_for(load.stdout.readline(), 60))
        env.update(TELEGRAM_BOT_TOKEN=hello["token"], TELEGRAM_API_BASE_URL=hello["base_url"])
        if kind == "thidua":
            entry = os.environ.get("BENCH_THIDUA_ENTRY")  # e.g. a traced wrapper of bot.cli
            args = [sys.executable, *([entry] if entry else ["-m", "bot.cli"])]
            args += ["run", "--config", str(config)]
        else:
            ptb = ptb_settings(config)
            args = [sys.executable, str(ROOT / "bench" / "echo_bot.py"), hello["token"]]
            keys = ("concurrent_updates", "connection_pool_size", "poll_timeout")
            args += [hello["base_url"], *(str(ptb[k]) for k in keys), PEER_TRANSPORT]
        with (folder / "bot.log").open("wb") as log:
            bot = await asyncio.create_subprocess_exec(
                *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )
            spy = await _profiler(kind, bot.pid)
            try:
                order = {"kind": kind, "officers": officers, "reports": reports, "code": code}
                load.stdin.write(json.dumps(order).encode() + b"\n")
                await load.stdin.drain()
                polling = json.loads(await asyncio.wait_for(load.stdout.readline(), 120))
                assert polling == {"polling": True}, polling
                cpu = await _settled(bot.pid)
                load.stdin.write(b"go\n")
                await load.stdin.drain()
                line = await asyncio.wait_for(load.stdout.readline(), 900)
                cpu = _cpu_seconds(bot.pid) - cpu
                if not line:
                    raise RuntimeError(f"the load process ended: {await load.wait()}")
                done = json.loads(line)
            finally:
                await stop_process(bot)
                if spy is not None:
                    await spy.wait()
                load.stdin.close()
                try:
                    await asyncio.wait_for(load.wait(), 20)
                except TimeoutError:
                    load.kill()
                    await load.wait()
        result = Result(
            "thidua" if kind == "thidua" else "echo peer",
            done["updates"],
            done["seconds"],
            done["waits"],
            done["processing"],
            cpu=cpu,
            calls=done["calls"],
        )
        if kind == "thidua":
            result.checks = (
                await verify_url(database_url) if database_url else verify(folder / "bench.sqlite3")
            )
            if os.environ.get("BENCH_DEBUG"):
                print((folder / "bot.log").read_text(errors="replace")[-3000:], file=sys.stderr)
    return result


async def _run_replicas(
    officers: int, reports: int, processes: int, database_url: str | None
) -> Result:
    """`run_bot` with several `thidua run` behind the load process's balancer."""
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        folder = Path(tmp)
        env = clean_env()
        env["TELEGRAM_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        if database_url:
            env["THIDUA_DATABASE_URL"] = database_url
        ports = [free_port() for _ in range(processes)]
        configs = [write_config(folder, f"bot{n}", port) for n, port in enumerate(ports)]
        code = await invite(configs[0], env, officers)
        load = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._load", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )  # fmt: skip
        assert load.stdin is not None and load.stdout is not None
        hello = json.loads(await asyncio.wait_for(load.stdout.readline(), 60))
        env.update(TELEGRAM_BOT_TOKEN=hello["token"], TELEGRAM_API_BASE_URL=hello["base_url"])
        bots: list[asyncio.subprocess.Process] = []
        logs = []
        try:
            for n, config in enumerate(configs):
                log = (folder / f"bot{n}.log").open("wb")
                logs.append(log)
                bots.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "run",
                        "--config",
                        str(config),
                        cwd=ROOT,
                        env=env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=log,
                    )
                )
            order = {
                "kind": "thidua",
                "officers": officers,
                "reports": reports,
                "code": code,
                "ports": ports,
                "secret": WEBHOOK_SECRET,
            }
            load.stdin.write(json.dumps(order).encode() + b"\n")
            await load.stdin.drain()
            ready = json.loads(await asyncio.wait_for(load.stdout.readline(), 180))
            assert ready == {"polling": True}, ready
            cpu = sum([await _settled(bot.pid) for bot in bots])
            load.stdin.write(b"go\n")
            await load.stdin.drain()
            line = await asyncio.wait_for(load.stdout.readline(), 900)
            cpu = sum(_cpu_seconds(bot.pid) for bot in bots) - cpu
            if not line:
                raise RuntimeError(f"the load process ended: {await load.wait()}")
            done = json.loads(line)
        finally:
            for bot in bots:
                await stop_process(bot)
            for log in logs:
                log.close()
            load.stdin.close()
            try:
                await asyncio.wait_for(load.wait(), 20)
            except TimeoutError:
                load.kill()
                await load.wait()
        result = Result(
            "thidua", done["updates"], done["seconds"], done["waits"], done["processing"],
            cpu=cpu, calls=done["calls"],
        )  # fmt: skip
        result.checks = (
            await verify_url(database_url) if database_url else verify(folder / "bench.sqlite3")
        )
        result.checks["messages_twice"] = done.get("twice", 0)
        if os.environ.get("BENCH_DEBUG"):
            for n in range(processes):
                text = (folder / f"bot{n}.log").read_text(errors="replace")
                print(text[-3000:], file=sys.stderr)
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _settled(pid: int, quiet: float = 0.2, limit: float = 20.0) -> float:
    """Wait until the bot's start-up work is done (its CPU time still for `quiet` seconds,
    at most `limit`): steady state is measured, not the catch-up a fresh start does after
    it begins polling (scheduler, outbox scan). Returns the CPU time then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last = _cpu_seconds(pid)
    while loop.time() < deadline:
        await asyncio.sleep(quiet)
        now = _cpu_seconds(pid)
        if now == last:
            return now
        last = now
    return last


async def _profiler(kind: str, pid: int) -> asyncio.subprocess.Process | None:
    """With BENCH_PYSPY=FOLDER, py-spy samples the bot (collapsed stacks, one file per run)."""
    folder = os.environ.get("BENCH_PYSPY")
    if not folder:
        return None
    out = Path(folder) / f"{kind}-{pid}.txt"
    extra = ["--idle"] if os.environ.get("BENCH_PYSPY_IDLE") else []
    return await asyncio.create_subprocess_exec(
        "py-spy",
        "record",
        "-p",
        str(pid),
        "-o",
        str(out),
        "-f",
        "raw",
        "-r",
        "500",
        "--nonblocking",
        *extra,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def persisted(result: Result, officers: int, reports: int) -> bool:
    c = result.checks
    return (
        c.get("reports") == officers * reports
        and c.get("inbox_not_done") == 0
        and c.get("outbox_not_sent") == 0
    )


async def interleaved(officers: int, reports: int, rounds: int) -> list[tuple[Result, Result]]:
    """`rounds` pairs (thidua, echo), the order alternating round by round (ABBA…), after a
    small warm-up pair that is not counted (imports, page cache)."""
    await run_bot("thidua", min(officers, 10), 1)
    await run_bot("echo", min(officers, 10), 1)
    pairs: list[tuple[Result, Result]] = []
    for n in range(rounds):
        if n % 2 == 0:
            ours = await run_bot("thidua", officers, reports)
            peer = await run_bot("echo", officers, reports)
        else:
            peer = await run_bot("echo", officers, reports)
            ours = await run_bot("thidua", officers, reports)
        pairs.append((ours, peer))
        print_round(n + 1, ours, peer)
    return pairs


def print_round(n: int, ours: Result, peer: Result) -> None:
    print(
        f"  round {n}: thidua {ours.rate:6.1f}/s processing p50 {pct(ours.processing, 50):6.1f} "
        f"p95 {pct(ours.processing, 95):6.1f} ms | echo {peer.rate:6.1f}/s processing p50 "
        f"{pct(peer.processing, 50):6.1f} p95 {pct(peer.processing, 95):6.1f} ms | CPU/update "
        f"{ours.cpu_per_update:.2f} vs {peer.cpu_per_update:.2f} ms",
        flush=True,
    )


def spread(ratios: Sequence[float]) -> str:
    """Median of per-round ratios and their range."""
    return f"{statistics.median(ratios):.2f} (spread {min(ratios):.2f}–{max(ratios):.2f})"
