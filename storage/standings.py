"""Measure totals in SQL: `domain.measures.measure_totals` without loading the reports.

Standings for a cluster need a handful of sums over thousands of reports;
loading them as `Report` objects (JSON and all) would cost far more than the
sums. One query answers every measure at once, in one pass over the reports:

- It groups the reports by (unit, indicator). COUNT(*) is every count measure,
  and the presence of a group is what makes a key present (the reference keys
  a (unit, measure) once the unit has one counted report of the indicator,
  even when its total is 0).
- Each report joins at most a few rows of `report_values`, through their
  primary key (report_id, field): join slot j reads the j-th field that the
  measures of the report's own indicator use. The field name is picked with
  `CASE r.indicator WHEN … THEN … END`, so a report is probed only for fields
  its indicator needs, and a report of an indicator without measures is not
  probed at all.
- A product measure multiplies two slots of the same report row; a missing
  factor makes the product NULL, which SUM skips: that report adds 0, like
  `MeasureDef.value_of`.

The SQL is portable (LEFT JOIN, CASE, SUM, COUNT, IN, BETWEEN on ISO date
text): nothing here is SQLite-only. Sums are plain SQL SUMs, so they equal the
reference's `math.fsum` exactly whenever the figures are integers (counts,
people, VND), which is what every numeric field of a form holds; fractional
figures may differ in the last bits, as any two summation orders do.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.measures import MeasureDef, MeasureHow
from domain.models import ReportStatus
from domain.scoring import Target
from storage import totals
from storage._codec import fetch_all
from storage.db import Tx
from storage.totals import Members, Units, half_start, next_half, term_of, unit_filters

__all__ = ["all_unit_totals", "measure_totals", "totals_and_targets"]

_FINITE = (-sys.float_info.max, sys.float_info.max)
"""A stored ±inf is not a figure (the reference reads it as missing): the join skips it."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """The query for one set of measures, and which result column answers each measure."""

    sql: str
    params: tuple[Any, ...]
    by_indicator: dict[str, tuple[tuple[str, int], ...]]  # indicator → (measure code, column)


def _plan(measures: Sequence[MeasureDef]) -> _Plan:
    """Slots, products and the SELECT … FROM … for these measures (the WHERE comes later)."""
    fields: dict[str, list[str]] = {}  # indicator → the fields its measures read, in slots
    for m in measures:
        slots = fields.setdefault(m.indicator, [])
        slots.extend(f for f in m.inputs if f not in slots)
    width = max((len(s) for s in fields.values()), default=0)
    products: list[tuple[int, int]] = []
    columns: dict[str, list[tuple[str, int]]] = {}
    for m in measures:
        slots = fields[m.indicator]
        if m.how is MeasureHow.COUNT:
            column = 0
        elif m.how is MeasureHow.SUM:
            column = 1 + slots.index(m.inputs[0])
        else:
            a, b = sorted(slots.index(f) for f in m.inputs)  # x·y = y·x exactly in floats
            if (a, b) not in products:
                products.append((a, b))
            column = 1 + width + products.index((a, b))
        columns.setdefault(m.indicator, []).append((m.code, column))

    select = ["r.unit_code", "r.indicator", "COUNT(*)"]
    select += [f"SUM(v{j}.num)" for j in range(width)]
    select += [f"SUM(v{a}.num * v{b}.num)" for a, b in products]
    joins: list[str] = []
    params: list[Any] = []
    for j in range(width):
        whens = [(ind, slots[j]) for ind, slots in fields.items() if len(slots) > j]
        joins.append(
            f"LEFT JOIN report_values v{j} ON v{j}.report_id = r.id AND v{j}.field = "
            f"CASE r.indicator {' '.join('WHEN ? THEN ?' for _ in whens)} END "
            f"AND v{j}.num BETWEEN ? AND ?"
        )
        params += [x for pair in whens for x in pair]
        params += _FINITE
    sql = f"SELECT {', '.join(select)} FROM reports r {' '.join(joins)}"
    return _Plan(sql, tuple(params), {k: tuple(v) for k, v in columns.items()})


async def _from_reports(
    tx: Tx,
    plan: _Plan,
    unit_codes: Units,
    start: date,
    end: date,
    out: dict[tuple[str, str], float],
    accepted_only: bool = False,
) -> None:
    """Add the reports of [start, end] themselves (absent SUMs are 0): for ragged days."""
    counted = "r.status = ? AND r.review = 'accepted'" if accepted_only else "r.status <> ?"
    for units, chosen in unit_filters(unit_codes, "r.unit_code"):
        rows = await fetch_all(
            tx,
            f"{plan.sql} WHERE {counted} AND {units}r.occurred_on BETWEEN ? AND ? "
            "GROUP BY r.unit_code, r.indicator",
            (
                *plan.params,
                ReportStatus.ACTIVE.value if accepted_only else ReportStatus.RETRACTED.value,
                *chosen,
                start.isoformat(),
                end.isoformat(),
            ),
        )
        for row in rows:
            for code, column in plan.by_indicator.get(row[1], ()):
                value = row[2 + column]
                key = (row[0], code)
                out[key] = out.get(key, 0.0) + (0.0 if value is None else float(value))


_Days = tuple[date, date]


def _whole_halves(start: date, end: date) -> tuple[_Days | None, list[_Days]]:
    """[start, end] as its whole half-years (None: none) and the days outside them."""
    if end < start:
        return None, []
    first = start if half_start(start) == start else next_half(start)
    after = next_half(end) if next_half(end) - timedelta(days=1) == end else half_start(end)
    if first >= after:  # not one whole half-year inside
        return None, [(start, end)]
    edges = []
    if start < first:
        edges.append((start, first - timedelta(days=1)))
    if after <= end:
        edges.append((after, end))
    return (first, after - timedelta(days=1)), edges


async def _from_totals(
    tx: Tx,
    measures: Sequence[MeasureDef],
    unit_codes: Units,
    first: date,
    last: date,
    out: dict[tuple[str, str], float],
    target_keys: Sequence[str],
    accepted_only: bool = False,
) -> list[Target]:
    """Add the whole half-years `first`..`last` from the kept totals (storage.totals); the
    targets of `target_keys` come in the same query."""
    terms: dict[str, set[str]] = {}
    by_term: dict[tuple[str, str], list[str]] = {}
    for m in measures:
        term = term_of(m.inputs) if m.inputs else ""
        terms.setdefault(m.indicator, set()).add(term)
        by_term.setdefault((m.indicator, term), []).append(m.code)
    sums, targets = await totals.half_sums(
        tx, unit_codes, first, last, terms, target_keys, accepted_only=accepted_only
    )
    counted: list[tuple[str, str]] = []
    for unit, indicator, term, total in sums:
        if term == "":
            counted.append((unit, indicator))
        for code in by_term.get((indicator, term), ()):
            out[(unit, code)] = out.get((unit, code), 0.0) + total
    for unit, indicator in counted:  # a counted report makes every measure of it present
        for m in measures:
            if m.indicator == indicator:
                out.setdefault((unit, m.code), 0.0)
    return targets


async def _totals(
    tx: Tx,
    measures: Sequence[MeasureDef],
    unit_codes: Units,
    start: date,
    end: date,
    target_keys: Sequence[str] = (),
    accepted_only: bool = False,
) -> tuple[dict[tuple[str, str], float], list[Target]]:
    out: dict[tuple[str, str], float] = {}
    if unit_codes == []:
        return out, []
    whole, edges = _whole_halves(start, end)
    if whole is None:  # no whole half-year: the targets alone, the sums from the reports
        first = last = half_start(start)
        found = await totals.half_sums(tx, unit_codes, first, last, {}, target_keys)
        targets = found[1]
    else:
        targets = await _from_totals(
            tx, measures, unit_codes, *whole, out, target_keys, accepted_only
        )
    if edges and measures:
        plan = _plan(measures)
        for first, last in edges:
            await _from_reports(tx, plan, unit_codes, first, last, out, accepted_only)
    return out, targets


async def unreviewed(tx: Tx, units: Sequence[str] | Members, start: date, end: date) -> int:
    """How many of these units' reports of [start, end] are not (yet) accepted in review:
    what "tạm tính" standings say. Whole half-years from the kept totals."""
    chosen: Units = units if isinstance(units, Members) else list(units)
    if chosen == []:
        return 0
    whole, edges = _whole_halves(start, end)
    count = await totals.waiting(tx, chosen, *whole) if whole is not None else 0
    for first, last in edges:
        for cond, params in unit_filters(chosen, "unit_code"):
            count += int(
                await tx.fetch_value(
                    f"SELECT COUNT(*) FROM reports WHERE {cond}occurred_on BETWEEN ? AND ? "
                    "AND status = ? AND review <> 'accepted'",
                    (*params, first.isoformat(), last.isoformat(), ReportStatus.ACTIVE.value),
                )
            )
    return count


async def totals_and_targets(
    tx: Tx,
    measures: Sequence[MeasureDef],
    units: Sequence[str] | Members,
    start: date,
    end: date,
    target_keys: Sequence[str],
    *,
    accepted_only: bool = False,
) -> tuple[dict[tuple[str, str], float], list[Target]]:
    """`measure_totals`, and these units' (or a cluster's members') targets of the periods
    `target_keys`: for a standings period (whole half-years) both come in one query.
    `accepted_only`: only reports accepted in review count."""
    chosen = units if isinstance(units, Members) else list(units)
    return await _totals(tx, measures, chosen, start, end, target_keys, accepted_only)


async def measure_totals(
    tx: Tx,
    measures: Sequence[MeasureDef],
    unit_codes: Sequence[str],
    start: date,
    end: date,
    *,
    accepted_only: bool = False,
) -> dict[tuple[str, str], float]:
    """Totals per (unit code, measure code) of these units' reports in [start, end].

    The same figures as `domain.measures.measure_totals` over the same
    reports: retracted reports never count, both bounds are inclusive, and a
    key is present once the unit has a counted report of the measure's
    indicator. Callers read absent keys as 0. Whole half-years (a year, a đợt:
    what standings ask) come from the kept totals, a few rows per unit whatever
    the number of reports; any other days from the reports themselves.
    """
    return (await _totals(tx, measures, list(unit_codes), start, end, (), accepted_only))[0]


async def all_unit_totals(
    tx: Tx, measures: Sequence[MeasureDef], start: date, end: date
) -> dict[tuple[str, str], float]:
    """`measure_totals` for every unit with reports in [start, end], in one query.

    For standings of all clusters at once: one pass over the period's totals
    instead of one query per cluster.
    """
    return (await _totals(tx, measures, None, start, end))[0]
