"""The memo of computed standings (storage/memo.py, usecases/standings.py) gives exactly what
computing afresh gives, after any write and at any moment.

Writes go through the storage the bot uses (reports created, edited, retracted, reviewed;
declarations, targets, membership; a period finalised and reopened); the database's triggers
(migration 15) move the stamps.
The clock moves across due moments and midnights. After each step every way standings are
asked (one cluster with its rates, every cluster, one cluster alone) is compared with the
same computed afresh, the memo bypassed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import handler_settings
from bot.config import load_config
from domain.models import Cluster, ClusterMember, ReviewState
from domain.periods import Period, PeriodKind
from domain.scoring import Target
from domain.settings import HandlerSettings
from storage import declarations, finalised, org, review, totals
from storage import reports as reports_repo
from storage import targets as targets_repo
from storage.db import Database, Tx
from tests import pg
from tests.harness import EXAMPLE, FakeClock, Harness, founded
from usecases import finalize
from usecases import standings as ranking
from usecases.access import OPERATOR

pytestmark = pytest.mark.both_backends

VN = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = Period(PeriodKind.YEAR, 2025, 1)
PERIODS = (YEAR, Period(PeriodKind.HALF, 2025, 2))
START = dt.datetime(2025, 10, 19, 22, 0, tzinfo=VN)  # 20/10 23:59 is a due moment
CLUSTERS = ("cum1", "cum2")
PERSON = 1

# Every penalty source, and review on with every report counted ("tạm tính"): what the
# memo must keep right is then all that standings read.
EXTRA = """
[[scoring.adjustments]]
code = "late"
label = { vi = "Báo cáo trễ hạn", en = "Late reports" }
points = -1
source = "late"

[[scoring.adjustments]]
code = "missing"
label = { vi = "Báo cáo thiếu", en = "Missing reports" }
points = -1
source = "missing"

[[scoring.adjustments]]
code = "returned"
label = { vi = "Báo cáo bị trả lại", en = "Returned reports" }
points = -1
source = "returned"
"""


def _settings(tmp_path: Path) -> HandlerSettings:
    text = EXAMPLE.read_text(encoding="utf-8").replace('by = "nobody"', 'by = "cluster"', 1)
    path = tmp_path / "memo.toml"
    path.write_text(text + EXTRA, encoding="utf-8")
    return handler_settings(load_config(path))


async def _open(database: str, tmp_path: Path) -> Database:
    config = load_config(EXAMPLE)
    db = Database(database)
    await db.open()
    async with db.transaction() as tx:
        await org.sync(tx, config.units, config.clusters)
        await tx.execute(
            "INSERT INTO people (id, name, unit_code, role, language, active, created_at) "
            "VALUES (?, 'Cán bộ', 'long_bien', 'officer', 'vi', 1, ?)",
            (PERSON, START.isoformat()),
        )
    return db


@pytest.fixture
async def db(database: str, tmp_path: Path) -> AsyncIterator[Database]:
    opened = await _open(database, tmp_path)
    yield opened
    await opened.close()


class World:
    """A federation written to through storage, and standings asked of it."""

    def __init__(self, db: Database, settings: HandlerSettings, seed: int) -> None:
        self.db = db
        self.settings = settings
        self.rng = random.Random(seed)
        self.now = START
        self.made = 0
        self.units = [u for u in settings.units]

    async def check(self) -> None:
        """Memo and afresh agree, for every way standings are asked."""
        today = self.now.astimezone(VN).date()
        async with self.db.transaction() as tx:
            clusters = await org.clusters(tx, 2025)
            for period in PERIODS:
                for code in CLUSTERS:
                    args = (tx, self.settings, code, period, self.now)
                    kept = await ranking.with_rates(*args)
                    assert kept == await ranking.fresh_with_rates(*args)
                    assert await ranking.with_rates(*args) is kept  # asked again: the memo
                for now in (None, self.now):
                    every = await ranking.compute_clusters(
                        tx, self.settings, clusters, period, today, now=now
                    )
                    fresh = await ranking.fresh_clusters(
                        tx, self.settings, clusters, period, today, now=now
                    )
                    assert every == fresh
                    one = clusters[1]
                    alone = await ranking.compute(tx, self.settings, one, period, today, now=now)
                    assert alone == fresh[1]

    async def step(self, kind: str) -> None:
        rng = self.rng
        now = self.now
        async with self.db.transaction() as tx:
            found = await reports_repo.in_period(tx, self.units, YEAR.start, YEAR.end)
            active = [r for r in found if r.status.value == "active"]
            if kind == "report" or (kind in ("edit", "retract", "accept", "return") and not active):
                self.made += 1
                day = dt.date(2025, rng.randint(1, 12), rng.randint(1, 28))
                await reports_repo.create(
                    tx,
                    unit_code=rng.choice(self.units),
                    person_id=PERSON,
                    indicator="new_unions",
                    values={"unions": rng.randint(1, 9), "members": 30},
                    occurred_on=day,
                    photos=(),
                    source_key=f"memo:{self.made}",
                    now=now,
                    review=rng.choice(list(ReviewState)),
                )
            elif kind == "edit":
                report = rng.choice(active)
                await reports_repo.update_values(
                    tx,
                    report,
                    person_id=PERSON,
                    values={**report.values, "unions": report.values["unions"] + 1},
                    occurred_on=report.occurred_on,
                    now=now,
                )
            elif kind == "retract":
                await reports_repo.retract(tx, rng.choice(active), person_id=PERSON, now=now)
            elif kind in ("accept", "return"):
                to = ReviewState.ACCEPTED if kind == "accept" else ReviewState.RETURNED
                await review.change(
                    tx, rng.choice(active), to=to, action=kind, person_id=PERSON, now=now
                )
            elif kind == "declare":
                month = f"2025-{rng.randint(1, 9):02d}"
                unit = rng.choice(self.units)
                await declarations.declare(tx, unit, "monthly", month, PERSON, now)
            elif kind == "target":
                unit = rng.choice(self.units)
                target = Target(
                    unit, "new_unions", rng.choice(["2025", "2025-H2"]), 1.0 + rng.randint(1, 30)
                )
                await targets_repo.set_one(tx, target, now)
            elif kind == "members":
                await _move_a_unit(tx, rng)
            elif kind == "finalise":  # read by the handlers beside the memo, never by it
                period = rng.choice(PERIODS)
                code = rng.choice(CLUSTERS)
                if await finalised.standing(tx, code, period.key) is None:
                    await finalize.finalize(
                        tx, OPERATOR, self.settings, period, now, confirmed=True, cluster_code=code
                    )
                else:
                    await finalize.reopen(tx, OPERATOR, self.settings, period, "sai", now, code)
            elif kind == "rebuild":
                await totals.rebuild(tx)
            elif kind == "due":  # past the next due moment (20/10 23:59 …)
                self.now = self.now + dt.timedelta(days=rng.choice([1, 2, 3]))
            elif kind == "midnight":
                self.now = self.now + dt.timedelta(hours=rng.choice([3, 12]))
            elif kind == "back":  # a clock set back (a test's, an operator's)
                self.now = self.now - dt.timedelta(hours=rng.choice([1, 30]))
            else:
                raise AssertionError(kind)


async def _move_a_unit(tx: Tx, rng: random.Random) -> None:
    """A unit moved from one 2025 cluster to the other (the organisation saved again)."""
    units = await org.units(tx)
    clusters = await org.clusters(tx, 2025)
    others = [c for y in (2019, 2024) for c in await org.clusters(tx, y)]
    a, b = clusters[0], clusters[1]
    if len(a.members) < 2:
        a, b = b, a
    moved = rng.choice([m for m in a.members if m.role.value == "member"] or list(a.members[1:]))
    a = Cluster(
        code=a.code, year=2025, name=a.name, members=tuple(m for m in a.members if m != moved)
    )
    b = Cluster(
        code=b.code, year=2025, name=b.name, members=(*b.members, ClusterMember(unit=moved.unit))
    )
    await org.sync(tx, units, [*others, a, b, *clusters[2:]])


KINDS = (
    "report",
    "edit",
    "retract",
    "accept",
    "return",
    "declare",
    "target",
    "members",
    "rebuild",
    "finalise",
    "due",
    "midnight",
    "back",
)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_memo_equals_afresh_after_any_writes(db: Database, tmp_path: Path, seed: int) -> None:
    world = World(db, _settings(tmp_path), seed)
    steps = [*KINDS, *world.rng.choices(KINDS, k=8)]
    world.rng.shuffle(steps)
    await world.check()
    for kind in steps:
        await world.step(kind)
        await world.check()


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("back", "finalise")])
async def test_each_kind_of_write_alone_invalidates(
    db: Database, tmp_path: Path, kind: str
) -> None:
    world = World(db, _settings(tmp_path), 7)
    await world.step("report")  # something to edit, retract, review
    async with db.transaction() as tx:
        cluster = await org.cluster_of(tx, "long_bien", 2025)
        assert cluster is not None
        unit = "long_bien"
    world.units = [unit]  # every write is about a unit of the cluster asked
    ask = (world.settings, cluster.code, YEAR)
    async with db.transaction() as tx:
        before = await ranking.with_rates(tx, *ask, world.now)
        assert await ranking.with_rates(tx, *ask, world.now) is before
    await world.step(kind)
    async with db.transaction() as tx:
        after = await ranking.with_rates(tx, *ask, world.now)
        assert after is not before  # computed again, not given from the memo
        assert after == await ranking.fresh_with_rates(tx, *ask, world.now)


async def test_the_clock_within_a_steady_span_keeps_the_memo(db: Database, tmp_path: Path) -> None:
    world = World(db, _settings(tmp_path), 3)
    ask = (world.settings, "cum1", YEAR)
    async with db.transaction() as tx:
        first = await ranking.with_rates(tx, *ask, START)
        assert await ranking.with_rates(tx, *ask, START + dt.timedelta(minutes=30)) is first
        later = START + dt.timedelta(hours=2, minutes=30)  # 20/10 00:30: another day
        assert await ranking.with_rates(tx, *ask, later) is not first


async def _new_unions(db: Database, key: str) -> None:
    """49 grassroots unions founded by long_bien on 10/3/2025: a write to cum1's data."""
    async with db.transaction() as tx:
        await reports_repo.create(
            tx,
            unit_code="long_bien",
            person_id=PERSON,
            indicator="new_unions",
            values={"unions": 49, "members": 30},
            occurred_on=dt.date(2025, 3, 10),
            photos=(),
            source_key=key,
            now=START,
        )


async def test_two_databases_keep_their_own(backend: str, database: str, tmp_path: Path) -> None:
    other = await pg.fresh_url() if backend == "postgresql" else str(tmp_path / "other.sqlite3")
    one, two = await _open(database, tmp_path), await _open(other, tmp_path)
    try:
        settings = _settings(tmp_path)
        await _new_unions(one, "memo:one")
        ask = (settings, "cum1", YEAR, START)
        async with one.transaction() as tx:
            first = await ranking.with_rates(tx, *ask)
        async with two.transaction() as tx:
            second = await ranking.with_rates(tx, *ask)
            assert second == await ranking.fresh_with_rates(tx, *ask)
        assert first != second
        assert one.backend.memo is not two.backend.memo
    finally:
        await one.close()
        await two.close()


async def test_standings_in_chat_show_a_new_report_at_once(tmp_path: Path, database: str) -> None:
    h = await Harness.create(
        tmp_path, FakeClock(dt.datetime(2025, 12, 20, 9, 0, tzinfo=VN)), database=database
    )
    try:
        async with h.db.transaction() as tx:
            await targets_repo.sync_from_config(
                tx, [t.target() for t in h.config.targets], h.clock.now()
            )
        lb = await h.person(1, "long_bien")
        await founded(lb, 10)
        first = (await lb.send("/standings 2025"))[0].text
        assert (await lb.send("/standings 2025"))[0].text == first  # from the memo
        await founded(lb, 39)
        again = (await lb.send("/standings 2025"))[0].text
        assert again != first
        why_button = next(
            b for b in (await lb.send("/standings 2025"))[0].buttons if "Long Biên" in b.label
        )
        why = await lb.press_data(why_button.data)
        assert "49" in why[0].text
    finally:
        await h.close()


async def test_a_write_by_another_process_is_seen(
    database: str, db: Database, tmp_path: Path
) -> None:
    """Replicas on one database each keep their memo: the stamps in the database tell one
    what another wrote."""
    settings = _settings(tmp_path)
    other = Database(database)  # a second process on the same database
    await other.open()
    try:
        ask = (settings, "cum1", YEAR, START)
        async with db.transaction() as tx:
            before = await ranking.with_rates(tx, *ask)
        await _new_unions(other, "memo:other")
        async with db.transaction() as tx:
            after = await ranking.with_rates(tx, *ask)
            assert after == await ranking.fresh_with_rates(tx, *ask)
        assert after != before
    finally:
        await other.close()
