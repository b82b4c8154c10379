"""Report throughput: N officers each complete a full report conversation at once.

Each bot runs as its own process against a fake Bot API (127.0.0.1) whose
simulated officers live in a third process (bench/_load.py), the driver
waiting meanwhile: (a) thidua (`thidua run`, inbox → dispatcher → SQLite →
outbox, every reply persisted), (b) a bare python-telegram-bot echo bot with
thidua's own PTB settings (bench/echo_bot.py). Each officer sends the next
message only after the bot answered the previous one, like a person. The two
bots alternate over the rounds (ABBA…); printed: the median of the per-round
ratios of updates/s with their spread, and each bot's median round.

    python -m bench.report_throughput            # 200 officers, 5 rounds
    python -m bench.report_throughput --quick    # 40 officers, 3 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bench._rig import THIDUA_STEPS, interleaved, pct, persisted, spread


async def main(officers: int, rounds: int) -> int:
    print(
        f"officers: {officers}, updates per officer: {len(THIDUA_STEPS)}, rounds: {rounds}, "
        f"machine cores: {os.cpu_count()}",
        flush=True,
    )
    pairs = await interleaved(officers, 1, rounds)
    ratios = [ours.rate / peer.rate for ours, peer in pairs]
    print(f"{'bot (median round)':28} {'updates/s':>10} {'wait p50':>9} {'p95 ms':>7}")
    for side in (0, 1):
        runs = sorted((p[side] for p in pairs), key=lambda r: r.rate)
        r = runs[len(runs) // 2]
        print(f"{r.name:28} {r.rate:10.1f} {pct(r.waits, 50):9.1f} {pct(r.waits, 95):7.1f}")
    print(
        f"ratio thidua/echo (updates/s), median of per-round ratios: {spread(ratios)}; target ≥ 0.5"
    )
    cpu = [ours.cpu_per_update / peer.cpu_per_update for ours, peer in pairs]
    print(f"CPU per update, thidua/echo, median of per-round ratios: {spread(cpu)}")
    ok = all(persisted(ours, officers, 1) for ours, _ in pairs)
    c = pairs[-1][0].checks
    print(
        f"persisted: reports {c['reports']}/{officers}, inbox not done {c['inbox_not_done']}, "
        f"outbox sent {c['outbox_sent']}, not sent {c['outbox_not_sent']} -> "
        f"{'every reply persisted (all rounds)' if ok else 'MISSING DATA'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="40 officers, 3 rounds")
    args = parser.parse_args()
    officers, rounds = (40, 3) if args.quick else (args.officers, args.rounds)
    raise SystemExit(asyncio.run(main(officers, rounds)))
