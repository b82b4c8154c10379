"""Reply latency: the bot's processing time per update, thidua against the bare PTB peer.

Processing time is measured in the fake Bot API (its own process with the
simulated officers, bench/_load.py): from the getUpdates answer that carried
an update to the request carrying its reply. It holds everything the bot
does (recording the update, handling it, queueing and sending the reply) and
nothing of the officers' own work or the long-poll wait. At 1 and at 10
officers at once, each registering and then completing several gifts reports;
thidua and the echo peer (bench/echo_bot.py, thidua's PTB settings and HTTP
transport; BENCH_PEER_TRANSPORT=httpx for PTB's default) alternate round by
round. Printed per concurrency: the median of the per-round ratios
of p50 and of p95, with their spread. Targets: p50 ≤ 1.3×, p95 ≤ 1.5×.

    python -m bench.latency            # 7 rounds; 1 officer × 8 reports, 10 × 3
    python -m bench.latency --quick    # 5 rounds; 1 officer × 4 reports, 10 × 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

from bench._rig import PEER_TRANSPORT, Result, interleaved, pct, persisted, spread

TARGETS = {50: 1.3, 95: 1.5}


def summary(officers: int, pairs: list[tuple[Result, Result]]) -> bool:
    samples = len(pairs[0][0].processing)
    print(f"{officers} officer(s), {samples} updates per bot per round, {len(pairs)} rounds:")
    met = True
    for q, target in TARGETS.items():
        ours = statistics.median(pct(p[0].processing, q) for p in pairs)
        peer = statistics.median(pct(p[1].processing, q) for p in pairs)
        ratios = [pct(a.processing, q) / pct(b.processing, q) for a, b in pairs]
        ok = statistics.median(ratios) <= target
        met &= ok
        print(
            f"  p{q}: thidua {ours:6.2f} ms, echo {peer:6.2f} ms (medians of rounds); "
            f"ratio {spread(ratios)}; target ≤ {target} -> {'met' if ok else 'MISSED'}"
        )
    cpu = [a.cpu_per_update / b.cpu_per_update for a, b in pairs]
    print(
        f"  CPU per update: thidua {statistics.median(p[0].cpu_per_update for p in pairs):.2f} "
        f"ms, echo {statistics.median(p[1].cpu_per_update for p in pairs):.2f} ms; "
        f"ratio {spread(cpu)}"
    )
    for side in (0, 1):
        run = pairs[0][side]
        calls = sum(n for m, n in run.calls.items() if m not in ("getMe", "deleteWebhook"))
        shown = ", ".join(f"{m} {n}" for m, n in sorted(run.calls.items()) if n > 1)
        print(f"  Bot API calls, {run.name}: {calls / run.updates:.2f} per update ({shown})")
    return met


async def main(rounds: int, reports_one: int, reports_ten: int) -> int:
    print(
        f"rounds: {rounds}, machine cores: {os.cpu_count()}, peer's HTTP: {PEER_TRANSPORT}",
        flush=True,
    )
    ok = True
    results = {}
    for officers, reports in ((1, reports_one), (10, reports_ten)):
        pairs = await interleaved(officers, reports, rounds)
        ok &= all(persisted(ours, officers, reports) for ours, _ in pairs)
        results[officers] = pairs
    for officers, pairs in results.items():
        summary(officers, pairs)
    print("persisted: every report and reply in every round" if ok else "MISSING DATA")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="5 rounds, fewer reports")
    args = parser.parse_args()
    rounds, one, ten = (5, 4, 2) if args.quick else (args.rounds, 8, 3)
    raise SystemExit(asyncio.run(main(rounds, one, ten)))
