"""Standings: a cluster's ranking, every cluster's leaders, one indicator's totals, one
unit's progress, the "Vì sao?" of one unit, and who gets the scheduled posts.

`compute` and `reporting_rates` are the query service that /standings, /export,
the scheduled posts and `thidua export` share (callers that already checked
access); every other function takes the caller and asks the policy first.
Numbers come from the reports (retracted ones never count) and the targets;
the arithmetic is `domain.scoring`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from domain.access import Action
from domain.errors import AccessDenied, UserInputError
from domain.measures import MeasureDef
from domain.models import Cluster, Unit
from domain.obligations import Tally, UnitRef, rates_by_unit, steady_span
from domain.periods import Period, PeriodKind
from domain.review import Counted
from domain.scoring import (
    PenaltySource,
    PeriodTargets,
    Standings,
    Target,
    UnitStanding,
    score_cluster,
    targets_for_period,
)
from domain.settings import HandlerSettings
from domain.suggest import unit_code
from domain.text import fold
from storage import memo as memo_repo
from storage import org, penalties, people
from storage import standings as standings_repo
from storage import targets as targets_repo
from storage.db import Tx
from storage.totals import Members
from usecases import rates
from usecases.access import Caller, cluster_target, in_year, require, require_role
from usecases.rates import reporting_rates as gather_rates


@dataclass(frozen=True, slots=True)
class ClusterStandings:
    cluster: Cluster
    period: Period
    standings: Standings
    units: tuple[Unit, ...]
    targets: PeriodTargets | None = None
    #: Reports of the period not (yet) accepted in review ([review] on), and whether they
    #: are left out ([review] standings = "accepted") or counted ("tạm tính").
    unreviewed: int = 0
    accepted_only: bool = False


def progress(period: Period, today: dt.date) -> float | None:
    """The share of the period gone, for "đúng tiến độ / chậm tiến độ"."""
    if today < period.start:
        return 0.0
    if today >= period.end:
        return None  # over: no pro-rating, the full target counts
    days = (period.end - period.start).days + 1
    return ((today - period.start).days + 1) / days


def valid_periods(years: Sequence[int]) -> list[Period]:
    """The periods standings can be asked about: each year with clusters, and its two đợt."""
    out: list[Period] = []
    for year in sorted(years, reverse=True):
        out += [
            Period(PeriodKind.YEAR, year, 1),
            Period(PeriodKind.HALF, year, 1),
            Period(PeriodKind.HALF, year, 2),
        ]
    return out


async def cluster_years(tx: Tx) -> list[int]:
    """The years that have clusters (and so standings)."""
    return await org.cluster_years(tx)


def _members(settings: HandlerSettings, cluster: Cluster) -> tuple[Unit, ...]:
    return tuple(settings.units[m.unit] for m in cluster.members if m.unit in settings.units)


async def compute(
    tx: Tx,
    settings: HandlerSettings,
    cluster: Cluster,
    period: Period,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> ClusterStandings:
    """One cluster's ranking over `period` (no access check: the caller made it)."""
    return (await compute_clusters(tx, settings, [cluster], period, today, now=now))[0]


async def compute_clusters(
    tx: Tx,
    settings: HandlerSettings,
    clusters: Sequence[Cluster],
    period: Period,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> list[ClusterStandings]:
    """These clusters' rankings over `period`: the totals and the targets of all their units
    read at once (one query for a year or a đợt), then each cluster scored.

    Bonus/penalty rules counted from lateness or returns (`PenaltySource`) read
    what they count as of `now` (default: the end of `today`), only when the
    score sheet has such a rule.

    Kept in the database's memo (storage.memo): every cluster's stamp is read first, in
    one query, and only the clusters whose data changed since are computed again."""
    if settings.scoring is None:
        raise UserInputError("standings.no_scoring")
    memo = _memo(tx, period)
    if memo is None or not clusters:
        return await fresh_clusters(tx, settings, clusters, period, today, now=now)
    at = now if now is not None else _end_of(today, settings)
    units = None if len(clusters) > 1 else [m.unit for m in clusters[0].members]
    counters = await memo_repo.unit_stamps(tx, units)
    out: list[ClusterStandings | None] = []
    stale: list[int] = []
    stamps: list[memo_repo.Stamp] = []
    keys: list[Hashable] = []
    for cluster in clusters:
        stamp = memo_repo.stamp_of(counters, [m.unit for m in cluster.members])
        key = ("clusters", id(settings), cluster.code, cluster.year, period, today)
        kept = _kept(memo, key, settings, stamp, at)
        if kept is None or (kept.cluster is not cluster and kept.cluster != cluster):
            stale.append(len(out))
            kept = None
        out.append(kept)
        stamps.append(stamp)
        keys.append(key)
    if stale:
        again = await fresh_clusters(
            tx, settings, [clusters[i] for i in stale], period, today, now=now
        )
        start, end = steady_span(settings.obligations, period, at, settings.tz)
        for i, result in zip(stale, again, strict=True):
            memo.put(keys[i], _Kept(settings, stamps[i], start, end, result))
            out[i] = result
    return [result for result in out if result is not None]


async def fresh_clusters(
    tx: Tx,
    settings: HandlerSettings,
    clusters: Sequence[Cluster],
    period: Period,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> list[ClusterStandings]:
    """`compute_clusters` computed afresh, never from the memo."""
    if settings.scoring is None:
        raise UserInputError("standings.no_scoring")
    codes = [u.code for cluster in clusters for u in _members(settings, cluster)]
    read = await standings_repo.totals_and_targets(  # one query
        tx,
        settings.measures,
        codes,
        period.start,
        period.end,
        _target_keys(period),
        accepted_only=_accepted_only(settings),
    )
    at = now if now is not None else _end_of(today, settings)
    counts = await penalty_counts(tx, settings, clusters, period, at)
    scored = _scored(settings, clusters, period, today, *read, counts=counts)
    return [await _with_review(tx, settings, s) for s in scored]


@dataclass(frozen=True, slots=True)
class _Kept:
    """A result in the memo: computed with these very settings, from data of this stamp,
    and right for any moment in [start, end)."""

    settings: HandlerSettings
    stamp: memo_repo.Stamp
    start: dt.datetime
    end: dt.datetime
    value: Any


_KEPT_KINDS = frozenset({PeriodKind.YEAR, PeriodKind.HALF})  # what standings are asked for


def _memo(tx: Tx, period: Period) -> memo_repo.Memo | None:
    return tx.memo() if period.kind in _KEPT_KINDS else None


def _kept(
    memo: memo_repo.Memo, key: Hashable, settings: HandlerSettings, stamp: object, at: dt.datetime
) -> Any:
    """The value kept under `key` if it still holds: same settings, same stamp, `at` in
    its span; else None."""
    entry: _Kept | None = memo.get(key)
    if (
        entry is None
        or entry.settings is not settings
        or entry.stamp != stamp
        or not entry.start <= at < entry.end
    ):
        return None
    return entry.value


def _accepted_only(settings: HandlerSettings) -> bool:
    return settings.review.standings is Counted.ACCEPTED


async def _with_review(
    tx: Tx, settings: HandlerSettings, result: ClusterStandings
) -> ClusterStandings:
    """The ranking with what it says of review: how many reports still wait (review on)."""
    if not settings.review.enabled and not _accepted_only(settings):
        return result
    units = [u.code for u in result.units]
    waiting = await standings_repo.unreviewed(tx, units, result.period.start, result.period.end)
    return dataclasses.replace(result, unreviewed=waiting, accepted_only=_accepted_only(settings))


def _end_of(today: dt.date, settings: HandlerSettings) -> dt.datetime:
    return dt.datetime.combine(today, dt.time(23, 59, 59), tzinfo=settings.tz)


Counts = Mapping[PenaltySource, Mapping[str, float]]
"""Per source of bonus/penalty items, the count per unit code."""

_LATENESS = frozenset({PenaltySource.LATE, PenaltySource.MISSING})


async def penalty_counts(
    tx: Tx,
    settings: HandlerSettings,
    clusters: Sequence[Cluster],
    period: Period,
    now: dt.datetime,
) -> Counts:
    """What the score sheet's counted rules need, for these clusters' units: late and missing
    reports from the obligations (the reporting rate's one query), reports returned in
    review. Nothing is read when no rule has a source."""
    sources = settings.scoring.sources if settings.scoring is not None else frozenset()
    counts: dict[PenaltySource, Mapping[str, float]] = {}
    refs = [UnitRef(u.code, c.code) for c in clusters for u in _members(settings, c)]
    if sources & _LATENESS:
        tallies = rates_by_unit(await gather_rates(tx, settings, refs, period, now))
        counts.update(_lateness(tallies, sources))
    if PenaltySource.RETURNED in sources:
        units = [ref.unit for ref in refs]
        counts[PenaltySource.RETURNED] = await penalties.returned(
            tx, units, period.start, period.end
        )
    return counts


def _lateness(tallies: Mapping[str, Tally], sources: frozenset[PenaltySource]) -> Counts:
    """Late and missing reports per unit, from each unit's reporting tally."""
    counts: dict[PenaltySource, Mapping[str, float]] = {}
    if PenaltySource.LATE in sources:
        counts[PenaltySource.LATE] = {u: t.late for u, t in tallies.items()}
    if PenaltySource.MISSING in sources:
        counts[PenaltySource.MISSING] = {u: t.missing for u, t in tallies.items()}
    return counts


def _target_keys(period: Period) -> list[str]:
    """The period's own targets, and the year's (pro-rated where the period has none)."""
    return list(dict.fromkeys([period.key, f"{period.year:04d}"]))


def _scored(
    settings: HandlerSettings,
    clusters: Sequence[Cluster],
    period: Period,
    today: dt.date,
    totals: Mapping[tuple[str, str], float],
    found: Sequence[Target],
    *,
    counts: Counts,
) -> list[ClusterStandings]:
    assert settings.scoring is not None  # checked by the callers before reading
    targets = targets_for_period(found, period)
    pace = progress(period, today) if settings.pro_rate else None
    items = settings.scoring.items_from(counts)
    out: list[ClusterStandings] = []
    by_unit = _by_unit(targets) if len(clusters) > 1 else None
    for cluster in clusters:
        units = _members(settings, cluster)
        own = targets if by_unit is None else _own_targets(by_unit, targets.share, cluster)
        standings = score_cluster(
            units,
            totals,
            targets.values,
            settings.scoring,
            progress=pace,
            from_year=targets.from_year,
            items=items,
        )
        out.append(ClusterStandings(cluster, period, standings, units, own))
    return out


_Pairs = dict[str, tuple[list[tuple[tuple[str, str], float]], list[tuple[tuple[str, str], float]]]]


def _by_unit(targets: PeriodTargets) -> _Pairs:
    """The targets and the year's they come from, per unit."""
    out: _Pairs = {}
    for key, value in targets.values.items():
        out.setdefault(key[0], ([], []))[0].append((key, value))
    for key, value in targets.from_year.items():
        out.setdefault(key[0], ([], []))[1].append((key, value))
    return out


def _own_targets(by_unit: _Pairs, share: Fraction, cluster: Cluster) -> PeriodTargets:
    """The targets of the cluster's own members: what the cluster computed alone has, so a
    cluster computed again alone (the memo) is the same as computed with the others."""
    values: dict[tuple[str, str], float] = {}
    from_year: dict[tuple[str, str], float] = {}
    for member in cluster.members:
        found = by_unit.get(member.unit)
        if found is not None:
            values.update(found[0])
            from_year.update(found[1])
    return PeriodTargets(values, from_year, share)


async def reporting_rates(
    tx: Tx, settings: HandlerSettings, result: ClusterStandings, now: dt.datetime
) -> dict[str, Tally]:
    """Per unit: the reporting rate over the period (the one definition, usecases.rates)."""
    return await _rates(tx, settings, result.cluster, result.units, result.period, now)


async def _rates(
    tx: Tx,
    settings: HandlerSettings,
    cluster: Cluster,
    units: Sequence[Unit],
    period: Period,
    now: dt.datetime,
) -> dict[str, Tally]:
    refs = [UnitRef(u.code, cluster.code) for u in units]
    return rates_by_unit(await gather_rates(tx, settings, refs, period, now))


async def with_rates(
    tx: Tx, settings: HandlerSettings, code: str, period: Period, now: dt.datetime
) -> tuple[ClusterStandings, dict[str, Tally]]:
    """A cluster's ranking and each unit's reporting rate: the whole of /standings but the
    access check and the words. Kept in the database's memo (storage.memo) while the
    cluster's stamp, read first, is the same and nothing falls due (`steady_span`)."""
    memo = _memo(tx, period)
    if memo is None:
        return await fresh_with_rates(tx, settings, code, period, now)
    stamp = await memo_repo.cluster_stamp(tx, code, period.year)
    key = ("with_rates", id(settings), code, period)
    kept: tuple[ClusterStandings, dict[str, Tally]] | None = _kept(memo, key, settings, stamp, now)
    if kept is None:
        kept = await fresh_with_rates(tx, settings, code, period, now)
        start, end = steady_span(settings.obligations, period, now, settings.tz)
        memo.put(key, _Kept(settings, stamp, start, end, kept))
    return kept


async def fresh_with_rates(
    tx: Tx, settings: HandlerSettings, code: str, period: Period, now: dt.datetime
) -> tuple[ClusterStandings, dict[str, Tally]]:
    """`with_rates` computed afresh, never from the memo. The cluster, its totals and
    targets, its first reports and declarations are read in three queries sent together
    (one round trip), naming the members before they are known (storage.totals.Members)."""
    if settings.scoring is None:
        raise UserInputError("standings.no_scoring")
    members = Members(code, period.year)
    sources = settings.scoring.sources
    cluster, read, found, *returned = await tx.together(
        org.cluster(tx, code, period.year),
        standings_repo.totals_and_targets(
            tx,
            settings.measures,
            members,
            period.start,
            period.end,
            _target_keys(period),
            accepted_only=_accepted_only(settings),
        ),
        rates.submitted(tx, settings, members, period, now),
        *(
            [penalties.returned(tx, members, period.start, period.end)]
            if PenaltySource.RETURNED in sources
            else []
        ),
    )
    if cluster is None:
        raise UserInputError("standings.no_cluster", year=period.year)
    today = now.astimezone(settings.tz).date()
    refs = [UnitRef(u.code, cluster.code) for u in _members(settings, cluster)]
    tallies = rates_by_unit(rates.judged(settings, refs, period, now, found))
    counts = dict(_lateness(tallies, sources))
    if returned:
        counts[PenaltySource.RETURNED] = returned[0]
    scored = _scored(settings, [cluster], period, today, *read, counts=counts)[0]
    return await _with_review(tx, settings, scored), tallies


async def _asked_code(tx: Tx, caller: Caller, action: Action, year: int) -> str:
    """The code of the cluster a request is about (a linked group's, else the one the person
    leads this year, else their unit's in `year`), if the policy lets the caller do
    `action` on it."""
    require_role(caller, action)
    caller = await in_year(tx, caller, year)
    target = cluster_target(caller)
    if target.cluster is None and caller.actor.person_id is not None:
        raise UserInputError("standings.no_cluster", year=year)
    require(caller, action, target)
    if target.cluster is None:
        raise UserInputError("standings.no_cluster", year=year)
    return target.cluster


async def asked_cluster(tx: Tx, caller: Caller, action: Action, year: int) -> Cluster:
    """The cluster `_asked_code` names, read."""
    code = await _asked_code(tx, caller, action, year)
    cluster = await org.cluster(tx, code, year)
    if cluster is None:
        raise UserInputError("standings.no_cluster", year=year)
    return cluster


async def of_cluster(
    tx: Tx, caller: Caller, settings: HandlerSettings, period: Period, now: dt.datetime
) -> tuple[ClusterStandings, dict[str, Tally]]:
    """/standings: the ranking of the cluster asked about, with each unit's reporting rate."""
    code = await _asked_code(tx, caller, Action.VIEW_CLUSTER_STANDINGS, period.year)
    return await with_rates(tx, settings, code, period, now)


async def every_cluster(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    period: Period,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> list[ClusterStandings]:
    """/standings all: every cluster's ranking of `period`'s year (admins)."""
    require(caller, Action.VIEW_ALL_STANDINGS, caller.target(federation=True))
    clusters = await org.clusters(tx, period.year)
    return await compute_clusters(tx, settings, clusters, period, today, now=now)


@dataclass(frozen=True, slots=True)
class IndicatorTotals:
    """One indicator's measures, per unit of a cluster, over a period."""

    cluster: Cluster
    period: Period
    measures: tuple[MeasureDef, ...]
    units: tuple[str, ...]  # ranked by the first measure, then by name
    totals: dict[tuple[str, str], float]  # (unit, measure) → total


async def of_indicator(
    tx: Tx, caller: Caller, settings: HandlerSettings, indicator: str, period: Period
) -> IndicatorTotals:
    """/standings <indicator>: the cluster's units ranked by one indicator's first measure."""
    cluster = await asked_cluster(tx, caller, Action.VIEW_CLUSTER_STANDINGS, period.year)
    measures = tuple(m for m in settings.measures if m.indicator == indicator)
    codes = [m.unit for m in cluster.members]
    totals = await standings_repo.measure_totals(
        tx, measures, codes, period.start, period.end, accepted_only=_accepted_only(settings)
    )
    first = measures[0].code if measures else ""

    def name(code: str) -> str:
        unit = settings.units.get(code)
        return fold(unit.name if unit else code)

    ranked = sorted(codes, key=lambda u: (-totals.get((u, first), 0.0), name(u)))
    return IndicatorTotals(cluster, period, measures, tuple(ranked), totals)


@dataclass(frozen=True, slots=True)
class UnitProgress:
    """One unit's totals per measure this year against its targets."""

    unit: str
    period: Period
    totals: dict[tuple[str, str], float]
    targets: dict[tuple[str, str], float]
    progress: float | None  # the share of the year gone (None: no pro-rating)


async def of_unit(
    tx: Tx, caller: Caller, settings: HandlerSettings, typed: str, today: dt.date
) -> UnitProgress:
    """/unit [code or name]: one unit's progress this year (default: the caller's own)."""
    require_role(caller, Action.VIEW_UNIT)
    code = unit_code(settings.units, typed) if typed.strip() else caller.actor.unit
    assert code is not None  # VIEW_UNIT is for registered people only
    period = Period(PeriodKind.YEAR, today.year, 1)
    their_cluster = await org.cluster_of(tx, code, today.year)
    about = caller.target(unit=code, cluster=their_cluster.code if their_cluster else None)
    require(caller, Action.VIEW_UNIT, about)
    totals = await standings_repo.measure_totals(
        tx,
        settings.measures,
        [code],
        period.start,
        period.end,
        accepted_only=_accepted_only(settings),
    )
    found = await targets_repo.for_period(tx, period.key, [code])
    targets = targets_for_period(found, period).values
    share = progress(period, today) if settings.pro_rate else None
    return UnitProgress(code, period, totals, dict(targets), share)


async def why(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    cluster_code: str,
    period: Period,
    unit: str,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> UnitStanding:
    """ "Vì sao?": one unit's row of a cluster's ranking (its per-criterion breakdown)."""
    asking = await in_year(tx, caller, period.year)
    require(asking, Action.VIEW_CLUSTER_STANDINGS, asking.target(cluster=cluster_code))
    cluster = await org.cluster(tx, cluster_code, period.year)
    if cluster is None:
        raise UserInputError("err.stale_button")
    row = (await compute(tx, settings, cluster, period, today, now=now)).standings.of(unit)
    if row is None:
        raise UserInputError("err.stale_button")
    return row


def _person_id(caller: Caller) -> int:
    if caller.actor.person_id is None:
        raise AccessDenied("err.not_registered")
    return caller.actor.person_id


async def subscribe(tx: Tx, caller: Caller, now: dt.datetime) -> tuple[Cluster, bool]:
    """/subscribe: the cluster's scheduled posts in private too; False if already."""
    person_id = _person_id(caller)
    assert caller.actor.unit is not None
    cluster = await org.cluster_of(tx, caller.actor.unit, caller.year)
    if cluster is None:
        raise UserInputError("standings.no_cluster", year=caller.year)
    about = caller.target(unit=caller.actor.unit, cluster=cluster.code)
    require(caller, Action.VIEW_CLUSTER_STANDINGS, about)
    return cluster, await people.subscribe_posts(tx, person_id, now)


async def unsubscribe(tx: Tx, caller: Caller) -> bool:
    """/unsubscribe: no more private posts; False if there were none."""
    return await people.unsubscribe_posts(tx, _person_id(caller))


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets one cluster's scheduled standings post: (channel, chat, language) each."""

    cluster: Cluster
    chats: tuple[tuple[str, str, str], ...]


async def post_audiences(tx: Tx, settings: HandlerSettings, year: int) -> list[Audience]:
    """Per cluster of `year`: its linked group chats (in the default language) and each
    member who asked for posts (/subscribe), on their preferred messenger, in their
    language. Clusters nobody would read are left out."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for channel, chat_id, code in await targets_repo.groups(tx):
        groups.setdefault(code, []).append((channel, chat_id))
    out: list[Audience] = []
    for code in await org.cluster_codes(tx, year):
        cluster = await org.cluster(tx, code, year)
        if cluster is None:
            continue
        readers = await people.post_subscribers(tx, [m.unit for m in cluster.members])
        chats = [(ch, chat, settings.default_language.value) for ch, chat in groups.get(code, [])]
        for person in readers:
            accounts = await people.channels_of(tx, person.id)
            if accounts:  # the preferred messenger, in the person's language
                chats.append((accounts[0][0], accounts[0][1], person.language.value))
        if chats:
            out.append(Audience(cluster, tuple(chats)))
    return out
