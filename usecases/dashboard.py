"""What the web dashboard asks that the chat asks differently: a cluster named in the URL
(the chat answers about the person's own), the clusters a person may pick from.

Every function asks the one policy with the caller, so a cluster head who edits the URL
to another cluster is refused (AccessDenied) exactly as in the chat.
"""

from __future__ import annotations

import datetime as dt

from domain.access import Action
from domain.errors import UserInputError
from domain.models import Cluster
from domain.obligations import Tally
from domain.periods import Period
from domain.settings import HandlerSettings
from storage import org
from storage.db import Tx
from usecases import standings
from usecases.access import Caller, allowed, in_year, require, require_role
from usecases.standings import ClusterStandings


async def visible_clusters(tx: Tx, caller: Caller, action: Action, year: int) -> list[Cluster]:
    """The clusters of `year` the caller may do `action` on (the period switch's choices)."""
    require_role(caller, action)
    asked = await in_year(tx, caller, year)
    return [
        c
        for c in await org.clusters(tx, year)
        if allowed(asked, action, asked.target(cluster=c.code))
    ]


async def cluster_standings(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    code: str,
    period: Period,
    now: dt.datetime,
) -> tuple[ClusterStandings, dict[str, Tally]]:
    """The ranking of cluster `code` (empty: the person's own, as /standings), if allowed."""
    if not code:
        return await standings.of_cluster(tx, caller, settings, period, now)
    asked = await in_year(tx, caller, period.year)
    require(asked, Action.VIEW_CLUSTER_STANDINGS, asked.target(cluster=code))
    return await standings.with_rates(tx, settings, code, period, now)


async def export_cluster(tx: Tx, caller: Caller, code: str, year: int) -> Cluster:
    """The cluster whose workbook is asked for, if the caller may export it."""
    if not code:
        return await standings.asked_cluster(tx, caller, Action.EXPORT, year)
    asked = await in_year(tx, caller, year)
    require(asked, Action.EXPORT, asked.target(cluster=code))
    found = await org.cluster(tx, code, year)
    if found is None:
        raise UserInputError("standings.no_cluster", year=year)
    return found
