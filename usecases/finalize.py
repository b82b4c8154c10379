"""Finalising a cluster's period ("chốt số liệu"), reading what it was finalised with, and
reopening it.

The cluster head (their cluster, this year) or an admin finalises: first
`preview` says what is still open (reports not reviewed, units that have not
sent every report due, unlock requests waiting), then `finalize`, confirmed,
stores the snapshot (`domain.snapshots`). Finalising with something open and
without confirming is refused; finalising twice is refused naming when and by
whom. Reopening is an admin's, with a reason; both are in the period's trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from domain.access import Action
from domain.errors import UserInputError
from domain.models import Cluster
from domain.obligations import Tally
from domain.periods import Period
from domain.review import Counted
from domain.settings import HandlerSettings
from domain.snapshots import Finaliser, OpenItems, Snapshot, Unfinished, make_snapshot
from domain.text import clean_text
from storage import finalised as finalised_repo
from storage import org, people
from storage import unlocks as unlocks_repo
from storage.db import Tx
from usecases import standings
from usecases.access import Caller, in_year, require

REASON_MAX = 500
"""Characters of a reopening's reason kept (a longer one is refused, saying so)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """What a finaliser confirms: the cluster, the period and what is still open; and the
    standings and reporting rates it was read from, which `finalize` in the same
    transaction stores rather than computing them again."""

    cluster: Cluster
    period: Period
    open_items: OpenItems
    computed: tuple[standings.ClusterStandings, dict[str, Tally]] = field(repr=False, compare=False)


async def _cluster(
    tx: Tx, caller: Caller, action: Action, period: Period, code: str | None
) -> Cluster:
    """The cluster named (`code`: an admin's or the command line's), else the one asked
    about (a linked group's, else the one the person leads, else their unit's)."""
    if code is None:
        if caller.actor.unit is None and not caller.in_group:
            raise UserInputError("finalize.name_cluster")
        return await standings.asked_cluster(tx, caller, action, period.year)
    asking = await in_year(tx, caller, period.year)
    require(asking, action, asking.target(cluster=code))
    cluster = await org.cluster(tx, code, period.year)
    if cluster is None:
        raise UserInputError("finalize.no_such_cluster", cluster=code, year=period.year)
    return cluster


async def _already(tx: Tx, snapshot: Snapshot, settings: HandlerSettings) -> UserInputError:
    """ "Already finalised on … by …", for the person who tried again."""
    who: str | Finaliser = await _name(tx, snapshot.finalised_by) or Finaliser.OPERATOR
    local = snapshot.finalised_at.astimezone(settings.tz)
    return UserInputError(
        "finalize.already",
        cluster=snapshot.cluster_name,
        period=snapshot.period,
        when=f"{local:%H:%M %d/%m/%Y}",
        who=who,
    )


async def _name(tx: Tx, person_id: int | None) -> str:
    """A person's name as the trail shows it ("" for the command line's operator)."""
    if person_id is None:
        return ""
    person = await people.get(tx, person_id)
    return person.name if person else "?"


async def _open_items(
    tx: Tx, settings: HandlerSettings, cluster: Cluster, period: Period, rates: dict[str, Tally]
) -> OpenItems:
    """Reports not reviewed yet, units behind on reports due (`rates`), unlock requests
    waiting."""
    units = [m.unit for m in cluster.members]
    behind = tuple(
        Unfinished(code, _unit_name(settings, code), tally.met, tally.expected)
        for code in units
        if (tally := rates.get(code)) is not None and tally.met < tally.expected
    )
    waiting = [
        r
        for r in await unlocks_repo.pending_in(tx, units)
        if _overlaps(Period.from_key(r.period_key), period)
    ]
    names = tuple(dict.fromkeys(_unit_name(settings, r.unit) for r in waiting))
    unreviewed = await finalised_repo.not_accepted(tx, units, period.start, period.end)
    return OpenItems(unreviewed=unreviewed, missing=behind, unlocks=names)


def _overlaps(a: Period, b: Period) -> bool:
    return a.start <= b.end and b.start <= a.end


def _unit_name(settings: HandlerSettings, code: str) -> str:
    unit = settings.units.get(code)
    return unit.name if unit else code


async def preview(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    period: Period,
    now: dt.datetime,
    cluster_code: str | None = None,
) -> Preview:
    """What finalising `period` would close, and what is still open in it; refused when it
    stands finalised already."""
    cluster = await _cluster(tx, caller, Action.FINALIZE, period, cluster_code)
    existing = await finalised_repo.standing(tx, cluster.code, period.key)
    if existing is not None:
        raise await _already(tx, existing, settings)
    computed = await standings.with_rates(tx, settings, cluster.code, period, now)
    items = await _open_items(tx, settings, cluster, period, computed[1])
    return Preview(cluster, period, items, computed)


async def finalize(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    period: Period,
    now: dt.datetime,
    *,
    confirmed: bool,
    cluster_code: str | None = None,
    shown: Preview | None = None,
) -> Snapshot:
    """Store the period's standings as they are now, for good. With anything still open,
    only when `confirmed` (the person saw the preview and said yes). `shown`: the preview
    made in this same transaction (the command line shows it first), whose standings are
    stored as they are; otherwise the preview is made here, once."""
    if shown is None or shown.period != period:
        shown = await preview(tx, caller, settings, period, now, cluster_code)
    if not shown.open_items.empty and not confirmed:
        raise UserInputError("finalize.confirm_first", period=period)
    cluster = shown.cluster
    result, rates = shown.computed
    units = [u.code for u in result.units]
    accepted_only = settings.review.standings is Counted.ACCEPTED
    report_ids = await finalised_repo.report_ids(
        tx, units, period.start, period.end, accepted_only=accepted_only
    )
    by = caller.actor.person_id
    snapshot = make_snapshot(
        cluster=cluster.code,
        cluster_name=cluster.name,
        period=period,
        standings=result.standings,
        measures=settings.measures,
        report_ids=report_ids,
        rates=rates,
        open_items=shown.open_items,
        finalised_at=now,
        finalised_by=by,
        finalised_by_name=await _name(tx, by),
    )
    stored = await finalised_repo.store(tx, snapshot)
    if stored is None:  # someone finalised it meanwhile
        other = await finalised_repo.standing(tx, cluster.code, period.key)
        assert other is not None
        raise await _already(tx, other, settings)
    return stored


@dataclass(frozen=True, slots=True)
class Finalised:
    """A finalised period's snapshot, and its ranking as the standings renderers take it."""

    snapshot: Snapshot
    result: standings.ClusterStandings


async def finalised(
    tx: Tx, caller: Caller, period: Period, cluster_code: str | None = None
) -> Finalised | None:
    """What the cluster asked about stands finalised with for `period` (None: not
    finalised), for whoever may see that cluster's standings."""
    if cluster_code is None:
        cluster = await standings.asked_cluster(
            tx, caller, Action.VIEW_CLUSTER_STANDINGS, period.year
        )
    else:
        asking = await in_year(tx, caller, period.year)
        require(asking, Action.VIEW_CLUSTER_STANDINGS, asking.target(cluster=cluster_code))
        found = await org.cluster(tx, cluster_code, period.year)
        if found is None:
            return None
        cluster = found
    return await standing(tx, cluster, period)


async def standing(tx: Tx, cluster: Cluster, period: Period) -> Finalised | None:
    """The same without an access check, for the bot's own posts (the scheduled standings)."""
    snapshot = await finalised_repo.standing(tx, cluster.code, period.key)
    if snapshot is None:
        return None
    ranking = snapshot.standings
    units = tuple(row.unit for row in ranking.rows)
    return Finalised(snapshot, standings.ClusterStandings(cluster, period, ranking, units))


async def reopen(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    period: Period,
    reason: str,
    now: dt.datetime,
    cluster_code: str | None = None,
) -> Snapshot:
    """Reopen a finalised period (admins, with a reason): its snapshot stays in the trail,
    the standings are live again until it is finalised anew."""
    cluster = await _cluster(tx, caller, Action.REOPEN_PERIOD, period, cluster_code)
    why = clean_text(reason).strip()
    if not why:
        raise UserInputError("finalize.reopen_reason")
    if len(why) > REASON_MAX:
        raise UserInputError("finalize.reason_too_long", max=REASON_MAX, length=len(why))
    snapshot = await finalised_repo.standing(tx, cluster.code, period.key)
    if snapshot is None or not await finalised_repo.reopen(
        tx, snapshot, caller.actor.person_id, now, why
    ):
        raise UserInputError("finalize.not_finalised", cluster=cluster.name, period=period)
    return snapshot


async def cluster_codes(tx: Tx, year: int) -> list[str]:
    """The codes of `year`'s clusters (to tell a cluster code from a reason's first word)."""
    return await org.cluster_codes(tx, year)


TrailEntry = finalised_repo.AuditEntry


async def trail(
    tx: Tx, caller: Caller, period: Period, cluster_code: str | None = None
) -> list[TrailEntry]:
    """Every finalising and reopening of the cluster's period, oldest first (who may
    finalise it may read it)."""
    cluster = await _cluster(tx, caller, Action.FINALIZE, period, cluster_code)
    return await finalised_repo.trail(tx, cluster.code, period.key)
