"""Targets, score sheets and cluster standings: the arithmetic, nothing else.

A score sheet (ScoringDef) weights criteria so the weights sum to 100 points,
plus bonus and penalty points. Each criterion scores one measure by a method:

- ``target``: weight × min(done / target, cap). ``cap`` (≥ 1, default 1) is
  the largest ratio that still earns points, so 245% of a target earns the
  full weight unless the sheet rewards over-achievement (cap 1.2 → up to
  1.2 × weight).
- ``leader``: weight × done / (the cluster's best done); the best unit gets
  the full weight. When nobody has anything (best ≤ 0) everybody gets 0.
- ``count``: min(done × points_per_item, weight × cap): points per item, at
  most the weight (or weight × cap).
- ``yesno``: the full weight when done > 0, else 0.

A target criterion whose unit has no target, or a target of 0, follows the
criterion's ``missing_target``:

- ``zero``: the criterion counts and earns 0 points.
- ``full``: the criterion counts and earns its full weight (weight × 1).
- ``exclude`` (default): the criterion is left out for that unit, and the
  unit's criteria points are re-scaled to the sheet's total weight:
  base = Σ points × (Σ all weights / Σ weights of the criteria that count).
  A unit left with no criterion at all gets base 0.

A target set for a year but not for a shorter period ranked on its own
(6 tháng đầu năm) is pro-rated to it by months (½ for a half, rounded up to
whole units when the year's target is whole), and the explanation says so.
Mid-period, `progress` pro-rates the target to "what is needed by today" in
whole units (ceil): "cần 1.062 đến hôm nay", never "cần 1.061,92".

score = max(0, base + adjustment): bonus and penalty points are added after
re-scaling (they are not re-scaled) and a score never goes below 0. Ratings
and ranks use the unrounded score; rounding to one decimal is for display.
Standings computed here are advisory: the official ranking is voted at the
year-end review, and the output must say so.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import ConfigRule
from domain.models import SHORT_LABEL_MAX, LocalText, Unit, check_short_label
from domain.numbers import format_decimal_as, format_integer, format_number, format_percent
from domain.periods import Period, PeriodKind

__all__ = [
    "SHORT_LABEL_MAX",
    "Adjusted",
    "CriterionDef",
    "CriterionResult",
    "Method",
    "MissingTarget",
    "PenaltyRule",
    "PenaltySource",
    "PeriodTargets",
    "Phrase",
    "Rating",
    "ScoringDef",
    "Standings",
    "Target",
    "Thresholds",
    "TieBreak",
    "UnitStanding",
    "check_scoring",
    "explain",
    "format_points",
    "score_cluster",
    "targets_for",
    "targets_for_period",
]

_EPS = 1e-9
"""Float slack when comparing computed figures with thresholds and pace."""

_WIDE = Context(prec=400)

_NO_ADJUSTMENTS: Mapping[str, float] = MappingProxyType({})
_NO_YEAR_TARGETS: Mapping[tuple[str, str], float] = MappingProxyType({})
_NO_ITEMS: Mapping[str, Mapping[str, float]] = MappingProxyType({})


class Method(StrEnum):
    TARGET = "target"
    LEADER = "leader"
    COUNT = "count"
    YESNO = "yesno"


class MissingTarget(StrEnum):
    ZERO = "zero"
    FULL = "full"
    EXCLUDE = "exclude"


class TieBreak(StrEnum):
    """How units with equal scores (to 0.01) are listed; they share a rank either way."""

    NAME = "name"  # alphabetically by unit name (Vietnamese order)
    # More points (to 0.01, before re-scaling; 0 for an excluded criterion) in the
    # heaviest criterion first, then the next heaviest (equal weights: sheet order),
    # then by name.
    WEIGHT_ORDER = "weight_order"

    @property
    def label_key(self) -> str:
        """The catalog sentence the standings print so nobody wonders about the order."""
        return f"tie_break.{self.value}"


class Rating(StrEnum):
    EXCELLENT = "excellent"
    STRONG = "strong"
    GOOD = "good"
    AVERAGE = "average"
    WEAK = "weak"

    @property
    def label_key(self) -> str:
        """The catalog's published words: xuất sắc, vững mạnh, khá, trung bình, yếu."""
        return f"rating.{self.value}"


@dataclass(frozen=True, slots=True)
class Target:
    """A unit's registered target for one measure in one period (period key, e.g. "2025")."""

    unit: str
    measure: str
    period: str
    value: float

    def __post_init__(self) -> None:
        # Targets come from config or an admin command that already validated them.
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"target must be a finite number ≥ 0, got {self.value!r}")


def targets_for(targets: Iterable[Target], period: str) -> dict[tuple[str, str], float]:
    """The (unit, measure) → value map `score_cluster` takes, for one period key.

    Two targets for the same unit, measure and period are a data error, not
    something to resolve silently by taking one of them.
    """
    result: dict[tuple[str, str], float] = {}
    for target in targets:
        if target.period != period:
            continue
        key = (target.unit, target.measure)
        if key in result:
            raise ValueError(f"duplicate target for {target.unit}/{target.measure} in {period}")
        result[key] = target.value
    return result


@dataclass(frozen=True, slots=True)
class PeriodTargets:
    """The targets a period is ranked against.

    `values` holds every (unit, measure) target; `from_year` the year's target
    for those pro-rated from it (no target of their own for the period), and
    `share` the fraction of the year the period is (½ for 6 tháng).
    """

    values: Mapping[tuple[str, str], float]
    from_year: Mapping[tuple[str, str], float]
    share: Fraction


def targets_for_period(targets: Iterable[Target], period: Period) -> PeriodTargets:
    """The period's own targets, and the year's pro-rated for pairs that have none.

    Registering targets only per year is the common case ("chỉ tiêu năm"); ranking
    the first 6 months against "—" would leave every target criterion out, so the
    year's target is pro-rated by months: value × months/12, rounded up to whole
    units when the year's target is whole (13 CĐCS, not 12,5).
    """
    every = list(targets)
    own = targets_for(every, period.key)
    if period.kind is PeriodKind.YEAR:
        return PeriodTargets(own, {}, Fraction(1))
    months = (period.end.month - period.start.month) + 1
    share = Fraction(months, 12)
    yearly = targets_for(every, f"{period.year:04d}")
    values = dict(own)
    from_year: dict[tuple[str, str], float] = {}
    for key, year_value in yearly.items():
        if key in own:
            continue
        scaled = year_value * share.numerator / share.denominator
        if float(year_value).is_integer():
            scaled = float(math.ceil(scaled - _EPS))
        values[key] = scaled
        from_year[key] = year_value
    return PeriodTargets(values, from_year, share)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CriterionDef(_Frozen):
    """One line of the score sheet: which measure, how many points, by which method."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    label: LocalText
    short_label: LocalText | None = None
    group: str = ""
    measure: str = Field(min_length=1)
    weight: float = Field(gt=0, allow_inf_nan=False)
    method: Method = Method.TARGET
    cap: float | None = Field(default=None, ge=1, allow_inf_nan=False)
    points_per_item: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    missing_target: MissingTarget = MissingTarget.EXCLUDE

    _short = field_validator("short_label")(check_short_label)

    @model_validator(mode="after")
    def _options_fit_method(self) -> CriterionDef:
        # An option the method ignores would be a silent misconfiguration.
        if self.cap is not None and self.method not in (Method.TARGET, Method.COUNT):
            raise ConfigRule("cap_unused", "only target and count criteria have a cap", path="cap")
        if self.method is Method.COUNT and self.points_per_item is None:
            raise ConfigRule(
                "points_per_item_needed",
                "a count criterion needs points_per_item",
                path="points_per_item",
            )
        if self.method is not Method.COUNT and self.points_per_item is not None:
            raise ConfigRule(
                "points_per_item_unused",
                "only count criteria have points_per_item",
                path="points_per_item",
            )
        if "missing_target" in self.model_fields_set and self.method is not Method.TARGET:
            raise ConfigRule(
                "missing_target_unused",
                "only target criteria have targets",
                path="missing_target",
            )
        return self

    def short(self, lang: str) -> str:
        """The short label (config `short_label`), or the full one when none is set."""
        return (self.short_label or self.label).get(lang)

    @property
    def max_points(self) -> float:
        """The most this criterion can earn: weight × cap (cap 1 unless set)."""
        return self.weight * (self.cap if self.cap is not None else 1.0)


class PenaltySource(StrEnum):
    """Where a rule's items are counted from, per unit over the period ranked.

    - ``late``: reports owed (the obligations) whose first submission came after
      the due moment and its grace days;
    - ``missing``: reports owed and already due that nothing was submitted for;
    - ``returned``: the unit's reports a reviewer returned (each return counts).
    """

    LATE = "late"
    MISSING = "missing"
    RETURNED = "returned"


class PenaltyRule(_Frozen):
    """A bonus (points > 0) or penalty (points < 0) per item, e.g. −1 per late report.

    `source` says where the items are counted (late or missing reports from the
    obligations, reports returned in review); `limit` caps what the rule can
    add or take in total (−1 per late report, at most 5 points).
    """

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    label: LocalText
    points: float = Field(allow_inf_nan=False)
    per: Literal["item"] = "item"
    source: PenaltySource | None = None
    limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    def applied(self, count: float) -> float:
        """The points `count` items earn (or cost), within the limit."""
        points = self.points * count
        if self.limit is not None:
            points = max(-self.limit, min(self.limit, points))
        return points

    @model_validator(mode="after")
    def _nonzero(self) -> PenaltyRule:
        if self.points == 0:
            raise ConfigRule(
                "zero_points", "a bonus or penalty of 0 points does nothing", path="points"
            )
        return self


class Thresholds(_Frozen):
    """Minimum scores per rating; the defaults are the published ones."""

    excellent: float = Field(default=96, allow_inf_nan=False)
    strong: float = Field(default=90, allow_inf_nan=False)
    good: float = Field(default=70, allow_inf_nan=False)
    average: float = Field(default=50, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _descending(self) -> Thresholds:
        if not self.excellent > self.strong > self.good > self.average:
            # No sub-path: the problem is the table itself, `scoring.thresholds`.
            raise ConfigRule(
                "thresholds_order", "must decrease: excellent > strong > good > average"
            )
        return self

    def rate(self, score: float) -> Rating:
        """The rating of an unrounded score (96 → xuất sắc, 95.99 → vững mạnh)."""
        for minimum, rating in (
            (self.excellent, Rating.EXCELLENT),
            (self.strong, Rating.STRONG),
            (self.good, Rating.GOOD),
            (self.average, Rating.AVERAGE),
        ):
            if score + _EPS >= minimum:
                return rating
        return Rating.WEAK


class ScoringDef(_Frozen):
    """A whole score sheet: criteria worth 100 points, bonus/penalty rules, ratings, tie rule."""

    criteria: tuple[CriterionDef, ...] = Field(min_length=1)
    adjustments: tuple[PenaltyRule, ...] = ()
    thresholds: Thresholds = Thresholds()
    tie_break: TieBreak = TieBreak.NAME

    @model_validator(mode="after")
    def _check(self) -> ScoringDef:
        codes = [c.code for c in self.criteria]
        if dup := _first_duplicate(codes):
            raise ConfigRule(
                "duplicate_criterion",
                "duplicate criterion code {code}",
                path="criteria",
                code=repr(dup),
            )
        if dup := _first_duplicate([r.code for r in self.adjustments]):
            raise ConfigRule(
                "duplicate_rule", "duplicate rule code {code}", path="adjustments", code=repr(dup)
            )
        total = math.fsum(c.weight for c in self.criteria)
        if abs(total - 100) > 0.001:
            raise ConfigRule(
                "weights_sum",
                "weights must sum to 100, got {total}",
                path="criteria",
                total=_plain(total),
            )
        return self

    @property
    def total_weight(self) -> float:
        return math.fsum(c.weight for c in self.criteria)

    def adjustment(self, items: Mapping[str, float]) -> float:
        """A unit's bonus/penalty points from item counts per rule code ({"late": 2})."""
        return math.fsum(a.points for a in self.adjusted(items))

    def adjusted(self, items: Mapping[str, float]) -> tuple[Adjusted, ...]:
        """Each rule with items, in the sheet's order: its count and its points."""
        rules = {r.code: r for r in self.adjustments}
        unknown = sorted(set(items) - set(rules))
        if unknown:
            raise ValueError(f"unknown bonus/penalty rule(s): {', '.join(unknown)}")
        return tuple(
            Adjusted(rule, count, rule.applied(count))
            for rule in self.adjustments
            if (count := _finite(items.get(rule.code, 0.0), f"items of {rule.code}"))
        )

    @property
    def sources(self) -> frozenset[PenaltySource]:
        """What the counted rules need read (nothing when no rule has a source)."""
        return frozenset(r.source for r in self.adjustments if r.source is not None)

    def items_from(
        self, counts: Mapping[PenaltySource, Mapping[str, float]]
    ) -> dict[str, dict[str, float]]:
        """Per unit, the item count of each sourced rule, from per-source counts per unit."""
        out: dict[str, dict[str, float]] = {}
        for rule in self.adjustments:
            if rule.source is None:
                continue
            for unit, count in counts.get(rule.source, {}).items():
                if count:
                    out.setdefault(unit, {})[rule.code] = count
        return out


@dataclass(frozen=True, slots=True)
class Adjusted:
    """One bonus/penalty rule applied to a unit: how many items, how many points."""

    rule: PenaltyRule
    count: float
    points: float

    @property
    def limited(self) -> bool:
        """True when the rule's limit cut the points."""
        return abs(self.points - self.rule.points * self.count) > _EPS


def _first_duplicate(codes: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            return code
        seen.add(code)
    return None


def _plain(x: float) -> str:
    """95 → "95", 95.5 → "95.5": for messages a config author reads."""
    return f"{round(x, 4):f}".rstrip("0").rstrip(".")


def check_scoring(
    scoring: ScoringDef, measure_codes: Iterable[str], path: str = "scoring"
) -> list[tuple[str, ConfigRule]]:
    """Problems as (TOML path, rule): criteria that name a measure that does not exist."""
    known = set(measure_codes)
    return [
        (
            f"{path}.criteria[{n}].measure",
            ConfigRule("unknown_measure", "unknown measure {code}", code=repr(c.measure)),
        )
        for n, c in enumerate(scoring.criteria)
        if c.measure not in known
    ]


# --- results ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """How one unit did on one criterion.

    `target` is the target as set (target method only; None when none is set);
    `ratio` is done/target (target) or done/best (leader), None when undefined;
    `on_track` is None unless the criterion has a usable target and the
    period's progress was given; `expected` = target × progress rounded up to
    whole units (what is needed by today); `year_target` is the year's target
    when `target` was pro-rated from it.
    """

    criterion: CriterionDef
    done: float
    target: float | None
    ratio: float | None
    points: float
    on_track: bool | None = None
    expected: float | None = None
    best: float | None = None
    excluded: bool = False
    year_target: float | None = None

    @property
    def has_target(self) -> bool:
        return self.target is not None and self.target > 0


@dataclass(frozen=True, slots=True)
class UnitStanding:
    """A unit's place in its cluster; `score` is unrounded, `display_score` is for people."""

    unit: Unit
    rank: int
    score: float
    base: float
    adjustment: float
    rating: Rating
    criteria: tuple[CriterionResult, ...]
    counted_weight: float
    total_weight: float
    tied: bool = False
    adjusted: tuple[Adjusted, ...] = ()
    """The counted bonus/penalty rules behind `adjustment` (for "Vì sao?")."""

    @property
    def display_score(self) -> float:
        """The score to one decimal, halves rounded up as people round."""
        return float(_quantize(self.score, "0.1"))

    def format_score(self, lang: str) -> str:
        return format_points(self.score, lang)

    @property
    def rescaled(self) -> bool:
        """True when an excluded criterion made the base score re-scaled."""
        return abs(self.counted_weight - self.total_weight) > _EPS


@dataclass(frozen=True, slots=True)
class Standings:
    """A cluster's units in ranked order; `tie_rule` says how equal scores are listed."""

    rows: tuple[UnitStanding, ...]
    tie_rule: TieBreak
    progress: float | None = None

    def of(self, unit_code: str) -> UnitStanding | None:
        return next((row for row in self.rows if row.unit.code == unit_code), None)


# --- arithmetic -------------------------------------------------------------------


def _quantize(x: float, step: str) -> Decimal:
    # round(x, 9) first so float noise (70.36999999999) does not tip a half-up rounding;
    # a wide context so no finite float overflows the quantization.
    with localcontext(_WIDE):
        return Decimal(repr(round(x, 9))).quantize(Decimal(step), rounding=ROUND_HALF_UP)


def _hundredths(x: float) -> int:
    """x in hundredths: scores equal at this precision are equal."""
    return int(_quantize(x, "0.01") * 100)


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return float(value)


def _score_criterion(
    criterion: CriterionDef,
    done: float,
    target: float | None,
    best: float,
    progress: float | None,
) -> CriterionResult:
    weight = criterion.weight
    method = criterion.method
    if method is Method.TARGET:
        if target is None or target <= 0:
            mode = criterion.missing_target
            points = weight if mode is MissingTarget.FULL else 0.0
            return CriterionResult(
                criterion, done, target, None, points, excluded=mode is MissingTarget.EXCLUDE
            )
        ratio = done / target
        cap = criterion.cap if criterion.cap is not None else 1.0
        points = weight * min(max(ratio, 0.0), cap)
        on_track: bool | None = None
        expected: float | None = None
        if progress is not None:
            expected = float(math.ceil(target * progress - _EPS))
            on_track = done + _EPS >= expected
        return CriterionResult(criterion, done, target, ratio, points, on_track, expected)
    if method is Method.LEADER:
        if best <= 0:
            return CriterionResult(criterion, done, None, None, 0.0, best=best)
        ratio = done / best
        return CriterionResult(
            criterion, done, None, ratio, weight * min(max(ratio, 0.0), 1.0), best=best
        )
    if method is Method.COUNT:
        per_item = criterion.points_per_item or 0.0
        points = min(max(done, 0.0) * per_item, criterion.max_points)
        return CriterionResult(criterion, done, None, None, points)
    return CriterionResult(criterion, done, None, None, weight if done > 0 else 0.0)


def score_cluster(
    units: Sequence[Unit],
    totals: Mapping[tuple[str, str], float],
    targets: Mapping[tuple[str, str], float],
    scoring: ScoringDef,
    adjustments: Mapping[str, float] = _NO_ADJUSTMENTS,
    progress: float | None = None,
    from_year: Mapping[tuple[str, str], float] = _NO_YEAR_TARGETS,
    items: Mapping[str, Mapping[str, float]] = _NO_ITEMS,
) -> Standings:
    """Rank a cluster's units: pure arithmetic over totals and targets already gathered.

    `totals` and `targets` are keyed (unit code, measure code) and may cover more
    units than the cluster (absent totals are 0, absent targets are missing);
    `adjustments` are each unit's net bonus/penalty points (see
    `ScoringDef.adjustment`). `progress` (0..1, the fraction of the period
    elapsed) only decides `on_track`: points are always earned against the
    full target, so a mid-period score is what has been earned so far.
    `from_year` marks targets pro-rated from the year's (`targets_for_period`).
    `items` are each unit's counted bonus/penalty items per rule code (late
    reports, returns: `ScoringDef.items_from`); their points add to
    `adjustments` and each rule is kept on the unit's row for "Vì sao?".
    """
    if progress is not None and not (math.isfinite(progress) and 0 <= progress <= 1):
        raise ValueError(f"progress must be between 0 and 1, got {progress!r}")
    if dup := _first_duplicate(u.code for u in units):
        raise ValueError(f"unit {dup!r} listed twice")

    done = {
        (u.code, c.code): _finite(
            totals.get((u.code, c.measure), 0.0), f"total {u.code}/{c.measure}"
        )
        for u in units
        for c in scoring.criteria
    }
    best = {c.code: max([0.0, *(done[(u.code, c.code)] for u in units)]) for c in scoring.criteria}
    total_weight = scoring.total_weight

    scored: list[UnitStanding] = []
    for unit in units:
        results = []
        for c in scoring.criteria:
            raw_target = targets.get((unit.code, c.measure))
            target = None if raw_target is None else _finite(raw_target, f"target {unit.code}")
            result = _score_criterion(c, done[(unit.code, c.code)], target, best[c.code], progress)
            year_target = from_year.get((unit.code, c.measure))
            if year_target is not None and c.method is Method.TARGET:
                result = replace(result, year_target=year_target)
            results.append(result)
        counted = math.fsum(r.criterion.weight for r in results if not r.excluded)
        earned = math.fsum(r.points for r in results if not r.excluded)
        base = earned * total_weight / counted if counted > 0 else 0.0
        adjusted = scoring.adjusted(items.get(unit.code, _NO_ADJUSTMENTS))
        adjustment = _finite(adjustments.get(unit.code, 0.0), f"adjustment {unit.code}")
        adjustment += math.fsum(a.points for a in adjusted)
        score = max(0.0, base + adjustment)
        scored.append(
            UnitStanding(
                unit=unit,
                rank=0,
                score=score,
                base=base,
                adjustment=adjustment,
                rating=scoring.thresholds.rate(score),
                criteria=tuple(results),
                counted_weight=counted,
                total_weight=total_weight,
                adjusted=adjusted,
            )
        )
    return Standings(_rank(scored, scoring), scoring.tie_break, progress)


def _rank(scored: list[UnitStanding], scoring: ScoringDef) -> tuple[UnitStanding, ...]:
    """Competition ranking (1, 2, 2, 4) by score; the tie rule orders equal scores."""
    by_weight = sorted(
        range(len(scoring.criteria)), key=lambda i: -scoring.criteria[i].weight
    )  # stable: equal weights keep the sheet's order

    def order(row: UnitStanding) -> tuple[object, ...]:
        tie: tuple[int, ...] = ()
        if scoring.tie_break is TieBreak.WEIGHT_ORDER:
            tie = tuple(-_hundredths(row.criteria[i].points) for i in by_weight)
        return (-_hundredths(row.score), tie, _vi_name_key(row.unit.name), row.unit.code)

    ordered = sorted(scored, key=order)
    keys = [_hundredths(row.score) for row in ordered]
    rows: list[UnitStanding] = []
    for position, row in enumerate(ordered):
        rank = keys.index(keys[position]) + 1
        tied = keys.count(keys[position]) > 1
        rows.append(
            UnitStanding(
                unit=row.unit,
                rank=rank,
                score=row.score,
                base=row.base,
                adjustment=row.adjustment,
                rating=row.rating,
                criteria=row.criteria,
                counted_weight=row.counted_weight,
                total_weight=row.total_weight,
                tied=tied,
                adjusted=row.adjusted,
            )
        )
    return tuple(rows)


# Vietnamese alphabetical order: a ă â b c d đ e ê … o ô ơ … u ư, then tones
# (ngang, huyền, hỏi, ngã, sắc, nặng) only when the letters are equal.
_MODIFIER = {"\u0306": 1, "\u0302": 2, "\u031b": 3}  # breve ă, circumflex â ê ô, horn ơ ư
_TONE = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@functools.lru_cache(maxsize=8192)  # a federation's unit names, ranked over and over
def _vi_name_key(name: str) -> tuple[object, ...]:
    """Sort key for Vietnamese names: "Cầu Giấy" < "Dịch Vọng" < "Đống Đa" < "Em"."""
    letters: list[tuple[str, int]] = []
    tones: list[int] = []
    for ch in name.casefold():
        if ch == "đ":
            letters.append(("d", 1))
            tones.append(0)
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[:1], decomposed[1:]
        letters.append((base, max((_MODIFIER.get(m, 0) for m in marks), default=0)))
        tones.append(max((_TONE.get(m, 0) for m in marks), default=0))
    return (tuple(letters), tuple(tones), name)


# --- explanation ------------------------------------------------------------------


def format_points(points: float, lang: str) -> str:
    """Points with one decimal: 20,0 (vi) / 20.0 (en)."""
    if not math.isfinite(points):
        return "—"
    return _points_text(points, lang, math.copysign(1.0, points))


@functools.lru_cache(maxsize=4096)
def _points_text(points: float, lang: str, sign: float) -> str:
    """Kept per value (and sign: -0.0 equals 0.0 as a key): the same points are worded
    again and again, every standings message."""
    value = _quantize(points, "0.1")
    with localcontext(_WIDE):  # Babel quantizes again in the current context
        return format_decimal_as(value, "#,##0.0", lang)


def _signed(points: float, lang: str) -> str:
    return ("+" if points >= 0 else "-") + format_points(abs(points), lang)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One line of an explanation: a catalog key (under "why.") and its parameters.

    Numbers are already formatted for the language; the words live in the
    catalogs, which also word a `Rating` parameter. `label`/`short_label` fill
    "{label}": the renderer picks the one that fits its line, so a label is
    never cut mid-word.
    """

    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    label: str = ""
    short_label: str = ""


def _whole(x: float, lang: str) -> str:
    """A count of things ("cần 1.062"): whole units, rounded up."""
    return format_integer(math.ceil(x - _EPS), lang)


def _criterion_phrases(r: CriterionResult, lang: str) -> list[Phrase]:
    c = r.criterion
    labels = {"label": c.label.get(lang), "short_label": c.short(lang)}
    outcome = {
        "done": format_number(r.done, lang),
        "points": format_points(r.points, lang),
        "max": format_number(c.max_points, lang),
    }
    if c.method is Method.TARGET:
        if not r.has_target:
            shown = "—" if r.target is None else format_number(r.target, lang)
            reason = "none" if r.target is None else "zero"
            tail = "excluded" if r.excluded else str(c.missing_target.value)
            return [Phrase(f"why.target_{reason}_{tail}", {**outcome, "target": shown}, **labels)]
        assert r.target is not None and r.ratio is not None
        params = {
            **outcome,
            "target": format_number(r.target, lang),
            "ratio": format_percent(r.ratio, lang),
        }
        phrases = [Phrase("why.target", params, **labels)]
        if r.year_target is not None:
            phrases.append(
                Phrase(
                    "why.from_year",
                    {
                        "target": format_number(r.target, lang),
                        "year_target": format_number(r.year_target, lang),
                    },
                )
            )
        if r.on_track is not None and r.expected is not None:
            key = "why.on_track" if r.on_track else "why.behind"
            phrases.append(Phrase(key, {"expected": _whole(r.expected, lang)}))
        return phrases
    if c.method is Method.LEADER:
        if r.ratio is None:
            return [Phrase("why.leader_none", outcome, **labels)]
        best = format_number(r.best or 0.0, lang)
        ratio = format_percent(r.ratio, lang)
        return [Phrase("why.leader", {**outcome, "best": best, "ratio": ratio}, **labels)]
    if c.method is Method.COUNT:
        per_item = format_number(c.points_per_item or 0.0, lang)
        return [Phrase("why.count", {**outcome, "per_item": per_item}, **labels)]
    return [Phrase("why.yes" if r.done > 0 else "why.no", outcome, **labels)]


def _adjusted_phrase(item: Adjusted, lang: str) -> Phrase:
    """ "Báo cáo trễ hạn: 3 × -1,0 = -3,0 điểm", and the limit when it cut the points."""
    params = {
        "count": format_number(item.count, lang),
        "per_item": _signed(item.rule.points, lang),
        "points": _signed(item.points, lang),
    }
    label = item.rule.label.get(lang)
    if item.limited:
        assert item.rule.limit is not None
        limit = format_points(item.rule.limit, lang)
        return Phrase("why.adjusted_limited", {**params, "limit": limit}, label, label)
    return Phrase("why.adjusted", params, label, label)


def explain(standing: UnitStanding, lang: str) -> list[Phrase]:
    """The phrases behind a score, for the "Vì sao?" button.

    Per criterion: "Thành lập CĐCS: 49/20 = 245,0% → 20,0/20 điểm", then, when
    it applies, where a pro-rated target came from and the pace ("cần 1.062 đến
    hôm nay, theo tiến độ"); then the re-scaling when a criterion was left out,
    any bonus/penalty, and the total with rating and rank.
    """
    phrases = [p for r in standing.criteria for p in _criterion_phrases(r, lang)]
    if standing.rescaled:
        earned = math.fsum(r.points for r in standing.criteria if not r.excluded)
        phrases.append(
            Phrase(
                "why.rescaled",
                {
                    "total": format_number(standing.total_weight, lang),
                    "earned": format_points(earned, lang),
                    "counted": format_number(standing.counted_weight, lang),
                    "base": format_points(standing.base, lang),
                },
            )
        )
    for item in standing.adjusted:
        phrases.append(_adjusted_phrase(item, lang))
    other = standing.adjustment - math.fsum(a.points for a in standing.adjusted)
    if abs(other) > _EPS:
        phrases.append(Phrase("why.adjustment", {"points": _signed(other, lang)}))
    phrases.append(
        Phrase(
            "why.total",
            {
                "score": standing.format_score(lang),
                "rating": standing.rating,
                "rank": standing.rank,
            },
        )
    )
    return phrases
