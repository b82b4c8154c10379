"""storage/report_checks.py on SQLite and PostgreSQL: a unit's median of a field over a
window, computed by the database (odd and even counts; retracted reports, the report
being edited, other units and indicators, and older reports left out)."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from domain.models import Role
from domain.rules import Unusual, UnusualKind
from storage import report_checks
from storage import reports as reports_repo
from tests.harness import Harness

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
SINCE = dt.date(2025, 3, 10)


async def _report(
    h: Harness, person: int, unit: str, indicator: str, day: dt.date, **values: float
) -> int:
    async with h.db.transaction() as tx:
        report, _ = await reports_repo.create(
            tx,
            unit_code=unit,
            person_id=person,
            indicator=indicator,
            values=values,
            occurred_on=day,
            photos=(),
            source_key=f"k{unit}{indicator}{day}{sorted(values.items())}",
            now=NOW,
        )
    return report.id


async def _medians(
    h: Harness, *, min_reports: int = 1, leave_out: int | None = None
) -> dict[str, float]:
    async with h.db.transaction() as tx:
        return await report_checks.medians(
            tx,
            unit_code="hoan_kiem",
            indicator="gifts",
            fields=["count", "value_per_gift", "missing"],
            since=SINCE,
            min_reports=min_reports,
            leave_out=leave_out,
        )


async def test_the_median_of_a_units_field_over_the_window(h: Harness) -> None:
    await h.person(1, "hoan_kiem")
    await h.person(2, "ba_dinh", Role.OFFICER)
    counts = [7, 1, 30, 4, 12]
    ids = []
    for n, count in enumerate(counts):
        day = dt.date(2025, 6, 1) + dt.timedelta(days=n)
        ids.append(
            await _report(h, 1, "hoan_kiem", "gifts", day, count=count, value_per_gift=500_000 + n)
        )
    # left out: another unit, another indicator, before the window
    await _report(h, 2, "ba_dinh", "gifts", dt.date(2025, 6, 1), count=1000)
    await _report(h, 1, "hoan_kiem", "events", dt.date(2025, 6, 1), count=1000)
    await _report(h, 1, "hoan_kiem", "gifts", dt.date(2025, 3, 9), count=1000)
    assert await _medians(h) == {"count": 7.0, "value_per_gift": 500_002.0}
    assert await _medians(h, min_reports=6) == {}
    # an even count: the mean of the middle two
    await _report(h, 1, "hoan_kiem", "gifts", dt.date(2025, 3, 10), count=2)
    assert (await _medians(h))["count"] == statistics.median([*counts, 2]) == 5.5
    # the report being edited does not count, nor a retracted one
    assert (await _medians(h, leave_out=ids[2]))["count"] == statistics.median([7, 1, 4, 12, 2])
    async with h.db.transaction() as tx:
        report = await reports_repo.get(tx, ids[0])
        assert report is not None
        await reports_repo.retract(tx, report, person_id=1, now=NOW)
    assert (await _medians(h))["count"] == statistics.median([1, 30, 4, 12, 2])


async def test_warnings_are_kept_per_version(h: Harness) -> None:
    await h.person(1, "hoan_kiem")
    report_id = await _report(h, 1, "hoan_kiem", "gifts", dt.date(2026, 3, 1), count=500)
    first = Unusual("count", UnusualKind.USUAL, 500.0, 20.0)
    second = Unusual("value_per_gift", UnusualKind.SOFT_MAX, 6e6, 5e6)
    async with h.db.transaction() as tx:
        await report_checks.save(tx, report_id, 1, [first], person_id=1, now=NOW)
        await report_checks.save(tx, report_id, 2, [second, first], person_id=1, now=NOW)
        assert await report_checks.of_report(tx, report_id, 1) == (first,)
        assert await report_checks.of_report(tx, report_id, 2) == (second, first)
        assert await report_checks.of_report(tx, report_id, 3) == ()


async def test_only_the_latest_reports_make_the_usual_value(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit reporting thousands of times a year costs no more than SAMPLE reports."""
    monkeypatch.setattr(report_checks, "SAMPLE", 3)
    await h.person(1, "hoan_kiem")
    for n, count in enumerate([1000, 1000, 5, 7, 9]):  # the two oldest fall out
        await _report(h, 1, "hoan_kiem", "gifts", dt.date(2025, 6, 1 + n), count=count)
    assert (await _medians(h))["count"] == 7.0
