"""The unit's usual value behind "Bạn chắc chắn?": its cost at any size, against a floor.

Why: ✅ Lưu reads, for each numeric field of the report, the unit's median of that field
over the last 365 days (storage/report_checks.medians), while the officer waits. It must
cost about what reading that unit's year costs anyway, at 10 thousand reports and at a
million alike.

The federation is bench/standings.py's (2,000 units in 350 clusters, 2023–2025, the 8
indicators of config.example.toml with plausible values, about 2 % retracted), generated
at each size into a migrated SQLite file. Timed through `storage.db.Database` (the bot's
pragmas), one inline transaction each, as the dispatcher runs a handler:

- work = `report_checks.medians` for one unit, the gifts indicator, its two numeric fields
  (count, value_per_gift), the 365 days before 30/9/2025: one query (the unit's range of
  the index reports (unit_code, occurred_on, status, indicator) read backwards for its
  latest 500 reports, each report's values by their primary key) and the medians in
  Python;
- floor = the least any such check reads: that unit's gifts reports of those 365 days,
  counted from the covering index alone (no table, no values);
- rows = the same query's rows fetched, without the medians: what reading the values
  costs, so work/rows is the price of the rest (grouping, the median in Python).
  A busy unit's figure against the floor is bounded by the 500-report sample, whatever
  its number of reports.

Each round times both back to back on the same 25 units; a round's figure is the median
over its units; the ratio printed is the median of the rounds' ratios, with their spread.
A generated unit has few gifts reports a year (about 46 at a million), so a busy unit is
measured too: one added with 5,000 gifts reports in those 365 days (the worst case: the
query reads every one of them).

    python -m bench.outliers                  # 10k, 100k and 1M reports
    python -m bench.outliers --quick          # 10k and 100k, fewer rounds
    python -m bench.outliers --keep DIR       # keep (and reuse) the generated files
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.standings import FLOOR_INDEX, Figure, generate, rounds, unit_codes
from storage import report_checks
from storage._codec import fetch_all
from storage.db import Database

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
TODAY = dt.date(2025, 9, 30)
SINCE = TODAY - dt.timedelta(days=365)
FIELDS = ("count", "value_per_gift")
PICKS = 25
BUSY, BUSY_REPORTS = "busy_unit", 5_000


class Bench:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def medians(self, unit: str) -> dict[str, float]:
        async with self.db.transaction(inline=True) as tx:
            return await report_checks.medians(
                tx,
                unit_code=unit,
                indicator="gifts",
                fields=FIELDS,
                since=SINCE,
                min_reports=1,
            )

    async def rows(self, unit: str) -> list[Any]:
        async with self.db.transaction(inline=True) as tx:
            return await fetch_all(
                tx,
                "SELECT v.field, v.num FROM (SELECT id FROM reports WHERE unit_code = ? "
                "AND occurred_on >= ? AND status <> 'retracted' AND indicator = 'gifts' "
                "AND id <> -1 ORDER BY occurred_on DESC LIMIT ?) r JOIN report_values v "
                "ON v.report_id = r.id WHERE v.field IN (?, ?) AND v.num IS NOT NULL",
                (unit, SINCE.isoformat(), report_checks.SAMPLE, *FIELDS),
            )

    async def floor(self, unit: str) -> list[Any]:
        async with self.db.transaction(inline=True) as tx:
            return await fetch_all(
                tx,
                f"SELECT COUNT(*) FROM reports INDEXED BY {FLOOR_INDEX} WHERE unit_code = ? "
                "AND occurred_on >= ? AND status <> 'retracted' AND indicator = 'gifts'",
                (unit, SINCE.isoformat()),
            )


def add_busy_unit(path: str) -> None:
    """One unit with BUSY_REPORTS gifts reports in the window (once per file)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if conn.execute("SELECT 1 FROM units WHERE code = ?", (BUSY,)).fetchone():
            return
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO units (code, name, kind, active) VALUES (?, 'Bận', 'ldld', 1)", (BUSY,)
        )
        person = conn.execute(
            "INSERT INTO people (name, unit_code, role, language, active, created_at) "
            "VALUES ('Cán bộ bận', ?, 'officer', 'vi', 1, '2023-01-01T00:00:00+00:00') "
            "RETURNING id",
            (BUSY,),
        ).fetchone()[0]
        first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM reports").fetchone()[0]
        rows, values = [], []
        for n in range(BUSY_REPORTS):
            rid = first + n
            day = (SINCE + dt.timedelta(days=1 + n % 364)).isoformat()
            count, value = 10 + n % 90, 100_000 * (1 + n % 20)
            rows.append(
                (rid, BUSY, person, "gifts", "{}", day, day + "T01:00:00+00:00", f"busy{n}")
            )
            values += [(rid, "count", count, None), (rid, "value_per_gift", value, None)]
        conn.executemany(
            "INSERT INTO reports (id, unit_code, person_id, indicator, values_json, occurred_on, "
            "created_at, status, version, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', 1, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)", values
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _plan(path: str) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT v.field, v.num FROM (SELECT id FROM reports "
            "WHERE unit_code = ? AND occurred_on >= ? AND status <> ? AND indicator = ? "
            "AND id <> ? ORDER BY occurred_on DESC LIMIT 500) r JOIN report_values v "
            "ON v.report_id = r.id WHERE v.field IN (?, ?) AND v.num IS NOT NULL",
            ("u0001", SINCE.isoformat(), "retracted", "gifts", -1, *FIELDS),
        ).fetchall()
        per_unit = conn.execute(
            "SELECT COUNT(*) * 1.0 / (SELECT COUNT(*) FROM units) FROM reports "
            "WHERE indicator = 'gifts' AND occurred_on >= ?",
            (SINCE.isoformat(),),
        ).fetchone()[0]
    finally:
        conn.close()
    return "; ".join(r[-1] for r in rows) + f" — {per_unit:.1f} gifts reports a unit in 365 days"


async def measure(path: str, quick: bool) -> tuple[Figure, Figure, Figure, dict[str, float]]:
    codes = unit_codes()
    picks = [codes[(i * 79) % len(codes)] for i in range(PICKS)]
    n = 3 if quick else 7
    async with Database(path) as db:
        bench = Bench(db)
        sample = await bench.medians(picks[0])
        figure = await rounds(n, picks, bench.medians, bench.floor)
        busy = await rounds(n, [BUSY] * 5, bench.medians, bench.floor)
        busy_rows = await rounds(n, [BUSY] * 5, bench.medians, bench.rows)
    return figure, busy, busy_rows, sample


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k and 100k reports, fewer rounds")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep (reuse) files")
    args = parser.parse_args(argv)
    results: list[tuple[int, Figure, Figure]] = []
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for reports in QUICK_SIZES if args.quick else SIZES:
            path = str(folder / f"standings-{reports}.sqlite3")
            started = time.perf_counter()
            if not Path(path).exists():
                generate(path, reports)
            print(f"\n{reports:,} reports, ready in {time.perf_counter() - started:.1f} s")
            add_busy_unit(path)
            print("  plan: " + _plan(path))
            figure, busy, busy_rows, sample = asyncio.run(measure(path, args.quick))
            print(f"  one unit's medians, e.g. {sample}")
            print("  " + figure.line("medians of one unit"))
            print("  " + busy.line(f"medians of the busy unit ({BUSY_REPORTS:,} gifts reports)"))
            print(
                "  "
                + busy_rows.line("  the same against its rows fetched").replace("floor", "rows")
            )
            results.append((reports, figure, busy))
            sys.stdout.flush()
    print("\nreports    | one unit: medians vs floor (median ms) = ratio [spread] | busy unit")
    for reports, f, b in results:
        print(
            f"{reports:>10,} | {f.work * 1000:6.3f} vs {f.floor * 1000:6.3f} = {f.ratio:4.2f}× "
            f"[{f.low:.2f}–{f.high:.2f}] | {b.work * 1000:6.2f} vs {b.floor * 1000:6.2f} = "
            f"{b.ratio:4.2f}× [{b.low:.2f}–{b.high:.2f}]"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
