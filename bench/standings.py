"""Standings at any size: the whole /standings (but the chart) against the best plain-SQL floor.

Why: a cluster head asks for standings in a chat and waits; a city federation
holds millions of reports. /standings must cost about what the database needs
to read the rows anyway, at 10 thousand reports and at 3 million alike.

The federation (2,000 units in 350 clusters of 5–6, 2023–2025, the 8
indicators of config.example.toml with plausible values, about 2 % retracted,
a few "nothing to report" declarations, targets for every unit) is generated
at each size straight into a migrated SQLite file with executemany, its
per-month totals (storage/totals.py) added up on the way. A check first: the
totals /standings reads equal the ones computed from the reports at that
size, and up to 10,000 reports migration 8's backfill (the SQL an upgrade
runs) recomputes every bucket alike, timed. The timed work runs through
`storage.db.Database` (the bot's pragmas), one transaction each, inline (the
statements on the event loop's thread) as the dispatcher runs a handler:

- one cluster = what /standings does once it knows which cluster:
  `usecases.standings.with_rates` (the cluster and its members, measure
  totals, targets and scoring with config.example.toml's [scoring], the
  reporting rate of both obligations of the example) and
  `handlers.standings.render` (the text, in Vietnamese): everything but the
  access check and the chart, which is drawn after the commit, elsewhere;
- all clusters = every cluster's ranking of the year, as /standings all
  computes it (`org.clusters` + `usecases.standings.compute_clusters`);
- the floor = the best plain SQL over the same rows: the cluster's (or every
  unit's) active reports of the year counted per unit and indicator, read
  from the covering index reports (unit_code, occurred_on, status, indicator)
  alone, never the table: a lower bound for anything that reads those reports,
  timed the same way (one transaction);
- "from the reports" = the same measure totals the totals tables give,
  computed from the reports and their values instead (the way before
  migration 8), for reference.

Each one-cluster round times the command and the floor back to back on each
of the same 25 clusters; a round's figure is the median over its clusters,
and the printed ratio is the median of the rounds' ratios, with their spread.
All clusters: one call per round.

    python -m bench.standings                  # 10k, 100k, 1M and 3M reports (~6 minutes)
    python -m bench.standings --quick          # 10k and 100k, fewer rounds (~30 s)
    python -m bench.standings --sizes 1000000  # chosen sizes
    python -m bench.standings --keep DIR       # keep (and reuse) the generated files
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from bot.app import handler_settings
from bot.config import load_config
from bot.i18n import Catalog
from domain.models import ReportStatus, Unit
from domain.periods import Period, PeriodKind
from handlers import standings as standings_cmd
from storage import memo, org, totals
from storage import standings as standings_repo
from storage import targets as targets_repo
from storage._codec import fetch_all
from storage.db import Database, Tx
from usecases import standings as ranking

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
YEARS = (2023, 2024, 2025)
PERIOD = Period(PeriodKind.YEAR, 2025, 1)
NOW = dt.datetime(2025, 9, 30, 3, 0, tzinfo=dt.UTC)  # asked on 30/9: progress 0.75
TODAY = NOW.date()
UNITS, CLUSTERS = 2_000, 350
SIZES = (10_000, 100_000, 1_000_000, 3_000_000)
QUICK_SIZES = (10_000, 100_000)
RETRACTED_SHARE = 0.02
DECLARED_SHARE = 0.01  # unit-months with "Không có hoạt động"
TARGET_RATIO = 2.0
PICKS = 25  # clusters per one-cluster round
BACKFILL_UP_TO = 10_000  # above, migration 8's backfill takes minutes here: not timed
FLOOR_INDEX = "reports_unit_occurred"  # (unit_code, occurred_on, status, indicator): migration 8

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


# --- the generated federation ----------------------------------------------------------


def unit_codes() -> list[str]:
    return [f"u{n:04d}" for n in range(UNITS)]


def cluster_members() -> list[list[str]]:
    """Units dealt into clusters of 5–6, as evenly as the counts allow."""
    codes = unit_codes()
    base, extra = divmod(len(codes), CLUSTERS)
    clusters, at = [], 0
    for n in range(CLUSTERS):
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


def _days(reports: int, rng: random.Random) -> Iterator[dt.date]:
    """Report dates in the order they are written (ids follow time, as in a real database)."""
    first, last = dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31)
    span = (last - first).days + 1
    days = [first + dt.timedelta(days=n) for n in range(span)]
    for offset in sorted(rng.randrange(span) for _ in range(reports)):
        yield days[offset]


def generate(path: str, reports: int, seed: int = 2025) -> None:
    """Write the federation and its per-month totals into a migrated database with
    executemany (not through the bot)."""
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    codes = unit_codes()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    conn.execute("BEGIN")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('reports', 'report_values')"
    ).fetchall()
    for name, _ in indexes:  # rebuilt afterwards: the same schema, far faster to load
        conn.execute(f"DROP INDEX {name}")
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:  # the memo's stamps (storage/memo.py) start afresh: made after
        conn.execute(f"DROP TRIGGER {name}")
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
        for n, members in enumerate(cluster_members()):
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
    conn.executemany(
        "INSERT INTO targets (unit_code, measure, period_key, value, source, updated_at) "
        "VALUES (?, ?, ?, ?, 'import', ?)",
        [
            (c, measure, PERIOD.key, value, created)
            for c in codes
            for measure, value in (
                ("new_unions", rng.randint(5, 25)),
                ("new_members", rng.randrange(500, 3000, 50)),
                ("gifts_count", rng.randrange(2000, 20000, 100)),
            )
        ],
    )
    conn.executemany(
        "INSERT INTO declarations (unit_code, obligation, period_key, person_id, declared_at) "
        "VALUES (?, 'monthly', ?, ?, ?)",
        [
            (c, f"{year}-{month:02d}", person[c], f"{year}-{month:02d}-25T02:00:00+00:00")
            for year in YEARS
            for month in range(1, 13)
            for c in codes
            if rng.random() < DECLARED_SHARE
        ],
    )
    # Some units report more than others; draws made in bulk, one call each.
    weights = [rng.uniform(0.4, 1.6) for _ in codes]
    units = rng.choices(codes, weights, k=reports)
    indicators = rng.choices(list(MIX), list(MIX.values()), k=reports)
    rows: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    kept = _Totals()
    retracted, active = ReportStatus.RETRACTED.value, ReportStatus.ACTIVE.value
    for n, day in enumerate(_days(reports, rng)):
        report_id, unit, indicator = n + 1, units[n], indicators[n]
        iso = day.isoformat()
        v = _values(rng, indicator, iso)
        status = retracted if rng.random() < RETRACTED_SHARE else active
        at = f"{iso}T{rng.randrange(1, 15):02d}:{rng.randrange(60):02d}:00+00:00"
        rows.append(
            (
                report_id,
                unit,
                person[unit],
                indicator,
                json.dumps(v, ensure_ascii=False, sort_keys=True),
                iso,
                at,
                status,
                f"gen:{report_id}",
            )
        )
        for field, x in v.items():
            number = isinstance(x, int | float)
            values.append((report_id, field, x if number else None, None if number else x))
        kept.add(unit, iso, indicator, status, at, v)
        if len(rows) >= 100_000:
            _flush(conn, rows, values)
    _flush(conn, rows, values)
    kept.write(conn)
    for _, sql in (*indexes, *triggers):
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


class _Totals:
    """storage.totals' buckets, added up while generating (migration 8's backfill is SQL
    over every report: minutes at millions; `Bench.check` compares the two)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, str], list[Any]] = {}
        self.sums: dict[tuple[str, str, str, str, str], float] = {}

    def add(self, unit: str, day: str, indicator: str, status: str, at: str, values: Any) -> None:
        month = (unit, day[:7], indicator, status)
        count = self.counts.get(month)
        if count is None:
            self.counts[month] = [1, at]
        else:
            count[0] += 1
            count[1] = min(count[1], at)
        half = (unit, f"{day[:4]}-H{1 if day[5:7] <= '06' else 2}", indicator, status)
        self._add((*half, ""), 1)
        figures = sorted((k, x) for k, x in values.items() if isinstance(x, int | float))
        for i, (a, x) in enumerate(figures):
            self._add((*half, a), x)
            for b, y in figures[i:]:
                self._add((*half, f"{a}*{b}"), x * y)

    def _add(self, key: tuple[str, str, str, str, str], x: float) -> None:
        self.sums[key] = self.sums.get(key, 0) + x

    def write(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO month_counts (unit_code, month, indicator, status, reports, first_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((*key, n, at) for key, (n, at) in self.counts.items()),
        )
        conn.executemany(
            "INSERT INTO half_sums (unit_code, half, indicator, status, term, total) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((*key, float(total)) for key, total in self.sums.items()),
        )


def _flush(conn: sqlite3.Connection, rows: list[Any], values: list[Any]) -> None:
    conn.executemany(
        "INSERT INTO reports (id, unit_code, person_id, indicator, values_json, occurred_on, "
        "created_at, status, version, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)", values
    )
    rows.clear()
    values.clear()


async def _migrate(path: str) -> None:
    async with Database(path):
        pass


# --- what is timed ---------------------------------------------------------------------


class Bench:
    """The federation as the bot sees it: the example's measures, scoring and obligations."""

    def __init__(self, db: Database) -> None:
        config = load_config(EXAMPLE)
        if config.scoring is None:
            raise SystemExit(f"{EXAMPLE} has no [scoring]")
        generated = {c: Unit(code=c, name=f"Công đoàn {c}") for c in unit_codes()}
        self.settings = replace(handler_settings(config), units=generated)
        self.db = db
        self.t = partial(Catalog(), "vi")
        self.words = (self.t, True)  # what the handler keys its kept texts by
        self.clusters = [f"cum{n + 1}" for n in range(CLUSTERS)]
        self.members = dict(zip(self.clusters, cluster_members(), strict=True))

    async def one_cluster(self, code: str) -> str:
        """/standings for one cluster, everything but the chart: the text a head gets."""
        async with self.db.transaction(inline=True) as tx:
            result, rates = await ranking.with_rates(tx, self.settings, code, PERIOD, NOW)
        return standings_cmd.render_kept(self.words, self.t, "vi", result, rates).text

    async def fresh_cluster(self, code: str) -> str:
        """`one_cluster` computed afresh, never from the memo (the check that they agree)."""
        async with self.db.transaction(inline=True) as tx:
            result, rates = await ranking.fresh_with_rates(tx, self.settings, code, PERIOD, NOW)
        return standings_cmd.render(self.t, "vi", result, rates).text

    async def touch(self, code: str) -> None:
        """A write to one of the cluster's units through the storage the bot uses (its
        target set again to what it was): the cluster's stamp changes, its figures not."""
        unit = self.members[code][0]
        async with self.db.transaction(inline=True) as tx:
            (target,) = [
                t
                for t in await targets_repo.for_period(tx, PERIOD.key, [unit])
                if t.measure == "new_unions"
            ]
            await targets_repo.set_one(tx, target, NOW, source=targets_repo.IMPORT)

    async def touch_all(self) -> None:
        """Every cluster's stamp changes (what rebuilding the kept totals does)."""
        async with self.db.transaction(inline=True) as tx:
            await memo.bump_all(tx)

    async def all_clusters(self) -> int:
        """Every cluster's ranking of the year (/standings all): how many units ranked."""
        async with self.db.transaction(inline=True) as tx:
            clusters = await org.clusters(tx, PERIOD.year)
            done = await ranking.compute_clusters(tx, self.settings, clusters, PERIOD, TODAY)
        return sum(len(result.standings.rows) for result in done)

    async def floor(self, code: str | None) -> list[Any]:
        """The best plain SQL over the same reports: counted from the covering index alone."""
        where, params = "", []
        if code is not None:
            where = f"unit_code IN ({','.join('?' * len(self.members[code]))}) AND "
            params = self.members[code]
        async with self.db.transaction(inline=True) as tx:
            return await fetch_all(
                tx,
                f"SELECT unit_code, indicator, COUNT(*) FROM reports INDEXED BY {FLOOR_INDEX} "
                f"WHERE {where}occurred_on BETWEEN ? AND ? AND status = ? "
                "GROUP BY unit_code, indicator",
                (*params, PERIOD.start.isoformat(), PERIOD.end.isoformat(), "active"),
            )

    async def from_reports(self, code: str) -> dict[tuple[str, str], float]:
        """The cluster's measure totals from the reports and their values (before totals)."""
        async with self.db.transaction(inline=True) as tx:
            return await _totals_from_reports(tx, self.settings.measures, self.members[code])

    async def check(self, codes: Sequence[str], backfill: bool) -> str:
        """The totals the command reads are the ones the reports give, at this size; with
        `backfill`, migration 8's SQL recomputes every bucket and finds the same (timed)."""
        measures = self.settings.measures
        async with self.db.transaction(inline=True) as tx:
            for code in codes:
                units = self.members[code]
                kept = await standings_repo.measure_totals(
                    tx, measures, units, PERIOD.start, PERIOD.end
                )
                if kept != await _totals_from_reports(tx, measures, units):
                    raise SystemExit(f"totals of {code} differ from the reports' own")
            said = f"check: {len(codes)} clusters' totals = the reports' own"
            if backfill:
                started = time.perf_counter()
                wrong = await totals.differences(tx)
                seconds = time.perf_counter() - started
                if wrong:
                    raise SystemExit(f"{len(wrong)} buckets differ from migration 8's backfill")
                said += f"; migration 8's backfill recomputes every bucket alike in {seconds:.1f} s"
        return said


async def _totals_from_reports(
    tx: Tx, measures: Sequence[Any], codes: Sequence[str]
) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    plan = standings_repo._plan(measures)
    await standings_repo._from_reports(tx, plan, codes, PERIOD.start, PERIOD.end, out)
    return out


async def _seconds(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Figure:
    """Median seconds of the work and of the floor, and the median of per-round ratios with
    their spread."""

    work: float
    floor: float
    ratio: float
    low: float
    high: float

    def line(self, name: str) -> str:
        return (
            f"{name}: {_ms(self.work)} (floor {_ms(self.floor)}), ratio {self.ratio:.2f} "
            f"[{self.low:.2f}–{self.high:.2f}]"
        )


async def rounds(
    count: int,
    picks: Sequence[Any],
    work: Callable[[Any], Awaitable[object]],
    floor: Callable[[Any], Awaitable[object]],
    before: Callable[[Any], Awaitable[object]] | None = None,
) -> Figure:
    """`count` rounds over `picks`, the work and the floor back to back on each pick; a warm-up
    pass first. `before` (not timed) runs before each timed work: a cold memo."""
    for pick in picks:
        await work(pick)
        await floor(pick)
    works, floors, ratios = [], [], []
    for _ in range(count):
        worked, floored = [], []
        for pick in picks:
            if before is not None:
                await before(pick)
            worked.append(await _seconds(partial(work, pick)))
            floored.append(await _seconds(partial(floor, pick)))
        w, f = statistics.median(worked), statistics.median(floored)
        works.append(w)
        floors.append(f)
        ratios.append(w / f)
    return Figure(
        statistics.median(works),
        statistics.median(floors),
        statistics.median(ratios),
        min(ratios),
        max(ratios),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


@dataclass(frozen=True)
class Result:
    reports: int
    one: Figure  # warm: the memo holds the cluster (asked again, nothing written since)
    one_cold: Figure  # a unit of the cluster written to just before
    every: Figure
    every_cold: Figure  # every cluster written to just before
    raw: float
    checked: str


async def measure(path: str, reports: int, quick: bool) -> Result:
    async with Database(path) as db:
        bench = Bench(db)
        picks = [bench.clusters[(i * 37) % CLUSTERS] for i in range(PICKS)]
        checked = await bench.check(picks[:5], reports <= BACKFILL_UP_TO)
        n, m = (3, 2) if quick else (7, 5)
        one = await rounds(n, picks, bench.one_cluster, bench.floor)
        one_cold = await rounds(n, picks, bench.one_cluster, bench.floor, bench.touch)
        if await bench.one_cluster(picks[0]) != await bench.fresh_cluster(picks[0]):
            raise SystemExit("the memo's standings differ from standings computed afresh")
        every = await rounds(m, [None], lambda _: bench.all_clusters(), bench.floor)
        every_cold = await rounds(
            m, [None], lambda _: bench.all_clusters(), bench.floor, lambda _: bench.touch_all()
        )
        raw = await rounds(3 if quick else 5, picks, bench.from_reports, bench.floor)
    return Result(reports, one, one_cold, every, every_cold, raw.work, checked)


def _describe(path: str) -> str:
    conn = sqlite3.connect(path)
    try:
        total, retracted, in_year = conn.execute(
            "SELECT COUNT(*), SUM(CASE WHEN status = 'retracted' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN occurred_on BETWEEN ? AND ? THEN 1 ELSE 0 END) FROM reports",
            (PERIOD.start.isoformat(), PERIOD.end.isoformat()),
        ).fetchone()
        (buckets,) = conn.execute("SELECT COUNT(*) FROM month_counts").fetchone()
        (sums,) = conn.execute("SELECT COUNT(*) FROM half_sums").fetchone()
    finally:
        conn.close()
    megabytes = Path(path).stat().st_size / 2**20
    return (
        f"{total:,} reports ({retracted / total:.1%} retracted, {in_year:,} in {PERIOD.key}, "
        f"{megabytes:,.0f} MiB); totals: {buckets:,} month counts, {sums:,} half-year sums"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k and 100k reports, fewer rounds")
    parser.add_argument("--sizes", help="comma-separated report counts")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep (reuse) files")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
    print(
        f"federation: {UNITS:,} units in {CLUSTERS} clusters, {YEARS[0]}–{YEARS[-1]}; "
        f"/standings for {PERIOD.key} asked on {TODAY:%d/%m/%Y}; floor: the covering index "
        f"{FLOOR_INDEX} (unit_code, occurred_on, status, indicator)"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for reports in sizes:
            path = str(folder / f"standings-{reports}.sqlite3")
            started = time.perf_counter()
            if not Path(path).exists():
                generate(path, reports)
            print(f"\n{reports:,} reports: {_describe(path)}")
            print(f"  ready in {time.perf_counter() - started:.1f} s")
            result = asyncio.run(measure(path, reports, args.quick))
            print("  " + result.checked)
            print("  " + result.one.line("one cluster, warm (asked again)"))
            print("  " + result.one_cold.line("one cluster, cold (a unit written to)"))
            print("  " + result.every.line(f"all {CLUSTERS} clusters, warm"))
            print("  " + result.every_cold.line(f"all {CLUSTERS} clusters, cold (all written)"))
            print(f"  (one cluster's totals from the reports instead: {_ms(result.raw)})")
            results.append(result)
            sys.stdout.flush()
    print("\nthe curve (median ms; ratio to the floor, warm / cold):")
    print(f"{'reports':>10} | {'one cluster warm / cold':>38} | {'all clusters warm / cold':>42}")
    for r in results:
        print(
            f"{r.reports:>10,} | {r.one.work * 1000:5.2f} / {r.one_cold.work * 1000:5.2f} vs "
            f"{r.one.floor * 1000:5.2f} = {r.one.ratio:4.2f}× / {r.one_cold.ratio:5.2f}× | "
            f"{r.every.work * 1000:6.1f} / {r.every_cold.work * 1000:6.1f} vs "
            f"{r.every.floor * 1000:6.1f} = {r.every.ratio:4.2f}× / {r.every_cold.ratio:5.2f}×"
        )
    one_ok = all(r.one.ratio <= TARGET_RATIO for r in results)
    all_ok = all(r.every.ratio <= TARGET_RATIO for r in results)
    cold_one = max(r.one_cold.ratio for r in results)
    cold_all = max(r.every_cold.ratio for r in results)
    print(
        f"target (warm: /standings asked again and again) one cluster ≤ {TARGET_RATIO:g}× floor "
        f"at every size: {'met' if one_ok else 'MISSED'}; all clusters ≤ {TARGET_RATIO:g}×: "
        f"{'met' if all_ok else 'MISSED'}. Cold (just written to), at worst: one cluster "
        f"{cold_one:.2f}×, all clusters {cold_all:.2f}×"
    )
    return 0 if one_ok and all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
