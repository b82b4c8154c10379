"""Targets: one set by an admin in chat (/target), or a whole file imported from the
command line (`thidua targets import`), all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from domain.access import Action
from domain.errors import UserInputError
from domain.periods import Period
from domain.scoring import Target
from domain.settings import HandlerSettings
from domain.suggest import unit_code
from storage import targets as targets_repo
from storage.db import Tx
from usecases.access import Caller, require, require_role


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
