"""The load process of the chat benchmarks: the fake Bot API and the simulated officers.

Kept apart from the driver and from the bot under test, so the officers' own
work never competes with the bot inside one interpreter. Speaks one JSON line
each way: it says where it listens, reads the order (which bot, how many
officers, how many reports), waits for the bot to poll and for the driver's
word that it has settled, drives the officers and answers with the times.

With `ports` in the order (several `thidua run` receiving by webhook), it is also
the load balancer in front of them: each update goes to the next process, to
another one when it does not answer 200 (Telegram resends until one does).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

from bench._rig import TimedFake, conversation, drive


async def balance(fake: TimedFake, ports: list[int], secret: str) -> None:
    updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    fake.webhook_sink = updates.put_nowait
    turn = itertools.count()
    async with aiohttp.ClientSession() as http:

        async def post(update: dict[str, Any]) -> None:
            fake.delivered.setdefault(int(update["update_id"]), time.monotonic())
            while True:
                port = ports[next(turn) % len(ports)]
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/telegram/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                    ) as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)

        tasks: set[asyncio.Task[None]] = set()
        while True:
            task = asyncio.create_task(post(await updates.get()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


def delivered_twice(fake: TimedFake) -> int:
    """Messages that reached a chat more than once (same method, chat and text)."""
    seen = Counter(
        (c.method, c.chat_id, c.text)
        for c in fake.calls
        if c.status == 200 and c.method in ("sendMessage", "editMessageText", "sendPhoto")
    )
    return sum(n - 1 for n in seen.values() if n > 1)


async def main() -> None:
    loop = asyncio.get_running_loop()
    async with TimedFake(strict=False) as fake:
        print(json.dumps({"token": fake.token, "base_url": fake.base_url}), flush=True)
        order = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
        ports = order.get("ports")
        balancer = None
        if ports:
            balancer = asyncio.create_task(balance(fake, ports, order["secret"]))
            await fake.wait_for(
                lambda f: sum(c.method == "setWebhook" for c in f.calls) >= len(ports),
                timeout=120,
                what="every bot process to set its webhook",
            )
        else:
            await fake.wait_for(
                lambda f: any(c.method == "getUpdates" for c in f.calls),
                timeout=60,
                what="the bot to start polling",
            )
        print(json.dumps({"polling": True}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "go": the bot has settled
        steps = conversation(order["kind"], order["reports"])
        result = await drive(fake, order["officers"], steps, order["code"])
        answer = {
            "updates": result.updates,
            "seconds": result.seconds,
            "waits": result.waits,
            "processing": result.processing,
            "calls": dict(fake.stats.calls),
            "twice": delivered_twice(fake),
        }
        print(json.dumps(answer), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # until the driver closes it
        if balancer is not None:
            balancer.cancel()


if __name__ == "__main__":
    asyncio.run(main())
