"""Targets: one set by an admin in chat (/target) or on the dashboard, a whole file
imported from the command line (`thidua targets import`) or uploaded on the dashboard
(the same reading, all or nothing, problems by row), and a year's targets to look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.access import Action
from domain.errors import UserInputError
from domain.measures import MeasureDef
from domain.models import Cluster, Unit
from domain.periods import Period
from domain.scoring import Target
from domain.settings import HandlerSettings
from domain.suggest import unit_code
from storage import targets as targets_repo
from storage.db import Tx
from usecases.access import Caller, allowed, cluster_or_all, require, require_role

if TYPE_CHECKING:
    from documents.targets_file import Translate


async def set_one(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    *,
    unit: str,
    measure: str,
    period: Period,
    value: float,
    now: dt.datetime,
) -> Target:
    """One unit's target of one measure and period (`unit` by code or name)."""
    require_role(caller, Action.SET_TARGET)
    code = unit_code(settings.units, unit)
    require(caller, Action.SET_TARGET, caller.target(unit=code))
    if measure not in {m.code for m in settings.measures}:
        raise UserInputError(
            "standings.unknown_measure",
            text=measure[:30],
            choices=", ".join(m.code for m in settings.measures),
        )
    if value < 0:
        raise UserInputError("err.negative", text=f"{value:g}")
    target = Target(code, measure, period.key, value)
    await targets_repo.set_one(tx, target, now)
    return target


async def import_rows(tx: Tx, caller: Caller, rows: Sequence[Target], now: dt.datetime) -> int:
    """Every target of a parsed file, all or nothing (a savepoint); returns how many."""
    require(caller, Action.SET_TARGET, caller.target(federation=True))
    return await targets_repo.replace_imported(tx, rows, now)


async def every_target(tx: Tx, caller: Caller) -> list[Target]:
    """Every target of every period (the template shows what is set)."""
    require(caller, Action.SET_TARGET, caller.target(federation=True))
    return await targets_repo.all_targets(tx)


def read_file(
    caller: Caller,
    settings: HandlerSettings,
    data: bytes,
    filename: str,
    *,
    translate: Translate,
    lang: str,
) -> list[Target]:
    """The targets of an uploaded .xlsx or .csv, or a TargetsFileError with every problem by
    row number, worded in `lang`: one reading for the command line and the dashboard.
    Pure work on bytes (no transaction): run it in a thread, then `import_rows`."""
    require(caller, Action.SET_TARGET, caller.target(federation=True))
    from documents.targets_file import parse_targets  # openpyxl: only when a file comes

    return parse_targets(
        data,
        filename,
        units=set(settings.units),
        measures={m.code for m in settings.measures},
        translate=translate,
        lang=lang,
    )


@dataclass(frozen=True, slots=True)
class YearTargets:
    """A year's targets (the year's own and its parts': "2026", "2026-H1"…) of the units a
    page shows: a cluster's, or every unit (`cluster` None)."""

    year: int
    cluster: Cluster | None
    units: tuple[Unit, ...]
    measures: tuple[MeasureDef, ...]
    periods: tuple[str, ...]  # period keys holding a target, the year's first
    values: Mapping[tuple[str, str, str], float]  # (unit, measure, period key) → value
    editable: bool  # the caller may set targets (admins)


async def of_year(
    tx: Tx, caller: Caller, settings: HandlerSettings, year: int, cluster: str | None = None
) -> YearTargets:
    """The targets page: a cluster's (its head and deputy this year, admins) or, unnamed,
    every unit's (admins) or the led cluster's."""
    found_cluster = await cluster_or_all(tx, caller, Action.VIEW_TARGETS, year, cluster)
    if found_cluster is None:
        units = tuple(settings.units.values())
        found = await targets_repo.for_year(tx, year)
    else:
        codes = [m.unit for m in found_cluster.members if m.unit in settings.units]
        units = tuple(settings.units[c] for c in codes)
        found = await targets_repo.for_year(tx, year, codes)
    periods = sorted({t.period for t in found} | {f"{year:04d}"}, key=lambda k: (len(k), k))
    return YearTargets(
        year,
        found_cluster,
        units,
        settings.measures,
        tuple(periods),
        {(t.unit, t.measure, t.period): t.value for t in found},
        allowed(caller, Action.SET_TARGET, caller.target(federation=True)),
    )
