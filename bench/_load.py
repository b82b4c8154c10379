"""The load process of the chat benchmarks: the fake Bot API and the simulated officers.

Kept apart from the driver and from the bot under test, so the officers' own
work never competes with the bot inside one interpreter. Speaks one JSON line
each way: it says where it listens, reads the order (which bot, how many
officers, how many reports), waits for the bot to poll and for the driver's
word that it has settled, drives the officers and answers with the times.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bench._rig import TimedFake, conversation, drive


async def main() -> None:
    loop = asyncio.get_running_loop()
    async with TimedFake(strict=False) as fake:
        print(json.dumps({"token": fake.token, "base_url": fake.base_url}), flush=True)
        order = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
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
        }
        print(json.dumps(answer), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # until the driver closes it


if __name__ == "__main__":
    asyncio.run(main())
