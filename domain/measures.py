"""Measures: the numbers that reports add up to, per unit (gifts delivered, VND spent, ...).

An indicator is a form; a measure says which figure of that form counts and
how: the sum of one field, the number of reports, or the sum of a product of
two fields (a gift report gives "20 suất × 500.000 đ", and the money spent is
what the score sheet wants). Targets and scoring criteria refer to measures by
code, so the form and the score sheet can change independently. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import ConfigRule
from domain.models import (
    FieldType,
    IndicatorDef,
    LocalText,
    Report,
    ReportStatus,
    check_short_label,
)
from domain.periods import Period

__all__ = [
    "MeasureDef",
    "MeasureHow",
    "check_measures",
    "default_measures",
    "measure_totals",
]

_NUMERIC = frozenset({FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER})


class MeasureHow(StrEnum):
    SUM = "sum"  # the sum of one field over the reports
    COUNT = "count"  # the number of reports
    PRODUCT = "product"  # the sum, over reports, of field A × field B


class MeasureDef(BaseModel):
    """One figure that targets and criteria are set on; configuration, validated once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    label: LocalText
    short_label: LocalText | None = None
    indicator: str = Field(min_length=1)
    how: MeasureHow = MeasureHow.SUM
    field: str | None = None
    fields: tuple[str, ...] = ()
    unit: str = ""

    _short = field_validator("short_label")(check_short_label)

    def short(self, lang: str) -> str:
        """The short label (config `short_label`), or the full one when none is set."""
        return (self.short_label or self.label).get(lang)

    @model_validator(mode="after")
    def _shape(self) -> MeasureDef:
        # Each `how` needs exactly its own inputs: a stray field is a config mistake.
        if self.how is MeasureHow.SUM:
            if not self.field or self.fields:
                raise ConfigRule(
                    "sum_needs_field", "a sum measure needs `field` (and no `fields`)", path="field"
                )
        elif self.how is MeasureHow.COUNT:
            if self.field or self.fields:
                raise ConfigRule(
                    "count_takes_no_field",
                    "a count measure counts reports and takes no field",
                    path="field",
                )
        elif len(self.fields) != 2 or self.field:
            raise ConfigRule(
                "product_needs_two", "a product measure needs exactly two `fields`", path="fields"
            )
        return self

    @property
    def inputs(self) -> tuple[str, ...]:
        """The report fields this measure reads (none for a count)."""
        return (self.field,) if self.field else self.fields

    def value_of(self, report: Report) -> float:
        """What one report contributes; a missing or non-numeric value contributes 0.

        An optional field left empty (no value per gift given) cannot be guessed,
        so that report adds nothing to the product rather than failing the sum.
        """
        if self.how is MeasureHow.COUNT:
            return 1.0
        factors = [_numeric(report.values.get(code)) for code in self.inputs]
        if any(f is None for f in factors):
            return 0.0
        return math.prod(f for f in factors if f is not None)


def _numeric(value: Any) -> float | None:
    """A stored value as a finite float, or None (bools and text are not figures)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _m(
    code: str, vi: str, en: str, short: tuple[str, str], indicator: str, unit: str, *fields: str
) -> MeasureDef:
    how = MeasureHow.PRODUCT if len(fields) == 2 else MeasureHow.SUM
    return MeasureDef(
        code=code,
        label=LocalText(vi=vi, en=en),
        short_label=LocalText(vi=short[0], en=short[1]),
        indicator=indicator,
        how=how,
        field=fields[0] if how is MeasureHow.SUM else None,
        fields=fields if how is MeasureHow.PRODUCT else (),
        unit=unit,
    )


def default_measures() -> tuple[MeasureDef, ...]:
    """The measures of the sample configuration (config.example.toml's indicators)."""
    return (
        _m(
            "gifts_count",
            "Số suất quà",
            "Gifts delivered",
            ("Suất quà", "Gifts"),
            "gifts",
            "gifts",
            "count",
        ),
        _m(
            "gifts_vnd",
            "Giá trị quà tặng",
            "Value of gifts",
            ("Giá trị quà", "Gift value"),
            "gifts",
            "vnd",
            "count",
            "value_per_gift",
        ),
        _m(
            "events",
            "Số sự kiện",
            "Events held",
            ("Sự kiện", "Events"),
            "events",
            "events",
            "count",
        ),
        _m(
            "participants",
            "Số người tham dự",
            "Participants",
            ("Người tham dự", "Participants"),
            "events",
            "people",
            "participants",
        ),
        _m(
            "new_members",
            "Phát triển đoàn viên",
            "Members enrolled",
            ("Đoàn viên mới", "New members"),
            "new_members",
            "people",
            "people",
        ),
        _m(
            "new_unions",
            "Thành lập CĐCS",
            "Grassroots unions founded",
            ("CĐCS mới", "New unions"),
            "new_unions",
            "unions",
            "unions",
        ),
        _m(
            "cba",
            "Thỏa ước lao động tập thể",
            "Collective agreements",
            ("TƯLĐTT", "CBAs"),
            "cba",
            "agreements",
            "agreements",
        ),
        _m(
            "welfare",
            "Thỏa thuận phúc lợi",
            "Welfare agreements",
            ("Phúc lợi", "Welfare"),
            "welfare",
            "agreements",
            "agreements",
        ),
    )


def check_measures(
    measures: Iterable[MeasureDef], indicators: Iterable[IndicatorDef], path: str = "measures"
) -> list[tuple[str, ConfigRule]]:
    """Problems as (TOML path, rule): duplicate codes, unknown indicators or fields.

    A measure may only read number fields (integer, money, number): adding up
    dates or choice codes would give a figure that means nothing.
    """
    by_code = {i.code: i for i in indicators}
    problems: list[tuple[str, ConfigRule]] = []
    seen: set[str] = set()
    for n, measure in enumerate(measures):
        at = f"{path}[{n}]"
        if measure.code in seen:
            problems.append(
                (
                    f"{at}.code",
                    ConfigRule(
                        "duplicate_measure",
                        "duplicate measure code {code}",
                        code=repr(measure.code),
                    ),
                )
            )
        seen.add(measure.code)
        indicator = by_code.get(measure.indicator)
        if indicator is None:
            problems.append(
                (
                    f"{at}.indicator",
                    ConfigRule(
                        "unknown_indicator",
                        "unknown indicator {code}",
                        code=repr(measure.indicator),
                    ),
                )
            )
            continue
        key = "field" if measure.how is MeasureHow.SUM else "fields"
        for code in measure.inputs:
            field = indicator.field(code)
            if field is None:
                problems.append(
                    (
                        f"{at}.{key}",
                        ConfigRule(
                            "no_such_field",
                            "{indicator} has no field {code}",
                            indicator=indicator.code,
                            code=repr(code),
                        ),
                    )
                )
            elif field.type not in _NUMERIC:
                problems.append(
                    (
                        f"{at}.{key}",
                        ConfigRule(
                            "field_not_number",
                            "field {code} is {type}, not a number",
                            code=repr(code),
                            type=str(field.type),
                        ),
                    )
                )
    return problems


def measure_totals(
    reports: Iterable[Report], measures: Iterable[MeasureDef], period: Period | None
) -> dict[tuple[str, str], float]:
    """Totals per (unit code, measure code) over the reports that count.

    Retracted reports never count; with a period, only reports that occurred
    inside it (start and end inclusive). A key is present once a unit has at
    least one counted report of the measure's indicator (its total may still
    be 0); callers read absent keys as 0. Sums use `math.fsum`, so the order of
    the reports never changes a total.
    """
    by_indicator: dict[str, list[MeasureDef]] = defaultdict(list)
    for measure in measures:
        by_indicator[measure.indicator].append(measure)
    parts: dict[tuple[str, str], list[float]] = defaultdict(list)
    for report in reports:
        if report.status == ReportStatus.RETRACTED:  # == : storage may hand back a str
            continue
        if period is not None and not period.start <= report.occurred_on <= period.end:
            continue
        for measure in by_indicator.get(report.indicator, ()):
            parts[(report.unit_code, measure.code)].append(measure.value_of(report))
    return {key: math.fsum(values) for key, values in parts.items()}
