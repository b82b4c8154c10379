"""Several processes on PostgreSQL against one on SQLite: report conversations, and standings.

1. Report conversations. N officers each register and complete a full report
   conversation at once against a fake Bot API (bench/_rig.py). Every bot
   receives by webhook, the load process acting as the load balancer that sends
   each update to the next process (bench/_load.py), so one and several processes
   are driven alike: one `thidua run` on a fresh SQLite file, and 1, 2 and 4
   `thidua run` on one fresh PostgreSQL database (pgserver, a local server started
   here, or THIDUA_TEST_DATABASE_URL), the order turning round by round. Printed
   per setup: updates/s and the officers' wait p50/p95 of its median round, the
   median of per-round ratios to SQLite with their spread, and what was kept:
   reports lost (fewer than officers) or doubled (more), updates left unhandled,
   messages left unsent, messages delivered twice.

2. Standings on PostgreSQL: bench/standings.py's federation generated at one size
   (1M reports; --quick 100k) into SQLite, moved by `thidua db copy`'s code into
   PostgreSQL, ANALYZEd, then one cluster's /standings (all but the chart) timed
   against the plain GROUP BY over the same reports (the floor), back to back on
   the same 25 clusters, median of rounds with their spread.

    python -m bench.scale            # 200 officers, 5 rounds; standings at 1M
    python -m bench.scale --quick    # 40 officers, 3 rounds; standings at 100k
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._rig import THIDUA_STEPS, Result, pct, run_bot, spread
from storage.copy import copy_database
from storage.db import Database
from tests import pg

SETUPS: tuple[tuple[str, int], ...] = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2))
FULL_SETUPS = (*SETUPS, ("postgresql", 4))


def _name(setup: tuple[str, int]) -> str:
    backend, n = setup
    return f"{'SQLite' if backend == 'sqlite' else 'PostgreSQL'}, {n} process{'es' * (n > 1)}"


async def _one(setup: tuple[str, int], officers: int) -> Result:
    backend, n = setup
    url = await pg.fresh_url() if backend == "postgresql" else None
    return await run_bot("thidua", officers, 1, database_url=url, processes=n)


def _kept(r: Result, officers: int) -> dict[str, int]:
    c = r.checks
    return {
        "lost": max(0, officers - c["reports"]),
        "doubled": max(0, c["reports"] - officers),
        "unhandled": c["inbox_not_done"],
        "unsent": c["outbox_not_sent"],
        "twice": c["messages_twice"],
    }


async def conversations(officers: int, rounds: int, setups: tuple[tuple[str, int], ...]) -> bool:
    print(
        f"officers: {officers}, updates per officer: {len(THIDUA_STEPS)}, rounds: {rounds}, "
        f"machine cores: {os.cpu_count()}; every bot by webhook behind the load's balancer",
        flush=True,
    )
    for setup in setups:  # warm-up, not counted (imports, page cache)
        await _one(setup, min(officers, 10))
    runs: dict[tuple[str, int], list[Result]] = {s: [] for s in setups}
    for n in range(rounds):
        order = setups if n % 2 == 0 else tuple(reversed(setups))
        line = []
        for setup in order:
            r = await _one(setup, officers)
            runs[setup].append(r)
            line.append(f"{_name(setup)} {r.rate:6.1f}/s p95 {pct(r.waits, 95):6.1f} ms")
        print(f"  round {n + 1}: " + " | ".join(line), flush=True)
    base = runs[setups[0]]
    print(
        f"{'setup (median round)':26} {'updates/s':>9} {'wait p50':>9} {'p95 ms':>7} "
        f"{'× SQLite (spread)':>20}  lost doubled unhandled unsent twice"
    )
    ok = True
    for setup in setups:
        ordered = sorted(runs[setup], key=lambda r: r.rate)
        r = ordered[len(ordered) // 2]
        ratios = [mine.rate / lite.rate for mine, lite in zip(runs[setup], base, strict=True)]
        kept = {k: sum(_kept(x, officers)[k] for x in runs[setup]) for k in _kept(r, officers)}
        ok = ok and not any(kept.values())
        print(
            f"{_name(setup):26} {r.rate:9.1f} {pct(r.waits, 50):9.1f} {pct(r.waits, 95):7.1f} "
            f"{spread(ratios):>20}  {kept['lost']:4} {kept['doubled']:7} "
            f"{kept['unhandled']:9} {kept['unsent']:6} {kept['twice']:5}"
        )
    print("(lost … twice: summed over every round)")
    print("0 lost, 0 doubled, 0 left, 0 twice in every run" if ok else "SOMETHING WAS LOST")
    return ok


async def standings(size: int, quick: bool) -> bool:
    """One cluster's /standings on PostgreSQL at `size` reports against its GROUP BY floor."""
    from bench import standings as sb

    class PgBench(sb.Bench):
        async def floor(self, code: str | None) -> list[Any]:
            """bench/standings' floor without SQLite's INDEXED BY (the planner picks)."""
            where, params = "", []
            if code is not None:
                where = f"unit_code IN ({','.join('?' * len(self.members[code]))}) AND "
                params = self.members[code]
            async with self.db.transaction(inline=True) as tx:
                return await tx.fetch_all(
                    f"SELECT unit_code, indicator, COUNT(*) FROM reports WHERE {where}"
                    "occurred_on BETWEEN ? AND ? AND status = ? GROUP BY unit_code, indicator",
                    (*params, sb.PERIOD.start.isoformat(), sb.PERIOD.end.isoformat(), "active"),
                )

    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        path = str(Path(tmp) / "standings.sqlite3")
        started = time.perf_counter()
        await asyncio.to_thread(sb.generate, path, size)  # it runs its own event loop
        url = await pg.fresh_url()
        async with Database(path) as source, Database(url) as target:
            await copy_database(source, target)
            async with target.transaction() as tx:
                await tx.execute("ANALYZE")
        print(
            f"\nstandings on PostgreSQL, {size:,} reports ({sb._describe(path)}); "
            f"generated and copied in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    async with Database(url) as db:
        bench = PgBench(db)
        picks = [bench.clusters[(i * 37) % sb.CLUSTERS] for i in range(sb.PICKS)]
        print("  " + await bench.check(picks[:5], False))
        one = await sb.rounds(3 if quick else 7, picks, bench.one_cluster, bench.floor)
    print("  " + one.line("one cluster on PostgreSQL"))
    ok = one.ratio <= sb.TARGET_RATIO
    print(f"  target ≤ {sb.TARGET_RATIO:g}× the floor: {'met' if ok else 'MISSED'}")
    return ok


async def main(officers: int, rounds: int, size: int, quick: bool, only: str | None) -> int:
    ok = True
    try:
        if only != "standings":
            ok = await conversations(officers, rounds, SETUPS if quick else FULL_SETUPS) and ok
        if only != "conversations":
            ok = await standings(size, quick) and ok
    finally:
        pg.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=1_000_000, help="reports for standings")
    parser.add_argument(
        "--quick", action="store_true", help="40 officers, 3 rounds, 1–2 processes; 100k reports"
    )
    parser.add_argument("--only", choices=("conversations", "standings"))
    args = parser.parse_args()
    officers, rounds, size = (
        (40, 3, 100_000) if args.quick else (args.officers, args.rounds, args.size)
    )
    if args.quick and args.size != 1_000_000:
        size = args.size
    raise SystemExit(asyncio.run(main(officers, rounds, size, args.quick, args.only)))
