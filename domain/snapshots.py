"""Finalised standings ("chốt số liệu"): the snapshot a cluster's period is closed with.

When a cluster head or an admin finalises a period, the ranking of that moment
is kept as a `Snapshot`: every unit's rank, score and rating, each criterion's
figures with the ids of the reports they were counted from, the reporting
rates, and what was still open when it was confirmed. Nothing later changes
it: the live standings move with every report, the snapshot stays, and
/standings and the exports show it ("đã chốt ngày …") until an admin reopens
the period. Documents made from a finalised period (the .docx summary table,
the review-meeting minutes) read this model.

Pure: the snapshot is made from a scored `Standings` and plain values, turned
into JSON and back here, and rebuilt into a `Standings` for the renderers that
already draw one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.measures import MeasureDef
from domain.models import Unit
from domain.obligations import Tally
from domain.periods import Period
from domain.scoring import (
    CriterionDef,
    CriterionResult,
    Rating,
    Standings,
    TieBreak,
    UnitStanding,
    format_points,
)

__all__ = [
    "Figure",
    "OpenItems",
    "Snapshot",
    "SnapshotRow",
    "Unfinished",
    "make_snapshot",
]


class Finaliser(StrEnum):
    """Who finalised, when it was nobody by name: the catalog says it (`label_key`)."""

    OPERATOR = "operator"

    @property
    def label_key(self) -> str:
        return f"finalize.{self.value}"


FORMAT = 1
"""The JSON layout's version, stored with each snapshot (a later layout reads older ones)."""


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A unit that had not sent every report due in the period: `met` of `expected`."""

    unit: str
    name: str
    met: int
    expected: int


@dataclass(frozen=True, slots=True)
class OpenItems:
    """What is still open in a cluster's period, shown before finalising it: reports not
    reviewed yet, units that have not sent every report due, unlock requests waiting."""

    unreviewed: int = 0
    missing: tuple[Unfinished, ...] = ()
    unlocks: tuple[str, ...] = ()  # names of the units with an unlock request waiting

    @property
    def empty(self) -> bool:
        return not (self.unreviewed or self.missing or self.unlocks)


@dataclass(frozen=True, slots=True)
class Figure:
    """One criterion of one unit as finalised, and the reports its figure came from."""

    criterion: str
    measure: str
    done: float
    target: float | None
    ratio: float | None
    points: float
    excluded: bool = False
    best: float | None = None
    year_target: float | None = None
    report_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One unit's place in the finalised ranking."""

    unit: str
    unit_name: str
    unit_kind: str
    rank: int
    tied: bool
    score: float  # unrounded, as ranked
    base: float
    adjustment: float
    rating: Rating
    counted_weight: float
    total_weight: float
    figures: tuple[Figure, ...]
    rate: Tally | None = None  # reports sent of those due in the period (None: none owed)

    def format_score(self, lang: str) -> str:
        return format_points(self.score, lang)

    @property
    def report_ids(self) -> tuple[int, ...]:
        """Every report counted for this unit, once each, in order."""
        return tuple(sorted({i for f in self.figures for i in f.report_ids}))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A cluster's finalised standings for one period (never changed once stored).

    `finalised_by` is the person who confirmed it (None: the command line's
    operator); `finalised_by_name` their name as it was then. `open_items` is
    what was still open when it was confirmed. `id` is the stored row's.
    """

    cluster: str
    cluster_name: str
    period: Period
    finalised_at: dt.datetime
    finalised_by: int | None
    finalised_by_name: str
    tie_rule: TieBreak
    criteria: tuple[CriterionDef, ...]
    rows: tuple[SnapshotRow, ...]
    open_items: OpenItems = OpenItems()
    id: int = 0

    def row(self, unit: str) -> SnapshotRow | None:
        return next((r for r in self.rows if r.unit == unit), None)

    def finalised_on(self, tz: dt.tzinfo) -> dt.date:
        """The day it was finalised, on the federation's clock ("đã chốt ngày …")."""
        return self.finalised_at.astimezone(tz).date()

    @property
    def standings(self) -> Standings:
        """The ranking as `domain.scoring` models, for what already draws one (the chat's
        text and chart, "Vì sao?", the workbook): rebuilt from the snapshot alone."""
        criteria = {c.code: c for c in self.criteria}
        rows = []
        for r in self.rows:
            results = tuple(
                CriterionResult(
                    criterion=criteria[f.criterion],
                    done=f.done,
                    target=f.target,
                    ratio=f.ratio,
                    points=f.points,
                    best=f.best,
                    excluded=f.excluded,
                    year_target=f.year_target,
                )
                for f in r.figures
                if f.criterion in criteria
            )
            rows.append(
                UnitStanding(
                    unit=Unit(code=r.unit, name=r.unit_name, kind=r.unit_kind),
                    rank=r.rank,
                    score=r.score,
                    base=r.base,
                    adjustment=r.adjustment,
                    rating=r.rating,
                    criteria=results,
                    counted_weight=r.counted_weight,
                    total_weight=r.total_weight,
                    tied=r.tied,
                )
            )
        return Standings(tuple(rows), self.tie_rule, None)

    @property
    def rates(self) -> dict[str, Tally]:
        """Each unit's reporting rate as it was when finalised."""
        return {r.unit: r.rate for r in self.rows if r.rate is not None}

    def to_json(self) -> str:
        return json.dumps(_dump(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, id: int = 0) -> Snapshot:
        return _load(json.loads(text), id)


def make_snapshot(
    *,
    cluster: str,
    cluster_name: str,
    period: Period,
    standings: Standings,
    measures: Sequence[MeasureDef],
    report_ids: Mapping[tuple[str, str], Sequence[int]],
    rates: Mapping[str, Tally],
    open_items: OpenItems,
    finalised_at: dt.datetime,
    finalised_by: int | None,
    finalised_by_name: str,
) -> Snapshot:
    """The snapshot of a scored ranking. `report_ids` maps (unit, indicator) to the reports
    counted (every report a measure of that indicator reads), so each figure names its own."""
    indicator_of = {m.code: m.indicator for m in measures}
    criteria: dict[str, CriterionDef] = {}
    rows = []
    for row in standings.rows:
        figures = []
        for result in row.criteria:
            c = result.criterion
            criteria.setdefault(c.code, c)
            indicator = indicator_of.get(c.measure, "")
            figures.append(
                Figure(
                    criterion=c.code,
                    measure=c.measure,
                    done=result.done,
                    target=result.target,
                    ratio=result.ratio,
                    points=result.points,
                    excluded=result.excluded,
                    best=result.best,
                    year_target=result.year_target,
                    report_ids=tuple(sorted(report_ids.get((row.unit.code, indicator), ()))),
                )
            )
        rows.append(
            SnapshotRow(
                unit=row.unit.code,
                unit_name=row.unit.name,
                unit_kind=row.unit.kind,
                rank=row.rank,
                tied=row.tied,
                score=row.score,
                base=row.base,
                adjustment=row.adjustment,
                rating=row.rating,
                counted_weight=row.counted_weight,
                total_weight=row.total_weight,
                figures=tuple(figures),
                rate=rates.get(row.unit.code),
            )
        )
    return Snapshot(
        cluster=cluster,
        cluster_name=cluster_name,
        period=period,
        finalised_at=finalised_at,
        finalised_by=finalised_by,
        finalised_by_name=finalised_by_name,
        tie_rule=standings.tie_rule,
        criteria=tuple(criteria.values()),
        rows=tuple(rows),
        open_items=open_items,
    )


# ---- JSON ---------------------------------------------------------------------------------


def _dump(s: Snapshot) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "cluster": s.cluster,
        "cluster_name": s.cluster_name,
        "period": s.period.key,
        "finalised_at": s.finalised_at.isoformat(),
        "finalised_by": s.finalised_by,
        "finalised_by_name": s.finalised_by_name,
        "tie_rule": s.tie_rule.value,
        "criteria": [c.model_dump(mode="json", exclude_defaults=True) for c in s.criteria],
        "open_items": {
            "unreviewed": s.open_items.unreviewed,
            "missing": [[m.unit, m.name, m.met, m.expected] for m in s.open_items.missing],
            "unlocks": list(s.open_items.unlocks),
        },
        "rows": [
            {
                "unit": r.unit,
                "unit_name": r.unit_name,
                "unit_kind": r.unit_kind,
                "rank": r.rank,
                "tied": r.tied,
                "score": r.score,
                "base": r.base,
                "adjustment": r.adjustment,
                "rating": r.rating.value,
                "counted_weight": r.counted_weight,
                "total_weight": r.total_weight,
                "rate": None if r.rate is None else [r.rate.expected, r.rate.met, r.rate.on_time],
                "figures": [
                    {
                        "criterion": f.criterion,
                        "measure": f.measure,
                        "done": f.done,
                        "target": f.target,
                        "ratio": f.ratio,
                        "points": f.points,
                        "excluded": f.excluded,
                        "best": f.best,
                        "year_target": f.year_target,
                        "report_ids": list(f.report_ids),
                    }
                    for f in r.figures
                ],
            }
            for r in s.rows
        ],
    }


def _load(d: Mapping[str, Any], id: int) -> Snapshot:
    opened = d.get("open_items") or {}
    return Snapshot(
        cluster=d["cluster"],
        cluster_name=d["cluster_name"],
        period=Period.from_key(d["period"]),
        finalised_at=dt.datetime.fromisoformat(d["finalised_at"]),
        finalised_by=d["finalised_by"],
        finalised_by_name=d["finalised_by_name"],
        tie_rule=TieBreak(d["tie_rule"]),
        criteria=tuple(CriterionDef.model_validate(c) for c in d["criteria"]),
        open_items=OpenItems(
            unreviewed=int(opened.get("unreviewed", 0)),
            missing=tuple(Unfinished(*m) for m in opened.get("missing", ())),
            unlocks=tuple(opened.get("unlocks", ())),
        ),
        rows=tuple(
            SnapshotRow(
                unit=r["unit"],
                unit_name=r["unit_name"],
                unit_kind=r["unit_kind"],
                rank=r["rank"],
                tied=r["tied"],
                score=r["score"],
                base=r["base"],
                adjustment=r["adjustment"],
                rating=Rating(r["rating"]),
                counted_weight=r["counted_weight"],
                total_weight=r["total_weight"],
                rate=None if r["rate"] is None else Tally(*r["rate"]),
                figures=tuple(
                    Figure(
                        criterion=f["criterion"],
                        measure=f["measure"],
                        done=f["done"],
                        target=f["target"],
                        ratio=f["ratio"],
                        points=f["points"],
                        excluded=f["excluded"],
                        best=f["best"],
                        year_target=f["year_target"],
                        report_ids=tuple(f["report_ids"]),
                    )
                    for f in r["figures"]
                ),
            )
            for r in d["rows"]
        ),
        id=id,
    )
