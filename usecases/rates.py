"""The reporting rate, gathered from the database: one definition for every place.

/standings, /completeness and the workbook all call `reporting_rates` for the
same units and period and so show the same figure; the rule itself (submitted
÷ already due, not-yet-due periods excluded) is `domain.obligations.reporting_rates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from domain.obligations import Completeness, NothingToReport, UnitRef, owed_periods
from domain.obligations import reporting_rates as rates_rule
from domain.periods import Period
from domain.settings import HandlerSettings
from storage import declarations
from storage import reports as reports_repo
from storage.db import Tx


async def reporting_rates(
    tx: Tx,
    settings: HandlerSettings,
    units: Sequence[UnitRef],
    within: Period,
    now: dt.datetime,
) -> dict[str, Completeness]:
    """Per obligation code: each unit's reports owed in `within` by `now`, sent, on time.

    `domain.obligations.rates_by_unit` sums them over obligations (one figure
    per unit); `Tally.completeness` is the rate, None when nothing is due yet.
    """
    if not settings.obligations or not units:
        return {}
    found = await reports_repo.in_period(tx, [u.unit for u in units], within.start, within.end)
    declared: list[NothingToReport] = []
    for obligation in settings.obligations:
        for period in owed_periods(obligation, within, now, settings.tz):
            declared += await declarations.for_period(tx, obligation.code, period.key)
    return rates_rule(units, settings.obligations, within, found, declared, now=now, tz=settings.tz)
