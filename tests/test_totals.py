"""Per-month report totals (storage/totals.py): kept right through every write, backfilled by
migration 8, checked and rebuilt by `thidua migrate --totals`; standings and rates read them
and get the figures the reports themselves give."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.measures import default_measures
from domain.measures import measure_totals as pure_totals
from domain.models import Cluster, Language, Report, Role, Unit
from domain.obligations import DueKind, DueRule, Obligation, UnitRef, reporting_rates
from domain.periods import Period, PeriodKind
from storage import org, people, standings, totals
from storage import reports as reports_repo
from storage._codec import fetch_all
from storage.db import Database, Tx
from storage.migrations import MIGRATIONS
from tests.harness import EXAMPLE
from tests.test_cli import thidua
from tests.test_standings_storage import EXTRA_MEASURES

VN = dt.timezone(dt.timedelta(hours=7))
UNITS = ("hoan_kiem", "ba_dinh", "long_bien")
START = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
MEASURES = (*default_measures(), *EXTRA_MEASURES)  # a count and a self-product too
OBLIGATIONS = (
    Obligation(
        code="monthly",
        period=PeriodKind.MONTH,
        due=DueRule(kind=DueKind.DAY_OF_NEXT_MONTH, day=20),
        grace_days=2,
    ),
    Obligation(
        code="cba_half",
        indicators=("cba",),
        period=PeriodKind.HALF,
        due=DueRule(kind=DueKind.FIXED, day=30, month=6),
    ),
    Obligation(
        code="gifts_q",
        indicators=("gifts", "new_members"),
        period=PeriodKind.QUARTER,
        due=DueRule(kind=DueKind.DAYS_AFTER_END, days=10),
    ),
)


async def _setup(tx: Tx) -> int:
    await org.sync(tx, [Unit(code=c, name=c) for c in UNITS], list[Cluster]())
    person = await people.create(
        tx,
        name="Cán bộ",
        unit_code=UNITS[0],
        role=Role.ADMIN,
        language=Language.VI,
        channel="console",
        platform_id="1",
        now=START,
    )
    return person.id


# --- random histories of create / edit / retract -------------------------------------

# Integers and quarters: sums of these are exact in any order, so "equal" means equal.
_figure = st.one_of(
    st.integers(min_value=-1000, max_value=2_000_000),
    st.integers(min_value=-4000, max_value=4000).map(lambda k: k / 4),
)
_MISSING = object()
_value = st.one_of(_figure, st.just(_MISSING), st.text(max_size=3), st.booleans(), _figure)
_FIELDS = {
    "gifts": ("count", "value_per_gift", "note"),
    "events": ("count", "participants"),
    "new_members": ("people",),
    "cba": ("agreements", "count"),
}
_values = {
    code: st.fixed_dictionaries({f: _value for f in fields}).map(
        lambda values: {k: v for k, v in values.items() if v is not _MISSING}
    )
    for code, fields in _FIELDS.items()
}
# Mostly 2025, a few days either side, month ends and starts often.
_day = st.dates(dt.date(2024, 12, 25), dt.date(2026, 1, 5)) | st.sampled_from(
    [dt.date(2025, 1, 31), dt.date(2025, 2, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 1)]
)
_create = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda code: st.tuples(
        st.just("create"), st.sampled_from(UNITS), st.just(code), _values[code], _day
    )
)
_edit = st.tuples(st.just("edit"), st.integers(0, 30), st.data(), _day)
_retract = st.tuples(st.just("retract"), st.integers(0, 30))
_ops = st.lists(st.one_of(_create, _create, _edit, _retract), min_size=1, max_size=25)


async def _apply(tx: Tx, person: int, ops: list[Any]) -> list[int]:
    """Run the operations through storage.reports, as the bot does; returns the report ids."""
    made: list[int] = []
    clock = itertools.count()
    for op in ops:
        now = START + dt.timedelta(hours=7 * next(clock))
        if op[0] == "create":
            _, unit, indicator, values, day = op
            report, _ = await reports_repo.create(
                tx,
                unit_code=unit,
                person_id=person,
                indicator=indicator,
                values=values,
                occurred_on=day,
                photos=(),
                source_key=f"k{len(made)}",
                now=now,
            )
            made.append(report.id)
        elif made:
            found = await reports_repo.get(tx, made[op[1] % len(made)])
            assert found is not None
            if op[0] == "retract":
                await reports_repo.retract(tx, found, person_id=person, now=now)
            else:
                values = op[2].draw(_values[found.indicator])
                await reports_repo.update_values(
                    tx, found, person_id=person, values=values, occurred_on=op[3], now=now
                )
    return made


async def _everything(tx: Tx) -> list[Report]:
    return await reports_repo.in_period(tx, list(UNITS), dt.date(1, 1, 1), dt.date(9999, 12, 31))


_spans = st.tuples(_day, _day).map(lambda ab: (min(ab), max(ab)))
_within = st.sampled_from(
    [
        Period(PeriodKind.YEAR, 2025, 1),
        Period(PeriodKind.HALF, 2025, 1),
        Period(PeriodKind.HALF, 2025, 2),
        Period(PeriodKind.QUARTER, 2025, 1),
        Period(PeriodKind.MONTH, 2025, 6),
        Period(PeriodKind.YEAR, 2024, 1),
    ]
)


async def _check_history(
    ops: list[Any], span: tuple[dt.date, dt.date], within: Period, asked_at: dt.datetime
) -> None:
    async with Database(":memory:") as db, db.transaction() as tx:
        person = await _setup(tx)
        await _apply(tx, person, ops)
        # The tables equal a recomputation from the reports, bucket for bucket...
        assert await totals.differences(tx) == []
        # ...so standings read the reports' own figures, over any span of days,
        every = await _everything(tx)
        start, end = span
        inside = [r for r in every if start <= r.occurred_on <= end]
        two = list(UNITS[:2])
        assert await standings.measure_totals(tx, MEASURES, two, start, end) == pure_totals(
            [r for r in inside if r.unit_code in two], MEASURES, None
        )
        assert await standings.all_unit_totals(tx, MEASURES, start, end) == pure_totals(
            inside, MEASURES, None
        )
        # ...and the reporting rate from each month's first report is the one from all of them.
        refs = [UnitRef(UNITS[0], "c1"), UnitRef(UNITS[1], "c1"), UnitRef(UNITS[2], None)]
        firsts = await totals.first_reports(tx, list(UNITS), within.start, within.end, OBLIGATIONS)
        found = await reports_repo.in_period(tx, list(UNITS), within.start, within.end)
    by_firsts = reporting_rates(refs, OBLIGATIONS, within, firsts, [], now=asked_at, tz=VN)
    by_reports = reporting_rates(refs, OBLIGATIONS, within, found, [], now=asked_at, tz=VN)
    assert by_firsts == by_reports


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _ops,
    _spans,
    _within,
    st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 3, 1), timezones=st.just(dt.UTC)),
)
def test_totals_equal_a_recomputation_after_any_history(
    ops: list[Any], span: tuple[dt.date, dt.date], within: Period, asked_at: dt.datetime
) -> None:
    asyncio.run(_check_history(ops, span, within, asked_at))


# --- examples ------------------------------------------------------------------------


async def _buckets(tx: Tx) -> dict[tuple[str, str, str, str], tuple[int, str]]:
    rows = await fetch_all(
        tx, "SELECT unit_code, month, indicator, status, reports, first_at FROM month_counts"
    )
    return {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in rows}


async def _sums(tx: Tx) -> dict[tuple[str, str, str, str, str], float]:
    rows = await fetch_all(
        tx, "SELECT unit_code, half, indicator, status, term, total FROM half_sums"
    )
    return {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in rows}


async def test_an_edit_moves_the_report_between_buckets_and_a_retraction_between_statuses() -> None:
    async with Database(":memory:") as db, db.transaction() as tx:
        person = await _setup(tx)
        ops: list[Any] = [
            (
                "create",
                "ba_dinh",
                "gifts",
                {"count": 20, "value_per_gift": 500_000},
                dt.date(2025, 3, 8),
            ),
            ("create", "ba_dinh", "gifts", {"count": 4}, dt.date(2025, 3, 9)),
        ]
        first, second = await _apply(tx, person, ops)
        march = ("ba_dinh", "2025-03", "gifts", "active")
        h1, h2 = (
            ("ba_dinh", "2025-H1", "gifts", "active"),
            ("ba_dinh", "2025-H2", "gifts", "active"),
        )
        assert (await _buckets(tx))[march] == (2, START.isoformat())
        sums = await _sums(tx)
        assert sums[(*h1, "")] == 2  # reports
        assert sums[(*h1, "count")] == 24
        assert sums[(*h1, "count*value_per_gift")] == 10_000_000
        assert sums[(*h1, "count*count")] == 416
        # The first report moves to July: March and the first half keep the second one.
        report = await reports_repo.get(tx, first)
        assert report is not None
        await reports_repo.update_values(
            tx,
            report,
            person_id=person,
            values={"count": 30},
            occurred_on=dt.date(2025, 7, 1),
            now=START,
        )
        later = START + dt.timedelta(hours=7)
        buckets, sums = await _buckets(tx), await _sums(tx)
        assert buckets[march] == (1, later.isoformat())  # the first time is now the second's
        assert buckets[("ba_dinh", "2025-07", "gifts", "active")] == (1, START.isoformat())
        assert (sums[(*h1, "")], sums[(*h1, "count")]) == (1, 4)
        assert (sums[(*h2, "")], sums[(*h2, "count")]) == (1, 30)
        assert (*h2, "count*value_per_gift") not in sums  # no value per gift any more
        # Retracted: the report leaves 'active' for 'retracted', nothing is left behind.
        gone = await reports_repo.get(tx, second)
        assert gone is not None
        await reports_repo.retract(tx, gone, person_id=person, now=later)
        buckets, sums = await _buckets(tx), await _sums(tx)
        assert march not in buckets
        assert buckets[("ba_dinh", "2025-03", "gifts", "retracted")] == (1, later.isoformat())
        assert (*h1, "count") not in sums
        assert sums[("ba_dinh", "2025-H1", "gifts", "retracted", "count")] == 4
        assert await totals.differences(tx) == []


# --- migration 8 and `thidua migrate --totals` ---------------------------------------


def _version_7(path: Path, reports: list[tuple[str, str, dict[str, Any], str, str]]) -> None:
    """A database as it was before migration 8, with reports in it."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, script in enumerate(MIGRATIONS[:7], start=1):
        conn.executescript(script)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, "2025-01-01"))
    conn.executemany(
        "INSERT INTO units (code, name, kind) VALUES (?, ?, 'ldld')", [(u, u) for u in UNITS]
    )
    conn.execute(
        "INSERT INTO people (id, name, unit_code, role, language, created_at) "
        "VALUES (1, 'Cán bộ', 'hoan_kiem', 'admin', 'vi', '2025-01-01T00:00:00+00:00')"
    )
    for n, (unit, indicator, values, day, status) in enumerate(reports, start=1):
        conn.execute(
            "INSERT INTO reports (id, unit_code, person_id, indicator, values_json, occurred_on, "
            "created_at, status, source_key) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
            (
                n,
                unit,
                indicator,
                json.dumps(values),
                day,
                f"{day}T0{n}:00:00+00:00",
                status,
                f"k{n}",
            ),
        )
        conn.executemany(
            "INSERT INTO report_values (report_id, field, num) VALUES (?, ?, ?)",
            [(n, k, v) for k, v in values.items()],
        )
    conn.commit()
    conn.close()


OLD_REPORTS = [
    ("hoan_kiem", "new_members", {"people": 12}, "2025-02-03", "active"),
    ("hoan_kiem", "new_members", {"people": 30}, "2025-02-20", "active"),
    ("hoan_kiem", "new_members", {"people": 500}, "2025-02-21", "retracted"),
    ("ba_dinh", "gifts", {"count": 10, "value_per_gift": 200_000}, "2025-05-01", "active"),
    ("long_bien", "cba", {"agreements": 2}, "2024-12-31", "active"),
]


async def test_migration_8_counts_the_reports_already_there(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _version_7(path, OLD_REPORTS)
    year = Period(PeriodKind.YEAR, 2025, 1)
    async with Database(path) as db, db.transaction() as tx:
        assert await totals.differences(tx) == []
        assert await totals.buckets(tx) == 4
        sql = await standings.measure_totals(tx, MEASURES, list(UNITS), year.start, year.end)
        every = await _everything(tx)
    assert sql == pure_totals(every, MEASURES, year)
    assert sql[("hoan_kiem", "new_members")] == 42
    assert sql[("ba_dinh", "gifts_vnd")] == 2_000_000
    assert ("long_bien", "cba") not in sql  # 2024's report stays in 2024


def test_thidua_migrate_totals_finds_wrong_totals_and_rebuilds_them(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    _version_7(tmp_path / "thidua.sqlite3", OLD_REPORTS)
    fine = thidua("migrate", "--config", str(config), "--totals")
    assert fine.returncode == 0, fine.stderr
    assert f"phiên bản {len(MIGRATIONS)}" in fine.stdout
    assert "khớp với các báo cáo (4 nhóm theo tháng)" in fine.stdout
    # Someone changes the database by hand: a total, and a bucket that has no report.
    conn = sqlite3.connect(tmp_path / "thidua.sqlite3")
    conn.execute(
        "UPDATE half_sums SET total = total + 1 WHERE term = 'people' AND status = 'active'"
    )
    conn.execute(
        "INSERT INTO month_counts VALUES ('ba_dinh', '2025-09', 'cba', 'active', 3, "
        "'2025-09-01T00:00:00+00:00')"
    )
    conn.commit()
    conn.close()
    fixed = thidua("--lang", "en", "migrate", "--config", str(config), "--totals")
    assert fixed.returncode == 0, fixed.stderr
    assert "2 rows did not match the reports; all were recomputed" in fixed.stdout
    again = thidua("--lang", "en", "migrate", "--config", str(config), "--totals")
    assert "they match the reports (4 monthly buckets)" in again.stdout
