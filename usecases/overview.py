"""The federation overview (admins): per cluster of a year, its leader, its reporting rate
and the reports it received this week.

Everything comes from what standings already read, never by loading reports: the
scores from the per-unit totals and targets of every cluster in one query
(`standings.compute_clusters`), the rates from the first report per unit and
period (`usecases.rates`, storage.totals), and the week's count from the index
on (unit, created_at) (`storage.totals.received`), which touches only that week's rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.access import Action
from domain.models import Cluster, Unit
from domain.obligations import Tally, UnitRef, rates_by_unit
from domain.periods import Period
from domain.settings import HandlerSettings
from storage import org, totals
from storage.db import Tx
from usecases import rates
from usecases.access import Caller, require
from usecases.standings import compute_clusters


@dataclass(frozen=True, slots=True)
class ClusterOverview:
    cluster: Cluster
    leader: Unit | None  # first in the standings (None: no unit has scored yet)
    leader_score: float | None
    tied: bool  # the leader shares first place
    rate: Tally  # reports sent of those due so far in the period, all units summed
    this_week: int  # reports received since Monday (not retracted)
    units: int


@dataclass(frozen=True, slots=True)
class Overview:
    period: Period
    week_from: dt.date  # Monday of this week
    clusters: tuple[ClusterOverview, ...]
    rate: Tally  # the federation's
    this_week: int


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


async def federation(
    tx: Tx, caller: Caller, settings: HandlerSettings, period: Period, now: dt.datetime
) -> Overview:
    """Every cluster of `period`'s year: leader, reporting rate over `period`, this week's
    reports (admins)."""
    require(caller, Action.VIEW_ALL_STANDINGS, caller.target(federation=True))
    today = now.astimezone(settings.tz).date()
    monday = week_start(today)
    since = dt.datetime.combine(monday, dt.time(0), settings.tz)
    clusters = await org.clusters(tx, period.year)
    known = settings.units
    refs = [UnitRef(m.unit, c.code) for c in clusters for m in c.members if m.unit in known]
    codes = [r.unit for r in refs]
    scored = (
        await compute_clusters(tx, settings, clusters, period, today)
        if settings.scoring is not None and clusters
        else []
    )
    tallies = rates_by_unit(await rates.reporting_rates(tx, settings, refs, period, now))
    week = await totals.received(tx, codes, since)
    rows: list[ClusterOverview] = []
    for n, cluster in enumerate(clusters):
        members = [m.unit for m in cluster.members if m.unit in settings.units]
        standings = scored[n].standings if scored else None
        # nobody leads a cluster where no unit has scored yet (all tied at 0)
        first = standings.rows[0] if standings and standings.rows else None
        first = first if first is not None and first.score > 0 else None
        rate = sum((tallies.get(u, Tally()) for u in members), Tally())
        rows.append(
            ClusterOverview(
                cluster,
                first.unit if first else None,
                first.score if first else None,
                bool(first and first.tied),
                rate,
                sum(week.get(u, 0) for u in members),
                len(members),
            )
        )
    return Overview(
        period,
        monday,
        tuple(rows),
        sum((r.rate for r in rows), Tally()),
        sum(r.this_week for r in rows),
    )
