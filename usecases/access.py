"""Who is asking, as the one access policy (`domain.access`) sees them, and the check
every use case makes.

A `Caller` is the actor (this year's head and deputy roles, from the cluster
membership) plus where the request comes from: a private chat, or a group
chat and the cluster it is linked to (a group is only ever answered about its
own cluster, whoever asks). The chat builds one per update (runtime.access),
the command line uses `operator`, the web dashboard will build one per session.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from domain.access import Action, Actor, ActorRole, Target, actor_for, decide, may_ever
from domain.errors import AccessDenied, UserInputError
from domain.models import Cluster, Person
from storage import org
from storage import targets as targets_repo
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Caller:
    """The actor and the chat they ask from. `year` is the year `actor.cluster` is of."""

    actor: Actor
    year: int
    in_group: bool = False
    group_cluster: str | None = None  # the cluster a group chat is linked to (None: unlinked)

    def target(
        self,
        *,
        unit: str | None = None,
        cluster: str | None = None,
        federation: bool = False,
        author: int | None = None,
    ) -> Target:
        """What a request is about, from where it is asked."""
        return Target(
            unit=unit,
            cluster=cluster,
            federation=federation,
            author=author,
            in_group=self.in_group,
            group_cluster=self.group_cluster,
        )


OPERATOR = Caller(Actor(ActorRole.ADMIN), year=0)
"""The command line's caller: whoever runs `thidua` on the server already holds the
database file, so the policy sees an admin (scope: any). No unit, so no year's cluster."""


async def actor_of(tx: Tx, person: Person | None, this_year: int, year: int | None = None) -> Actor:
    """The person as the policy sees them: head/deputy roles of `this_year`, and their
    unit's cluster in `year` (default: this year)."""
    if person is None:
        return actor_for(None, None, {})
    unit = person.unit_code
    # Only the person's own unit counts (actor_for looks up nothing else): one indexed row
    # per year, not the federation's whole membership on every update.
    found = await org.membership(tx, this_year, unit)
    memberships = {unit: found} if found is not None else {}
    asked = None
    if year is not None and year != this_year:
        then = await org.membership(tx, year, unit)
        asked = {unit: then} if then is not None else {}
    return actor_for(person.role, unit, memberships, asked, person.id)


async def group_cluster(tx: Tx, channel: str, chat_id: str) -> str | None:
    """The cluster a group chat is linked to (None when it is not)."""
    return await targets_repo.group_cluster(tx, channel, chat_id)


async def in_year(tx: Tx, caller: Caller, year: int) -> Caller:
    """The same caller asking about `year`: their unit's cluster is that year's membership
    (head and deputy roles stay this year's: heads rotate yearly)."""
    actor = caller.actor
    if year == caller.year or actor.unit is None:
        return caller
    found = await org.membership(tx, year, actor.unit)
    cluster = found[0] if found else None
    return dataclasses.replace(caller, actor=dataclasses.replace(actor, cluster=cluster), year=year)


def allowed(caller: Caller, action: Action, target: Target) -> bool:
    return decide(caller.actor, action, target).allowed


def require(caller: Caller, action: Action, target: Target, **params: Any) -> None:
    """Refuse (AccessDenied: the reason the policy names, with `params`) unless allowed."""
    decision = decide(caller.actor, action, target)
    if not decision.allowed:
        raise AccessDenied(decision.reason, **params)


def require_role(caller: Caller, action: Action) -> None:
    """The first gate: refuse people none of whose roles could ever do `action`."""
    decision = may_ever(caller.actor, action)
    if not decision.allowed:
        raise AccessDenied(decision.reason)


def can_ever(caller: Caller, action: Action) -> bool:
    """Whether some target exists on which the caller may do `action` (what help lists)."""
    return may_ever(caller.actor, action).allowed


def cluster_target(caller: Caller) -> Target:
    """The cluster a request is about when none is named: in a linked group the group's
    cluster (whoever asks), in private the one the person leads this year, else their
    unit's (of `caller.year`)."""
    if caller.in_group:
        if caller.group_cluster is None:
            raise UserInputError("standings.group_not_linked")
        return caller.target(cluster=caller.group_cluster)
    led = sorted(caller.actor.led)
    return caller.target(unit=caller.actor.unit, cluster=led[0] if led else caller.actor.cluster)


async def cluster_or_all(
    tx: Tx, caller: Caller, action: Action, year: int, cluster: str | None = None
) -> Cluster | None:
    """The cluster a dashboard page is about: the one named, if the policy lets the caller
    do `action` on it; unnamed, every unit (None) for those allowed on the whole federation
    (admins), else the cluster the person leads this year."""
    require_role(caller, action)
    if cluster is None:
        if allowed(caller, action, caller.target(federation=True)):
            return None
        led = sorted(caller.actor.led)
        if not led:
            raise AccessDenied("err.cluster_heads_only")
        cluster = led[0]
    require(caller, action, caller.target(cluster=cluster))
    found = await org.cluster(tx, cluster, year)
    if found is None:
        raise UserInputError("standings.no_cluster", year=year)
    return found
