"""The dashboard at a federation's size: p50/p95 of the Standings page and of the Reports
table (its first page, and a page deep in the list by keyset) against the plain SQL floor
of each, in the same run.

Why: cluster heads and federation staff open these pages on slow phones; a page must cost
about what the database needs to read its rows anyway, at a million reports as at a few.

The federation is bench/standings.py's (2,000 units in 350 clusters, 2023–2025, 2 %
retracted, targets, a few declarations), generated straight into a migrated SQLite file,
plus an admin and cum1's head. The dashboard runs as the bot serves it:
`bot.webhook.WebhookServer` with the /app sub-application (web.app.build), its own process
(`--serve`), on 127.0.0.1, the clock at 30/9/2025. The driver (this process) asks each page
over HTTP with a keep-alive connection and a signed-in person's session cookie (the admin,
then cum1's head), one request at a time, timing each from sending it to its body read
whole. The floors run in the driver on its own connection to the same file
(`storage.db.Database`, the bot's pragmas, one inline transaction each):

- standings (`/app/standings?cluster=…&period=2025`, the whole page: session, policy,
  every cluster's name for the switch, totals and targets, scoring, reporting rates, the
  HTML) against bench/standings.py's floor: the cluster's active reports of the year
  counted per unit and indicator from the covering index alone;
- reports, first page (`/app/reports?period=2025`: every unit for the admin, cum1's six
  for its head; 50 rows newest first, with their values and authors) against the same
  rows read by plain SQL (the join with people, ORDER BY occurred_on DESC, id DESC
  LIMIT 51);
- reports, deep (`…&after=DATE~ID`, a cursor about 60 % of the way into the year's
  reports) against the same SQL after that cursor; for reference, the OFFSET that would
  reach the same rows is timed once too.

Also the HTTP floor: `GET /healthz` on the same server (what a request costs with no work).
Each round asks every pick once per kind (page, then floor, back to back); a round's
figures are the p50 and p95 over its picks; printed are the medians over rounds and the
median of per-round ratios (page / floor) with their spread [min–max].

    python -m bench.web                    # 1,000,000 reports, 7 rounds of 25 picks
    python -m bench.web --quick            # 100,000 reports, 3 rounds of 10 picks (~1 min)
    python -m bench.web --keep DIR         # generate into DIR and reuse it
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import standings as world
from bench._rig import pct
from bot.i18n import Catalog
from bot.webhook import WebhookServer
from domain.models import Role
from storage import people as people_repo
from storage._codec import fetch_all
from storage.db import Database
from storage.migrations import MIGRATIONS
from usecases import access, websignin
from web.app import COOKIE, build, sign
from web.context import WebDeps

NOW = world.NOW
PERIOD = world.PERIOD
ADMIN_ID = 900_001
HEAD_ID = 900_002
HEAD_UNIT = world.cluster_members()[0][0]  # the generator makes each cluster's first unit head
LIMIT = 50  # the reports table's page (web/pages/reports.py's default)
DEEP_SHARE = 0.6
_LISTED = (
    "SELECT r.id, r.unit_code, r.person_id, p.name AS person_name, r.indicator, "
    "r.values_json, r.occurred_on, r.created_at, r.status "
    "FROM reports r JOIN people p ON p.id = r.person_id "
    "WHERE r.occurred_on >= ? AND r.occurred_on <= ? {units}{after}"
    "ORDER BY r.occurred_on DESC, r.id DESC LIMIT ?"
)
_AFTER = "AND (r.occurred_on < ? OR (r.occurred_on = ? AND r.id < ?)) "


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


# --- the server (its own process) --------------------------------------------------------


async def serve(path: str) -> None:
    """The dashboard over the generated database, as the bot serves it; prints its URL."""
    async with Database(path) as db:
        bench = world.Bench(db)
        deps = WebDeps(
            transaction=db.transaction,
            settings=bench.settings,
            translate=Catalog(),
            clock=FixedClock(),
        )
        server = WebhookServer("127.0.0.1", 0, dashboard=lambda: build(deps))
        await server.start()
        print(server.url, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()


# --- the driver --------------------------------------------------------------------------


def add_people(path: str) -> None:
    """An admin and cum1's head (the generated federation has officers only)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT OR IGNORE INTO people (id, name, unit_code, role, language, active, "
            "created_at) VALUES (?, ?, ?, ?, 'vi', 1, '2023-01-01T00:00:00+00:00')",
            [
                (ADMIN_ID, "Quản trị viên", HEAD_UNIT, Role.ADMIN.value),
                (HEAD_ID, "Cụm trưởng", HEAD_UNIT, Role.CLUSTER_HEAD.value),
            ],
        )
    conn.close()


async def session_cookie(db: Database, person_id: int) -> str:
    """A signed-in person's cookie: a sign-in link made and redeemed as /web's would be."""
    async with db.transaction() as tx:
        person = await people_repo.get(tx, person_id)
        caller = access.Caller(await access.actor_of(tx, person, NOW.year), NOW.year)
        token = await websignin.new_link(tx, caller, NOW)
        session = await websignin.redeem_link(tx, token, NOW, dt.timedelta(hours=12))
        assert session is not None
        key = await websignin.signing_key(tx)
    return sign(key, session.token)


@dataclass(frozen=True)
class Figure:
    """Medians over rounds of each round's p50 and p95 (seconds), and the median of the
    per-round ratios page / floor with their spread."""

    p50: float
    p95: float
    floor50: float
    floor95: float
    ratio50: tuple[float, float, float]
    ratio95: tuple[float, float, float]

    def lines(self, name: str) -> list[str]:
        r50, r95 = self.ratio50, self.ratio95
        return [
            f"{name}: p50 {_ms(self.p50)} vs floor {_ms(self.floor50)} = "
            f"{r50[0]:.1f}× [{r50[1]:.1f}–{r50[2]:.1f}]",
            f"{' ' * len(name)}  p95 {_ms(self.p95)} vs floor {_ms(self.floor95)} = "
            f"{r95[0]:.1f}× [{r95[1]:.1f}–{r95[2]:.1f}]",
        ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def _median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


async def _seconds(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def rounds(
    count: int,
    picks: Sequence[Any],
    page: Callable[[Any], Awaitable[object]],
    floor: Callable[[Any], Awaitable[object]],
) -> Figure:
    for pick in picks:  # warm-up
        await page(pick)
        await floor(pick)
    p50s, p95s, f50s, f95s, r50s, r95s = [], [], [], [], [], []
    for _ in range(count):
        pages, floors = [], []
        for pick in picks:
            pages.append(await _seconds(lambda pick=pick: page(pick)))
            floors.append(await _seconds(lambda pick=pick: floor(pick)))
        p50, p95 = pct(pages, 50) / 1000, pct(pages, 95) / 1000
        f50, f95 = pct(floors, 50) / 1000, pct(floors, 95) / 1000
        p50s.append(p50)
        p95s.append(p95)
        f50s.append(f50)
        f95s.append(f95)
        r50s.append(p50 / f50)
        r95s.append(p95 / f95)
    return Figure(
        statistics.median(p50s),
        statistics.median(p95s),
        statistics.median(f50s),
        statistics.median(f95s),
        _median_spread(r50s),
        _median_spread(r95s),
    )


class Driver:
    """One signed-in person's requests; `units` the units their reports table shows (None:
    every unit), so the floor reads the same rows."""

    def __init__(
        self, db: Database, http: aiohttp.ClientSession, url: str, units: list[str] | None
    ) -> None:
        self.db = db
        self.http = http
        self.url = url
        self.units = units
        self.bench = world.Bench(db)

    def _units(self) -> tuple[str, list[str]]:
        if self.units is None:
            return "", []
        return f"AND r.unit_code IN ({','.join('?' * len(self.units))}) ", self.units

    async def get(self, path: str, *needles: str) -> None:
        async with self.http.get(self.url + path, allow_redirects=False) as answer:
            body = await answer.text()
        if answer.status != 200 or any(n not in body for n in needles):
            raise SystemExit(f"GET {path}: {answer.status}\n{body[:600]}")

    async def standings(self, cluster: str) -> None:
        await self.get(
            f"/app/standings?cluster={cluster}&period={PERIOD.key}", "Cụm thi đua số", "<table"
        )

    async def standings_floor(self, cluster: str) -> None:
        await self.bench.floor(cluster)

    async def reports(self, after: tuple[str, int] | None) -> None:
        cursor = f"&after={after[0]}~{after[1]}" if after else ""
        await self.get(f"/app/reports?period={PERIOD.key}{cursor}", "<table")

    async def reports_floor(self, after: tuple[str, int] | None) -> list[Any]:
        # the best plain SQL: the cursor's day bounds the index range (so does the page's)
        params: list[Any] = [
            PERIOD.start.isoformat(),
            after[0] if after else PERIOD.end.isoformat(),
        ]
        units, chosen = self._units()
        params += chosen
        if after:
            params += [after[0], after[0], after[1]]
        sql = _LISTED.format(units=units, after=_AFTER if after else "")
        async with self.db.transaction(inline=True) as tx:
            return await fetch_all(tx, sql, [*params, LIMIT + 1])

    async def health(self, _: object) -> None:
        async with self.http.get(self.url + "/healthz") as answer:
            await answer.read()

    async def nothing(self, _: object) -> None:
        async with self.db.transaction(inline=True) as tx:
            await fetch_all(tx, "SELECT 1")

    async def cursors(self, picks: int) -> tuple[list[tuple[str, int]], float]:
        """Cursors around DEEP_SHARE of the year's reports (newest first), and how long the
        OFFSET reaching the first of them takes."""
        units, chosen = self._units()
        units = units.replace("r.", "")
        span = (PERIOD.start.isoformat(), PERIOD.end.isoformat(), *chosen)
        async with self.db.transaction(inline=True) as tx:
            total = (
                await fetch_all(
                    tx,
                    "SELECT COUNT(*) FROM reports WHERE occurred_on >= ? AND occurred_on <= ? "
                    + units,
                    span,
                )
            )[0][0]
            found: list[tuple[str, int]] = []
            offset_seconds = 0.0
            for n in range(picks):
                skip = int(total * DEEP_SHARE) + n * max(1, total // (20 * picks))
                started = time.perf_counter()
                row = (
                    await fetch_all(
                        tx,
                        "SELECT occurred_on, id FROM reports WHERE occurred_on >= ? AND "
                        f"occurred_on <= ? {units}ORDER BY occurred_on DESC, id DESC "
                        "LIMIT 1 OFFSET ?",
                        (*span, skip),
                    )
                )[0]
                if n == 0:
                    offset_seconds = time.perf_counter() - started
                found.append((row[0], int(row[1])))
        return found, offset_seconds


@dataclass(frozen=True)
class Seen:
    """One person's figures."""

    standings: Figure
    first: Figure
    deep: Figure
    offset: float  # seconds the OFFSET to the deep page's rows took, once
    deep_at: str  # the deep page's cursor day
    rows: int  # the year's reports in their table


@dataclass(frozen=True)
class Result:
    admin: Seen
    head: Seen
    http: Figure


async def _as(
    db: Database, url: str, person_id: int, units: list[str] | None, quick: bool
) -> tuple[Seen, Figure]:
    count, width = (3, 10) if quick else (7, 25)
    cookie = await session_cookie(db, person_id)
    connector = aiohttp.TCPConnector(limit=1)
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        d = Driver(db, http, url, units)
        if units is None:
            clusters = [d.bench.clusters[(i * 37) % world.CLUSTERS] for i in range(width)]
        else:
            clusters = ["cum1"] * width  # the head's own
        cursors, offset = await d.cursors(width)
        standings = await rounds(count, clusters, d.standings, d.standings_floor)
        first = await rounds(count, [None] * width, d.reports, d.reports_floor)
        deep = await rounds(count, cursors, d.reports, d.reports_floor)
        http_floor = await rounds(count, [None] * width, d.health, d.nothing)
        async with db.transaction(inline=True) as tx:
            units_sql, chosen = d._units()
            rows = (
                await fetch_all(
                    tx,
                    "SELECT COUNT(*) FROM reports r WHERE r.occurred_on >= ? AND "
                    f"r.occurred_on <= ? {units_sql}",
                    (PERIOD.start.isoformat(), PERIOD.end.isoformat(), *chosen),
                )
            )[0][0]
    return Seen(standings, first, deep, offset, cursors[0][0], int(rows)), http_floor


async def measure(path: str, url: str, quick: bool) -> Result:
    async with Database(path) as db:
        admin, http_floor = await _as(db, url, ADMIN_ID, None, quick)
        head, _ = await _as(db, url, HEAD_ID, world.cluster_members()[0], quick)
    return Result(admin, head, http_floor)


@contextlib.asynccontextmanager
async def server(path: str) -> Any:
    """The dashboard in its own process; yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.web",
        "--serve",
        path,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 300)
        if not line.startswith(b"http://"):
            raise SystemExit(f"the server did not start: {line!r}")
        yield line.decode().strip()
    finally:
        proc.terminate()
        await proc.wait()


async def run(path: str, quick: bool) -> Result:
    async with Database(path):  # the migrations of today's code, before the server opens it
        pass
    add_people(path)
    async with server(path) as url:
        return await measure(path, url, quick)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100k reports, fewer rounds")
    parser.add_argument("--reports", type=int, help="how many reports (default 1,000,000)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep (reuse) it")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.serve))
        return 0
    reports = args.reports or (100_000 if args.quick else 1_000_000)
    load = os.getloadavg()
    print(
        f"federation: {world.UNITS:,} units in {world.CLUSTERS} clusters, {reports:,} reports "
        f"{world.YEARS[0]}–{world.YEARS[-1]}; pages of {PERIOD.key} asked on "
        f"{NOW:%d/%m/%Y} by an admin and by cum1's head; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="thidua-web-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        # named after the migrations it was made with: a kept file made before one of them was
        # filled in (an empty reserved number is applied as nothing) is never reused
        schema = hashlib.sha256("\n".join(map(str, MIGRATIONS)).encode()).hexdigest()[:10]
        path = str(folder / f"web-{reports}-{schema}.sqlite3")
        started = time.perf_counter()
        if not Path(path).exists():
            world.generate(path, reports)
        print(f"{world._describe(path)}; ready in {time.perf_counter() - started:.1f} s")
        result = asyncio.run(run(path, args.quick))
    for who, seen in (("an admin", result.admin), ("cum1's head", result.head)):
        print(f"as {who} ({seen.rows:,} reports of {PERIOD.key} in the table):")
        for line in (
            *seen.standings.lines("standings page (one cluster)"),
            *seen.first.lines("reports, first page"),
            *seen.deep.lines(f"reports, deep (keyset, {DEEP_SHARE:.0%} in: {seen.deep_at})"),
        ):
            print("  " + line)
        print(f"  for reference: OFFSET to the deep page's rows took {_ms(seen.offset)} once")
    for line in result.http.lines("GET /healthz vs SELECT 1 (what HTTP alone costs)"):
        print(line)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
