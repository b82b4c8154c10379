"""Standings: /standings for one cluster and for all clusters, against a plain-SQL floor.

Why: a cluster head asks for standings in a chat and waits for the answer; a
city federation holds millions of reports. /standings must cost about what the
database needs to read the rows anyway, not a multiple of it.

A generated federation (2,000 units in 350 clusters, 1,000,000 reports over
2023–2025, spread over the 8 indicators of config.example.toml with plausible
values, about 2% retracted, targets for every unit) is written straight into a
SQLite file in a temporary folder: a child process runs the real migrations,
then executemany. The timed work is the production path, through
`storage.db.Database` (aiosqlite, the bot's pragmas) in a transaction:

- one cluster = `storage.standings.measure_totals` for the cluster's units and
  the year 2025 + `storage.targets.for_period` + `domain.scoring.score_cluster`
  with config.example.toml's measures and [scoring]: everything but the text;
- all clusters = `storage.standings.all_unit_totals` + every target of the year
  + `score_cluster` for each of the clusters;
- the floor = one plain `SELECT unit_code, SUM(num) … GROUP BY unit_code` over
  the same reports (same units, same year, active) for one measure
  (new_members: the `people` field), timed the same way.

Each figure is the median of several runs on a warm cache; one-cluster runs
cycle over several clusters, the floor and /standings measured back to back
on the same cluster. Peak memory is measured afterwards in a separate pass
(tracemalloc slows Python down, so it never runs during the timings):
Python's allocations while computing standings, and the process's max RSS.

    python -m bench.standings            # the full federation (~1 minute to generate)
    python -m bench.standings --quick    # 300 units, 50 clusters, 100,000 reports
    python -m bench.standings --index    # plus reports (unit_code, occurred_on), to compare
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.config import AppConfig, load_config
from domain.measures import measure_totals
from domain.models import ReportStatus, Unit
from domain.periods import Period, PeriodKind
from domain.scoring import Standings, score_cluster, targets_for
from storage import reports as reports_repo
from storage import standings as standings_repo
from storage import targets as targets_repo
from storage._codec import fetch_all
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
YEARS = (2023, 2024, 2025)
PERIOD = Period(PeriodKind.YEAR, 2025, 1)
TODAY = dt.date(2025, 9, 30)  # /standings asked on this day: progress 0.75
FLOOR_FIELD = "people"  # the new_members measure
RETRACTED_SHARE = 0.02
TARGET_RATIO = 2.0
INDEX = "CREATE INDEX reports_unit_occurred ON reports (unit_code, occurred_on)"

# Indicator mix (share of reports), as a district federation reports them.
MIX = {
    "gifts": 22,
    "events": 20,
    "new_members": 14,
    "new_unions": 4,
    "cba": 8,
    "welfare": 8,
    "support": 14,
    "initiatives": 10,
}
OCCASIONS = ("tet", "women_day", "workers_month", "children_day", "mid_autumn", "vn_women_day")
EVENT_KINDS = ("conference", "culture", "sport", "training", "other")


@dataclass(frozen=True)
class Size:
    units: int
    clusters: int
    reports: int


FULL = Size(units=2_000, clusters=350, reports=1_000_000)
QUICK = Size(units=300, clusters=50, reports=100_000)


# --- the generated federation ---------------------------------------------------------


def unit_codes(size: Size) -> list[str]:
    return [f"u{n:04d}" for n in range(size.units)]


def cluster_members(size: Size) -> list[list[str]]:
    """Units dealt into clusters of 5–6, as evenly as the counts allow."""
    codes = unit_codes(size)
    base, extra = divmod(len(codes), size.clusters)
    clusters, at = [], 0
    for n in range(size.clusters):
        width = base + (1 if n < extra else 0)
        clusters.append(codes[at : at + width])
        at += width
    return clusters


def _values(rng: random.Random, indicator: str, day: str) -> dict[str, Any]:
    """A report's values, shaped like the forms of config.example.toml."""
    if indicator == "gifts":
        v: dict[str, Any] = {"count": rng.randint(1, 500), "occasion": rng.choice(OCCASIONS)}
        if rng.random() < 0.9:  # optional: some officers skip the value per gift
            v["value_per_gift"] = rng.randrange(100_000, 2_000_001, 10_000)
        if rng.random() < 0.5:
            v["recipients"] = "đoàn viên nữ có hoàn cảnh khó khăn"
    elif indicator == "events":
        v = {"kind": rng.choice(EVENT_KINDS), "count": rng.randint(1, 5)}
        if rng.random() < 0.8:
            v["participants"] = rng.randint(10, 800)
    elif indicator == "new_members":
        v = {"people": rng.randint(1, 150)}
    elif indicator == "new_unions":
        v = {"unions": rng.randint(1, 3), "members": rng.randint(10, 300)}
    elif indicator in ("cba", "welfare"):
        v = {"agreements": rng.randint(1, 6)}
        if indicator == "cba" and rng.random() < 0.5:
            v["enterprise_rate"] = round(rng.uniform(40, 90), 1)
    elif indicator == "support":
        v = {"visits": rng.randint(1, 40), "amount": rng.randrange(500_000, 50_000_001, 100_000)}
    else:
        v = {"count": rng.randint(1, 3), "title": "Sáng kiến cải tiến quy trình"}
    v["date"] = day
    return v


def _days(size: Size, rng: random.Random) -> Iterator[dt.date]:
    """Report dates in the order they are written (ids follow time, as in a real database)."""
    first, last = dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31)
    span = (last - first).days + 1
    offsets = sorted(rng.randrange(span) for _ in range(size.reports))
    for offset in offsets:
        yield first + dt.timedelta(days=offset)


def generate(path: str, size: Size, seed: int = 2025) -> None:
    """Write the federation into a migrated database with executemany (not through the bot)."""
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    codes = unit_codes(size)
    # Some units report more than others.
    weights = [rng.uniform(0.4, 1.6) for _ in codes]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('reports', 'report_values')"
    ).fetchall()
    for name, _ in indexes:  # rebuilt afterwards: the same schema, far faster to load
        conn.execute(f"DROP INDEX {name}")
    created = "2023-01-01T00:00:00+00:00"
    conn.executemany(
        "INSERT INTO units (code, name, kind, active) VALUES (?, ?, 'ldld', 1)",
        [(c, f"Công đoàn {c}") for c in codes],
    )
    conn.executemany(
        "INSERT INTO people (id, name, unit_code, role, language, active, created_at) "
        "VALUES (?, ?, ?, 'officer', 'vi', 1, ?)",
        [(n + 1, f"Cán bộ {c}", c, created) for n, c in enumerate(codes)],
    )
    person = {c: n + 1 for n, c in enumerate(codes)}
    for year in YEARS:
        for n, members in enumerate(cluster_members(size)):
            conn.execute(
                "INSERT INTO clusters (code, year, name) VALUES (?, ?, ?)",
                (f"cum{n + 1}", year, f"Cụm thi đua số {n + 1}"),
            )
            conn.executemany(
                "INSERT INTO cluster_members (cluster_code, year, unit_code, role) "
                "VALUES (?, ?, ?, ?)",
                [
                    (f"cum{n + 1}", year, u, "head" if i == 0 else "member")
                    for i, u in enumerate(members)
                ],
            )
    target_rows = [
        (c, measure, PERIOD.key, value, "import", created)
        for c in codes
        for measure, value in (
            ("new_unions", rng.randint(5, 25)),
            ("new_members", rng.randrange(500, 3000, 50)),
            ("gifts_count", rng.randrange(2000, 20000, 100)),
        )
    ]
    conn.executemany(
        "INSERT INTO targets (unit_code, measure, period_key, value, source, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        target_rows,
    )
    indicators, shares = list(MIX), list(MIX.values())
    reports: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    for report_id, day in enumerate(_days(size, rng), start=1):
        unit = rng.choices(codes, weights)[0]
        indicator = rng.choices(indicators, shares)[0]
        iso = day.isoformat()
        v = _values(rng, indicator, iso)
        status = ReportStatus.RETRACTED if rng.random() < RETRACTED_SHARE else ReportStatus.ACTIVE
        at = f"{iso}T{rng.randrange(1, 15):02d}:{rng.randrange(60):02d}:00+00:00"
        reports.append(
            (
                report_id,
                unit,
                person[unit],
                indicator,
                json.dumps(v, ensure_ascii=False, sort_keys=True),
                iso,
                at,
                status.value,
                f"gen:{report_id}",
            )
        )
        for field, x in v.items():
            number = isinstance(x, int | float)
            values.append((report_id, field, x if number else None, None if number else x))
        if len(reports) >= 50_000:
            _flush(conn, reports, values)
    _flush(conn, reports, values)
    for _, sql in indexes:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _flush(conn: sqlite3.Connection, reports: list[Any], values: list[Any]) -> None:
    conn.executemany(
        "INSERT INTO reports (id, unit_code, person_id, indicator, values_json, occurred_on, "
        "created_at, status, version, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        reports,
    )
    conn.executemany(
        "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)", values
    )
    reports.clear()
    values.clear()


async def _migrate(path: str) -> None:
    async with Database(path):
        pass


# --- what is timed ---------------------------------------------------------------------


def _progress(period: Period, today: dt.date) -> float:
    return ((today - period.start).days + 1) / ((period.end - period.start).days + 1)


class Bench:
    """The federation as the bot sees it: config measures and scoring, units, clusters."""

    def __init__(self, db: Database, config: AppConfig, size: Size) -> None:
        if config.scoring is None:
            raise SystemExit(f"{EXAMPLE} has no [scoring]")
        self.db = db
        self.measures = config.all_measures
        self.scoring = config.scoring
        self.clusters = [
            tuple(Unit(code=c, name=f"Công đoàn {c}") for c in members)
            for members in cluster_members(size)
        ]
        self.progress = _progress(PERIOD, TODAY)

    def _score(self, units: Sequence[Unit], totals: Any, targets: Any) -> Standings:
        return score_cluster(units, totals, targets, self.scoring, progress=self.progress)

    async def one_cluster(self, units: Sequence[Unit]) -> Standings:
        codes = [u.code for u in units]
        async with self.db.transaction() as tx:
            totals = await standings_repo.measure_totals(
                tx, self.measures, codes, PERIOD.start, PERIOD.end
            )
            found = await targets_repo.for_period(tx, PERIOD.key, codes)
        return self._score(units, totals, targets_for(found, PERIOD.key))

    async def all_clusters(self) -> list[Standings]:
        async with self.db.transaction() as tx:
            totals = await standings_repo.all_unit_totals(
                tx, self.measures, PERIOD.start, PERIOD.end
            )
            found = await targets_repo.for_period(tx, PERIOD.key)
        targets = targets_for(found, PERIOD.key)
        return [self._score(units, totals, targets) for units in self.clusters]

    async def all_clusters_one_by_one(self) -> list[Standings]:
        return [await self.one_cluster(units) for units in self.clusters]

    async def check(self, units: Sequence[Unit]) -> str:
        """The SQL totals of a cluster equal the pure ones over its reports, at this scale too."""
        codes = [u.code for u in units]
        async with self.db.transaction() as tx:
            sql = await standings_repo.measure_totals(
                tx, self.measures, codes, PERIOD.start, PERIOD.end
            )
            everyone = await standings_repo.all_unit_totals(
                tx, self.measures, PERIOD.start, PERIOD.end
            )
            found = await reports_repo.in_period(tx, codes, PERIOD.start, PERIOD.end)
        pure = measure_totals(found, self.measures, PERIOD)
        same = sql == pure == {k: v for k, v in everyone.items() if k[0] in codes}
        if not same:
            raise SystemExit("SQL totals differ from domain.measures.measure_totals")
        return f"check: SQL totals = pure totals over the {len(found):,} reports of one cluster"

    async def floor(self, units: Sequence[Unit] | None) -> list[Any]:
        """One plain GROUP BY over the same reports, for one measure."""
        where, params = "", []
        if units is not None:
            where = f"r.unit_code IN ({','.join('?' * len(units))}) AND "
            params = [u.code for u in units]
        async with self.db.transaction() as tx:
            return await fetch_all(
                tx,
                "SELECT r.unit_code, SUM(v.num) FROM reports r "
                "JOIN report_values v ON v.report_id = r.id "
                f"WHERE {where}r.occurred_on BETWEEN ? AND ? AND r.status = ? AND v.field = ? "
                "GROUP BY r.unit_code",
                (*params, PERIOD.start.isoformat(), PERIOD.end.isoformat(), "active", FLOOR_FIELD),
            )


async def _seconds(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def paired(
    runs: int, work: Callable[[int], Awaitable[object]], floor: Callable[[int], Awaitable[object]]
) -> tuple[float, float]:
    """Medians (s) of `work(i)` and `floor(i)`, measured back to back, after a warm-up pass."""
    for i in range(runs):
        await work(i)
        await floor(i)
    worked, floored = [], []
    for i in range(runs):
        worked.append(await _seconds(partial(work, i)))
        floored.append(await _seconds(partial(floor, i)))
    return statistics.median(worked), statistics.median(floored)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _size(n: int) -> str:
    return f"{n / 2**10:,.0f} KiB" if n < 2**20 else f"{n / 2**20:,.1f} MiB"


def _line(name: str, work: float, floor: float) -> str:
    return f"{name}: {_ms(work)} (floor {_ms(floor)}, ratio {work / floor:.2f})"


async def measure(path: str, size: Size, quick: bool) -> bool:
    config = load_config(EXAMPLE)
    async with Database(path) as db:
        bench = Bench(db, config, size)
        clusters = bench.clusters
        checked = await bench.check(clusters[0])
        picks = [clusters[(i * 37) % len(clusters)] for i in range(15 if quick else 31)]
        one, one_floor = await paired(
            len(picks), lambda i: bench.one_cluster(picks[i]), lambda i: bench.floor(picks[i])
        )
        runs = 3 if quick else 5
        every, every_floor = await paired(
            runs, lambda i: bench.all_clusters(), lambda i: bench.floor(None)
        )
        by_one, _ = await paired(
            1 if not quick else 2, lambda i: bench.all_clusters_one_by_one(), _nothing
        )

        tracemalloc.start()
        await bench.one_cluster(picks[0])
        one_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        await bench.all_clusters()
        all_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    ok = one <= TARGET_RATIO * one_floor
    print(checked)
    print(_line("one cluster", one, one_floor))
    print(_line(f"all clusters ({len(clusters)})", every, every_floor))
    print(
        f"all clusters, one query per cluster: {_ms(by_one)} "
        f"(ratio to the all-clusters floor {by_one / every_floor:.2f})"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"peak memory: Python allocations {_size(one_peak)} (one cluster), "
        f"{_size(all_peak)} (all clusters); max RSS {rss:.0f} MiB"
    )
    verdict = "met" if ok else "MISSED"
    print(f"target: one cluster ≤ {TARGET_RATIO:g}× floor: {verdict}")
    return ok


async def _nothing(i: int) -> None:
    return None


def _describe(path: str, size: Size, seconds: float) -> str:
    conn = sqlite3.connect(path)
    try:
        total, retracted, values = conn.execute(
            "SELECT COUNT(*), SUM(CASE WHEN status = 'retracted' THEN 1 ELSE 0 END), "
            "(SELECT COUNT(*) FROM report_values) FROM reports"
        ).fetchone()
        indexes = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reports' "
                "AND sql IS NOT NULL ORDER BY name"
            )
        ]
        in_year = conn.execute(
            "SELECT COUNT(*) FROM reports WHERE occurred_on BETWEEN ? AND ?",
            (PERIOD.start.isoformat(), PERIOD.end.isoformat()),
        ).fetchone()[0]
    finally:
        conn.close()
    megabytes = Path(path).stat().st_size / 2**20
    return (
        f"federation: {size.units:,} units in {size.clusters} clusters, {total:,} reports "
        f"({retracted / total:.1%} retracted, {values:,} values, {megabytes:,.0f} MiB) over "
        f"{YEARS[0]}–{YEARS[-1]}; {in_year:,} in {PERIOD.key}; ready in {seconds:.1f} s\n"
        f"indexes on reports: {', '.join(indexes)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.reports:,} reports")
    parser.add_argument("--index", action="store_true", help=f"first run: {INDEX}")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep the file")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder / f"standings-{size.reports}.sqlite3")
        started = time.perf_counter()
        if not Path(path).exists():
            # A child process generates, so this process's max RSS is /standings' alone.
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                pool.submit(generate, path, size).result()
        print(_describe(path, size, time.perf_counter() - started))
        if args.index:
            conn = sqlite3.connect(path)
            conn.execute(INDEX.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))
            conn.close()
            print(f"created for this run: {INDEX}")
        ok = asyncio.run(measure(path, size, args.quick))
    sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
