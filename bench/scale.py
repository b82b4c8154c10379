"""Report conversations on PostgreSQL against SQLite: the same `thidua run`, the same load.

N officers each complete a full report conversation at once against a fake Bot API
(bench/_rig.py, as bench/report_throughput.py): one `thidua run` on a fresh SQLite
file, one on a fresh PostgreSQL database (pgserver, a local server started here, or
THIDUA_TEST_DATABASE_URL), alternating over the rounds (ABBA…). Printed per backend:
updates/s and the officers' wait p50/p95 of its median round, the median of the
per-round ratios PostgreSQL/SQLite with their spread, and what each kept (reports,
unhandled updates, unsent replies: 0 lost, 0 doubled).

Several processes on one PostgreSQL database are not measured: they do not share the
work yet (a second `thidua run` on a database refuses to start).

    python -m bench.scale            # 200 officers, 5 rounds
    python -m bench.scale --quick    # 40 officers, 3 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bench._rig import THIDUA_STEPS, Result, pct, persisted, run_bot, spread
from tests import pg


async def _pair(officers: int, first_sqlite: bool) -> tuple[Result, Result]:
    url = await pg.fresh_url()
    if first_sqlite:
        lite = await run_bot("thidua", officers, 1)
        post = await run_bot("thidua", officers, 1, database_url=url)
    else:
        post = await run_bot("thidua", officers, 1, database_url=url)
        lite = await run_bot("thidua", officers, 1)
    return lite, post


async def main(officers: int, rounds: int) -> int:
    print(
        f"officers: {officers}, updates per officer: {len(THIDUA_STEPS)}, rounds: {rounds}, "
        f"machine cores: {os.cpu_count()}, one process per backend",
        flush=True,
    )
    try:
        await _pair(min(officers, 10), True)  # warm-up, not counted (imports, page cache)
        pairs: list[tuple[Result, Result]] = []
        for n in range(rounds):
            lite, post = await _pair(officers, n % 2 == 0)
            pairs.append((lite, post))
            print(
                f"  round {n + 1}: SQLite {lite.rate:6.1f}/s wait p95 {pct(lite.waits, 95):6.1f} ms"
                f" | PostgreSQL {post.rate:6.1f}/s wait p95 {pct(post.waits, 95):6.1f} ms",
                flush=True,
            )
    finally:
        pg.stop()
    print(f"{'backend (median round)':24} {'updates/s':>10} {'wait p50':>9} {'p95 ms':>7}")
    for side, name in ((0, "SQLite, 1 process"), (1, "PostgreSQL, 1 process")):
        runs = sorted((p[side] for p in pairs), key=lambda r: r.rate)
        r = runs[len(runs) // 2]
        print(f"{name:24} {r.rate:10.1f} {pct(r.waits, 50):9.1f} {pct(r.waits, 95):7.1f}")
    ratios = [post.rate / lite.rate for lite, post in pairs]
    print(f"ratio PostgreSQL/SQLite (updates/s), median of per-round ratios: {spread(ratios)}")
    ok = all(persisted(r, officers, 1) for pair in pairs for r in pair)
    for name, r in (("SQLite", pairs[-1][0]), ("PostgreSQL", pairs[-1][1])):
        c = r.checks
        print(
            f"{name}: reports {c['reports']}/{officers}, inbox not done {c['inbox_not_done']}, "
            f"outbox sent {c['outbox_sent']}, not sent {c['outbox_not_sent']}"
        )
    print("every reply persisted, all rounds, both backends" if ok else "MISSING DATA")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="40 officers, 3 rounds")
    args = parser.parse_args()
    officers, rounds = (40, 3) if args.quick else (args.officers, args.rounds)
    raise SystemExit(asyncio.run(main(officers, rounds)))
