"""Crashes under load: N officers report at once while the bot is SIGKILLed N times.

`thidua run` is a child process on a fresh SQLite file; the fake Bot API and the
simulated officers live in this process, so they outlive every kill. After each
kill the bot is started again at once; Telegram (the fake) redelivers what was
not confirmed, the inbox hands over what was recorded but not handled, and the
outbox sends what was not recorded as sent. Each officer waits for the answer to
each step, however many restarts it takes, like a person would.

Prints reports confirmed ("Đã lưu" received), stored, lost (confirmed, not
stored), doubled (one officer, two reports), and messages delivered twice per kill.

    python -m bench.crash                 # 200 officers, 5 kills
    python -m bench.crash --quick         # 40 officers, 2 kills
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench._rig import THIDUA_STEPS, Officer, invite, start_process, write_config
from tests.fakes.telegram_api import FakeTelegramAPI

FIRST_ID = 10_000


def delivered_twice(fake: FakeTelegramAPI) -> int:
    """Messages that reached a chat more than once (same method, chat and text)."""
    seen = Counter(
        (c.method, c.chat_id, c.text)
        for c in fake.calls
        if c.status == 200 and c.method in ("sendMessage", "editMessageText", "sendPhoto")
    )
    return sum(n - 1 for n in seen.values() if n > 1)


def stored(db: Path) -> Counter[str]:
    """Reports per officer (their Telegram id)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT i.platform_id FROM reports r JOIN identities i ON i.person_id = r.person_id "
            "WHERE i.channel = 'telegram'"
        ).fetchall()
    return Counter(str(platform_id) for (platform_id,) in rows)


async def main(officers: int, kills: int, seed: int) -> int:
    rng = random.Random(seed)
    cores = os.cpu_count()
    print(f"officers: {officers}, kills: {kills}, seed: {seed}, cores: {cores}", flush=True)
    with tempfile.TemporaryDirectory(prefix="thidua-crash-") as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        async with FakeTelegramAPI(strict=False) as fake:
            env = {k: v for k, v in os.environ.items() if k != "THIDUA_CONFIG"}
            env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url)
            code = await invite(config, env, officers)
            command = (sys.executable, "-m", "bot.cli", "run", "--config", str(config))
            bot = await start_process(fake, *command, env=env)
            people = [Officer(fake, FIRST_ID + i) for i in range(officers)]
            confirmed: set[str] = set()

            async def run(officer: Officer) -> None:
                for action, expect in THIDUA_STEPS:
                    if isinstance(action, str):
                        action = action.format(code=code)
                    await officer.step(action, expect)
                confirmed.add(str(officer.user.id))

            began = time.perf_counter()
            driving = asyncio.gather(*(run(o) for o in people))
            done_kills = 0
            while done_kills < kills and not driving.done():
                await asyncio.sleep(rng.uniform(0.3, 2.0))
                if driving.done():
                    break
                bot.send_signal(signal.SIGKILL)
                await bot.wait()
                done_kills += 1
                print(f"  kill {done_kills} at {time.perf_counter() - began:5.1f} s", flush=True)
                bot = await start_process(fake, *command, env=env)
            await asyncio.wait_for(driving, timeout=600)
            elapsed = time.perf_counter() - began
            # Let the last replies be recorded, then stop cleanly.
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 30)
            per_officer = stored(folder / "bench.sqlite3")
            twice = delivered_twice(fake)

    lost = sorted(o for o in confirmed if per_officer[o] == 0)
    doubled = sorted(o for o, n in per_officer.items() if n > 1)
    print(f"finished in {elapsed:.1f} s with {done_kills} kills")
    print(f"reports confirmed: {len(confirmed)}/{officers}")
    print(f"reports stored:    {sum(per_officer.values())}")
    print(f"lost:              {len(lost)}")
    print(f"doubled:           {len(doubled)}")
    per_kill = twice / done_kills if done_kills else 0.0
    print(
        f"messages delivered twice: {twice} in all, {per_kill:.1f} per kill (target ≤ 5 per kill)"
    )
    return 0 if not lost and not doubled and len(confirmed) == officers else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="40 officers, 2 kills")
    args = parser.parse_args()
    officers, kills = (40, 2) if args.quick else (args.officers, args.kills)
    raise SystemExit(asyncio.run(main(officers, kills, args.seed)))
