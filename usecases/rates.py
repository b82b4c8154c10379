"""The reporting rate, gathered from the database: one definition for every place.

/standings, /completeness and the workbook all call `reporting_rates` for the
same units and period and so show the same figure; the rule itself (submitted
÷ already due, not-yet-due periods excluded) is `domain.obligations.reporting_rates`.

Counted in SQL, never by loading the reports: a unit's first active report that
counts for an obligation, per period of it (storage.totals, from per-month
figures kept per report write), is all the rule needs; the declarations of the
periods owed come with them: one query, a few rows per unit and period, whatever
the size of the federation's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from domain.obligations import Completeness, FirstReport, NothingToReport, UnitRef, owed_periods
from domain.obligations import reporting_rates as rates_rule
from domain.periods import Period
from domain.settings import HandlerSettings
from storage import totals
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
    found = await submitted(tx, settings, [u.unit for u in units], within, now)
    return judged(settings, units, within, now, found)


Submitted = tuple[list[FirstReport], list[NothingToReport]]


async def submitted(
    tx: Tx,
    settings: HandlerSettings,
    units: Sequence[str] | totals.Members,
    within: Period,
    now: dt.datetime,
) -> Submitted:
    """What the rate of these units (or a cluster's members) reads: one query."""
    owed = {
        o.code: [p.key for p in owed_periods(o, within, now, settings.tz)]
        for o in settings.obligations
    }
    owing = [o for o in settings.obligations if owed[o.code]]  # nothing due: nothing to read
    return await totals.submissions(tx, units, within.start, within.end, owing, owed)


def judged(
    settings: HandlerSettings,
    units: Sequence[UnitRef],
    within: Period,
    now: dt.datetime,
    found: Submitted,
) -> dict[str, Completeness]:
    """The rule over what `submitted` read."""
    if not settings.obligations or not units:
        return {}
    reports, declared = found
    return rates_rule(
        units, settings.obligations, within, reports, declared, now=now, tz=settings.tz
    )
