"""Standings storage: SQL measure totals equal the pure reference; targets; group links."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import IntegrityViolation
from domain.measures import MeasureDef, MeasureHow, default_measures
from domain.measures import measure_totals as pure_totals
from domain.models import Cluster, Language, LocalText, Report, ReportStatus, Role, Unit
from domain.periods import Period, PeriodKind
from domain.scoring import Target
from storage import org, people, standings, targets
from storage import reports as reports_repo
from storage.db import Database, Tx

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
UNITS = ("hoan_kiem", "ba_dinh", "long_bien")
Y2025 = Period(PeriodKind.YEAR, 2025, 1)

EXTRA_MEASURES = (
    # A count measure, and a product of a field with itself: both share slots
    # with the default measures of the same indicator.
    MeasureDef(
        code="gift_reports",
        label=LocalText(vi="Số lần tặng quà", en="Gift reports"),
        indicator="gifts",
        how=MeasureHow.COUNT,
    ),
    MeasureDef(
        code="people_sq",
        label=LocalText(vi="Bình phương", en="Square"),
        indicator="new_members",
        how=MeasureHow.PRODUCT,
        fields=("people", "people"),
    ),
)
MEASURES = (*default_measures(), *EXTRA_MEASURES)
BY_CODE = {m.code: m for m in MEASURES}


async def _setup(db: Database) -> int:
    """Units of the tests and one officer; returns the officer's person id."""
    async with db.transaction() as tx:
        await org.sync(tx, [Unit(code=c, name=c) for c in UNITS], list[Cluster]())
        person = await people.create(
            tx,
            name="Cán bộ",
            unit_code=UNITS[0],
            role=Role.ADMIN,
            language=Language.VI,
            channel="console",
            platform_id="1",
            now=NOW,
        )
    return person.id


@pytest.fixture
async def db(database: str) -> AsyncIterator[Database]:
    opened = Database(database)
    await opened.open()
    yield opened
    await opened.close()


_keys = itertools.count()


async def _report(
    tx: Tx,
    person: int,
    unit: str,
    indicator: str,
    values: dict[str, Any],
    on: dt.date,
    *,
    retracted: bool = False,
) -> Report:
    report, _ = await reports_repo.create(
        tx,
        unit_code=unit,
        person_id=person,
        indicator=indicator,
        values=values,
        occurred_on=on,
        photos=(),
        source_key=f"k{next(_keys)}",
        now=NOW,
    )
    if retracted:
        await reports_repo.retract(tx, report, person_id=person, now=NOW)
        report = dataclasses.replace(report, status=ReportStatus.RETRACTED)
    return report


# --- SQL totals = pure totals ------------------------------------------------------

# Integers and quarters: sums of these are exact in any order, so SQL's SUM and
# the reference's fsum must agree to the last bit.
_figure = st.one_of(
    st.integers(min_value=-1000, max_value=2_000_000),
    st.integers(min_value=-4000, max_value=4000).map(lambda k: k / 4),
)
_MISSING = object()
_value = st.one_of(
    _figure, st.just(_MISSING), st.text(max_size=3), st.none(), st.booleans(), _figure
)
# Each indicator's own figures (and a stray one), so products miss either factor often.
_FIELDS = {
    "gifts": ("count", "value_per_gift", "note"),
    "events": ("count", "participants", "people"),
    "new_members": ("people", "note"),
    "cba": ("agreements", "count"),
    "support": ("count", "amount"),
}
_PERIODS = (
    Y2025,
    Period(PeriodKind.HALF, 2025, 1),
    Period(PeriodKind.HALF, 2025, 2),
    Period(PeriodKind.QUARTER, 2025, 4),
    Period(PeriodKind.MONTH, 2025, 1),
)
Row = tuple[str, str, dict[str, Any], dt.date, bool]


@st.composite
def _period_and_reports(draw: st.DrawFn) -> tuple[Period, list[Row]]:
    """A period and reports dated mostly inside it, often on or just beyond its bounds."""
    period = draw(st.sampled_from(_PERIODS))
    day = dt.timedelta(days=1)
    edges = [period.start - day, period.start, period.end, period.end + day]
    dates = st.dates(period.start, period.end) | st.sampled_from(edges)
    indicator = st.sampled_from(sorted(_FIELDS))
    rows = draw(
        st.lists(
            indicator.flatmap(
                lambda code: st.tuples(
                    st.sampled_from(UNITS),
                    st.just(code),
                    st.fixed_dictionaries({f: _value for f in _FIELDS[code]}).map(
                        lambda values: {k: v for k, v in values.items() if v is not _MISSING}
                    ),
                    dates,
                    st.sampled_from([False, False, False, True]),  # retracted?
                )
            ),
            min_size=1,
            max_size=12,
        )
    )
    return period, rows


# Mostly every measure and unit (so each example exercises every slot), sometimes a subset.
_measures = st.just(MEASURES) | st.lists(
    st.sampled_from(MEASURES), unique_by=lambda m: m.code, min_size=1
)
_units = st.just(UNITS) | st.lists(st.sampled_from(UNITS), unique=True, min_size=1)


async def _compare(
    rows: list[Row],
    period: Period,
    measures: Sequence[MeasureDef],
    units: Sequence[str],
) -> None:
    async with Database(":memory:") as database:
        person = await _setup(database)
        async with database.transaction() as tx:
            made = [await _report(tx, person, u, i, v, d, retracted=r) for u, i, v, d, r in rows]
            sql = await standings.measure_totals(tx, measures, units, period.start, period.end)
            everyone = await standings.all_unit_totals(tx, measures, period.start, period.end)
    mine = [r for r in made if r.unit_code in units]
    assert sql == pure_totals(mine, measures, period)
    assert everyone == pure_totals(made, measures, period)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_period_and_reports(), _measures, _units)
def test_sql_totals_equal_the_pure_totals(
    period_and_reports: tuple[Period, list[Row]],
    measures: Sequence[MeasureDef],
    units: Sequence[str],
) -> None:
    period, rows = period_and_reports
    asyncio.run(_compare(rows, period, measures, units))


# --- examples with known figures ---------------------------------------------------


async def test_gifts_value_is_count_times_value_per_gift(db: Database) -> None:
    person = await _setup(db)
    day = dt.date(2025, 3, 8)
    async with db.transaction() as tx:
        await _report(
            tx, person, "hoan_kiem", "gifts", {"count": 20, "value_per_gift": 500_000}, day
        )
        await _report(
            tx, person, "hoan_kiem", "gifts", {"count": 400, "value_per_gift": 1_000_000}, day
        )
        await _report(tx, person, "ba_dinh", "gifts", {"count": 20, "value_per_gift": 500_000}, day)
        # No value per gift given: it counts as gifts but adds nothing to the VND.
        await _report(tx, person, "long_bien", "gifts", {"count": 3_600}, day)
        totals = await standings.measure_totals(tx, MEASURES, list(UNITS), Y2025.start, Y2025.end)
    assert totals[("hoan_kiem", "gifts_vnd")] == 410_000_000
    assert totals[("hoan_kiem", "gifts_count")] == 420
    assert totals[("hoan_kiem", "gift_reports")] == 2
    assert totals[("ba_dinh", "gifts_vnd")] == 10_000_000
    assert totals[("long_bien", "gifts_vnd")] == 0.0  # present, and 0
    assert totals[("long_bien", "gifts_count")] == 3_600
    assert ("long_bien", "new_members") not in totals  # no report of that indicator


async def test_a_product_missing_either_factor_adds_nothing(db: Database) -> None:
    person = await _setup(db)
    day = dt.date(2025, 3, 8)
    odd_values: list[dict[str, Any]] = [
        {"value_per_gift": 500_000},  # no count
        {"count": 5, "value_per_gift": "500k"},  # text, not a figure
        {"count": 5, "value_per_gift": True},  # a bool is not a figure either
        {"count": 5, "value_per_gift": float("inf")},  # nor an infinity
        {"count": 2, "value_per_gift": 1_000_000},
    ]
    async with db.transaction() as tx:
        made = [await _report(tx, person, "ba_dinh", "gifts", v, day) for v in odd_values]
        totals = await standings.measure_totals(tx, MEASURES, ["ba_dinh"], Y2025.start, Y2025.end)
    assert totals[("ba_dinh", "gifts_vnd")] == 2_000_000
    assert totals[("ba_dinh", "gifts_count")] == 17
    assert totals == pure_totals(made, MEASURES, Y2025)


async def test_retracted_reports_do_not_count(db: Database) -> None:
    person = await _setup(db)
    day = dt.date(2025, 5, 1)
    async with db.transaction() as tx:
        await _report(tx, person, "ba_dinh", "new_members", {"people": 120}, day)
        await _report(tx, person, "ba_dinh", "new_members", {"people": 999}, day, retracted=True)
        await _report(tx, person, "long_bien", "new_unions", {"unions": 5}, day, retracted=True)
        totals = await standings.measure_totals(
            tx, MEASURES, ["ba_dinh", "long_bien"], Y2025.start, Y2025.end
        )
        everyone = await standings.all_unit_totals(tx, MEASURES, Y2025.start, Y2025.end)
    assert totals == everyone
    assert totals[("ba_dinh", "new_members")] == 120
    assert ("long_bien", "new_unions") not in totals


async def test_period_bounds_are_inclusive(db: Database) -> None:
    person = await _setup(db)
    h1 = Period(PeriodKind.HALF, 2025, 1)
    async with db.transaction() as tx:
        for day, people_count in [
            (dt.date(2024, 12, 31), 1),
            (dt.date(2025, 1, 1), 10),
            (dt.date(2025, 6, 30), 100),
            (dt.date(2025, 7, 1), 1000),
        ]:
            await _report(tx, person, "hoan_kiem", "new_members", {"people": people_count}, day)
        totals = await standings.measure_totals(
            tx, [BY_CODE["new_members"]], ["hoan_kiem"], h1.start, h1.end
        )
    assert totals == {("hoan_kiem", "new_members"): 110}


async def test_only_the_units_asked_for(db: Database) -> None:
    person = await _setup(db)
    day = dt.date(2025, 9, 2)
    async with db.transaction() as tx:
        await _report(tx, person, "hoan_kiem", "cba", {"agreements": 4}, day)
        await _report(tx, person, "long_bien", "cba", {"agreements": 7}, day)
        cba = [BY_CODE["cba"]]
        one = await standings.measure_totals(tx, cba, ["long_bien"], Y2025.start, Y2025.end)
        none = await standings.measure_totals(tx, cba, [], Y2025.start, Y2025.end)
        no_measures = await standings.measure_totals(tx, [], UNITS, Y2025.start, Y2025.end)
    assert one == {("long_bien", "cba"): 7}
    assert none == {} and no_measures == {}


# --- targets -----------------------------------------------------------------------


async def _sources(db: Database) -> dict[tuple[str, str, str], tuple[float, str]]:
    async with db.transaction() as tx:
        rows = await tx.fetch_all(
            "SELECT unit_code, measure, period_key, value, source FROM targets"
        )
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _t(unit: str, measure: str, value: float, period: str = "2025") -> Target:
    return Target(unit, measure, period, value)


async def test_config_sync_replaces_config_rows_only(db: Database) -> None:
    await _setup(db)
    async with db.transaction() as tx:
        await targets.sync_from_config(
            tx,
            [
                _t("hoan_kiem", "new_unions", 20),
                _t("ba_dinh", "new_unions", 15),
                _t("long_bien", "new_unions", 20),
            ],
            NOW,
        )
        await targets.set_one(tx, _t("ba_dinh", "new_unions", 16), NOW)  # admin
        await targets.replace_imported(tx, [_t("long_bien", "new_unions", 25)], NOW)
    # The config changes: hoan_kiem's value, and the other two are gone from it.
    async with db.transaction() as tx:
        await targets.sync_from_config(
            tx, [_t("hoan_kiem", "new_unions", 21), _t("ba_dinh", "new_unions", 99)], NOW
        )
    assert await _sources(db) == {
        ("hoan_kiem", "new_unions", "2025"): (21, "config"),
        ("ba_dinh", "new_unions", "2025"): (16, "admin"),  # admin wins over config
        ("long_bien", "new_unions", "2025"): (25, "import"),  # import wins over config
    }
    async with db.transaction() as tx:
        await targets.sync_from_config(tx, [], NOW)  # config rows only are removed
    assert set(await _sources(db)) == {
        ("ba_dinh", "new_unions", "2025"),
        ("long_bien", "new_unions", "2025"),
    }


async def test_an_unchanged_config_target_keeps_its_time(db: Database) -> None:
    await _setup(db)
    later = NOW + dt.timedelta(days=30)
    async with db.transaction() as tx:
        await targets.sync_from_config(
            tx, [_t("hoan_kiem", "cba", 3), _t("ba_dinh", "cba", 4)], NOW
        )
        await targets.sync_from_config(
            tx, [_t("hoan_kiem", "cba", 3), _t("ba_dinh", "cba", 5)], later
        )
        rows = await tx.fetch_all("SELECT unit_code, updated_at FROM targets")
    assert dict((r[0], r[1]) for r in rows) == {
        "hoan_kiem": NOW.isoformat(),
        "ba_dinh": later.isoformat(),
    }


async def test_import_and_admin_override_each_other_latest_wins(db: Database) -> None:
    await _setup(db)
    async with db.transaction() as tx:
        await targets.sync_from_config(tx, [_t("hoan_kiem", "new_members", 1200)], NOW)
        await targets.replace_imported(
            tx, [_t("hoan_kiem", "new_members", 1300), _t("ba_dinh", "new_members", 900)], NOW
        )
        await targets.set_one(tx, _t("ba_dinh", "new_members", 950), NOW)
        await targets.replace_imported(tx, [_t("ba_dinh", "new_members", 1000)], NOW)
    assert await _sources(db) == {
        # Not in the second file: the first import's value stays.
        ("hoan_kiem", "new_members", "2025"): (1300, "import"),
        ("ba_dinh", "new_members", "2025"): (1000, "import"),
    }


async def test_import_is_all_or_nothing(db: Database) -> None:
    await _setup(db)
    async with db.transaction() as tx:
        await targets.set_one(tx, _t("hoan_kiem", "cba", 3), NOW)
    bad_unit = [_t("hoan_kiem", "cba", 5), _t("no_such_unit", "cba", 1)]
    duplicate = [_t("ba_dinh", "cba", 5), _t("ba_dinh", "cba", 6)]
    async with db.transaction() as tx:
        with pytest.raises(IntegrityViolation):
            await targets.replace_imported(tx, bad_unit, NOW)
        with pytest.raises(ValueError, match="duplicate"):
            await targets.replace_imported(tx, duplicate, NOW)
        # The caller carries on and commits: nothing of either file was written.
    assert await _sources(db) == {("hoan_kiem", "cba", "2025"): (3, "admin")}


async def test_for_period_and_all_targets(db: Database) -> None:
    await _setup(db)
    rows = [
        _t("long_bien", "new_unions", 20),
        _t("hoan_kiem", "new_unions", 20),
        _t("hoan_kiem", "gifts_count", 800),
        _t("hoan_kiem", "new_unions", 10, "2025-H1"),
        _t("ba_dinh", "new_unions", 15, "2024"),
    ]
    async with db.transaction() as tx:
        await targets.replace_imported(tx, rows, NOW)
        year = await targets.for_period(tx, "2025")
        some = await targets.for_period(tx, "2025", ["hoan_kiem", "ba_dinh"])
        nobody = await targets.for_period(tx, "2025", [])
        every = await targets.all_targets(tx)
    assert year == [rows[2], rows[1], rows[0]]  # by unit, then measure
    assert some == [rows[2], rows[1]]
    assert nobody == []
    assert every == [rows[4], rows[2], rows[1], rows[0], rows[3]]  # by period first


# --- cluster group chats -------------------------------------------------------------


async def test_group_links(db: Database) -> None:
    person = await _setup(db)
    async with db.transaction() as tx:
        await targets.link_group(tx, "telegram", "-100", "cum1", person, NOW)
        await targets.link_group(tx, "zalo", "g7", "cum2", person, NOW)
        await targets.link_group(tx, "telegram", "-100", "cum3", person, NOW)  # relinked
        assert await targets.group_cluster(tx, "telegram", "-100") == "cum3"
        assert await targets.group_cluster(tx, "zalo", "-100") is None
        assert await targets.groups(tx) == [("telegram", "-100", "cum3"), ("zalo", "g7", "cum2")]
