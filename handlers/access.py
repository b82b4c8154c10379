"""The chat's side of the access policy: who is asking (this year's roles), about what.

Handlers never compare roles themselves: they build a `Target` and call
`require`, which asks `domain.access.decide` and turns a refusal into the
polite message the policy names.
"""

from __future__ import annotations

from domain.access import Action, Actor, Decision, Target, actor_for, decide, may_ever
from domain.errors import UserInputError
from domain.messages import ChatType
from runtime.context import Ctx
from storage import org
from storage import targets as targets_repo


async def actor(ctx: Ctx, year: int | None = None) -> Actor:
    """The person as the policy sees them: head/deputy roles of the current year, and
    their unit's cluster in `year` (default: this year)."""
    year = year or ctx.today.year
    found = ctx.actors.get(year)
    if found is None:
        person = ctx.person
        this_year = await org.memberships(ctx.tx, ctx.today.year) if person else {}
        asked = await org.memberships(ctx.tx, year) if person and year != ctx.today.year else None
        found = ctx.actors[year] = actor_for(
            person.role if person else None,
            person.unit_code if person else None,
            this_year,
            asked,
            person.id if person else None,
        )
    return found


async def group_cluster(ctx: Ctx) -> str | None:
    """The cluster a group chat is linked to (None in a private chat or an unlinked group)."""
    if ctx.inbound.chat_type != ChatType.GROUP:
        return None
    return await targets_repo.group_cluster(ctx.tx, ctx.inbound.channel, ctx.inbound.chat_id)


async def check(ctx: Ctx, action: Action, target: Target, year: int | None = None) -> Decision:
    return decide(await actor(ctx, year), action, target)


async def require(ctx: Ctx, action: Action, target: Target, year: int | None = None) -> None:
    """Refuse politely unless the policy allows `action` on `target` (about `year`)."""
    decision = await check(ctx, action, target, year)
    if not decision.allowed:
        raise UserInputError(decision.reason)


async def require_role(ctx: Ctx, action: Action) -> None:
    """The first gate (the router's): refuse people none of whose roles could ever do this."""
    decision = may_ever(await actor(ctx), action)
    if not decision.allowed:
        raise UserInputError(decision.reason)


async def cluster_target(ctx: Ctx, year: int | None = None) -> Target:
    """The cluster a command is about when none is named: in a linked group the group's
    cluster (whoever asks), in a private chat the one the person leads this year, else
    their unit's."""
    if ctx.inbound.chat_type == ChatType.GROUP:
        code = await group_cluster(ctx)
        if code is None:
            raise UserInputError("standings.group_not_linked")
        return Target(cluster=code, in_group=True, group_cluster=code)
    who = await actor(ctx, year)
    led = sorted(who.led)
    return Target(unit=who.unit, cluster=led[0] if led else who.cluster)
