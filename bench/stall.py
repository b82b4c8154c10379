"""Does anyone stall behind a chart? Another officer's /help while a /standings is in flight.

The real dispatcher and SQLite, a year of Cluster 1 sample reports (the demo's),
a cluster head asking /standings (text, then the chart drawn in the drawing
process after the commit; the chart cache emptied each round so it is drawn)
and, 20 ms later, an officer asking /help. Prints the median /help time alone
and during the standings, their ratio (target ≤ 2) and the spread over rounds.

    python -m bench.stall            # 15 rounds
    python -m bench.stall --quick    # 5 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.app import App
from bot.clock import SystemClock
from bot.config import Secrets, load_config
from bot.demo import demo_year, invites, seed
from domain.models import Role
from runtime import workers
from tests.harness import EXAMPLE, Harness, User


async def timed(user: User, text: str) -> float:
    start = time.perf_counter()
    await user.send(text)
    return time.perf_counter() - start


async def main(rounds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="thidua-stall-") as tmp:
        config = load_config(EXAMPLE)
        clock = SystemClock()
        app = App(config, Secrets(), clock=clock, database=str(Path(tmp) / "stall.sqlite3"))
        await app.open()
        year = demo_year(config, clock.now().astimezone(config.federation.tz).date())
        written = await seed(app, year)
        codes = {i.role: i.issued.shown for i in await invites(app, year)}
        h = Harness(app.db, app.dispatcher, clock, config, app.catalog)  # type: ignore[arg-type]
        head, officer = h.user(1, "Cụm trưởng"), h.user(2, "Cán bộ")
        await head.send(f"/start {codes[Role.CLUSTER_HEAD]}")
        await officer.send(f"/start {codes[Role.OFFICER]}")
        await head.send("/standings")  # warm-up: the drawing process, matplotlib, caches
        await officer.send("/help")
        print(f"{written} sample reports, {rounds} rounds", flush=True)

        alone: list[float] = []
        during: list[float] = []
        overlapped = 0
        for _ in range(rounds):
            alone.append(await timed(officer, "/help"))
            workers.forget()  # the chart is drawn every round, not taken from the cache
            standings = asyncio.create_task(head.send("/standings"))
            await asyncio.sleep(0.02)  # the standings is being computed or drawn
            during.append(await timed(officer, "/help"))
            overlapped += not standings.done()
            await standings
        await app.db.close()

    ratios = [d / a for a, d in zip(alone, during, strict=True)]
    med_alone, med_during = statistics.median(alone), statistics.median(during)
    print(f"/help alone:            median {med_alone * 1000:7.1f} ms")
    print(f"/help during standings: median {med_during * 1000:7.1f} ms")
    print(
        f"ratio (median of per-round ratios): {statistics.median(ratios):.2f} "
        f"(spread {min(ratios):.2f}–{max(ratios):.2f}; target ≤ 2); "
        f"/standings still in flight when /help was answered: {overlapped}/{rounds}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(5 if args.quick else args.rounds)))
