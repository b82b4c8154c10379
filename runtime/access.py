"""The chat's side of the access policy: the caller of this update (who, from which chat).

The use cases decide (usecases.access, domain.access); this only says who is
asking from where, looked up once per update and year asked about.
"""

from __future__ import annotations

from domain.access import Action
from domain.messages import ChatType
from runtime.context import Ctx
from usecases import access
from usecases.access import Caller


async def caller(ctx: Ctx, year: int | None = None) -> Caller:
    """The person of this update and the chat they ask from, about `year` (default: this)."""
    this_year = ctx.today.year
    year = year or this_year
    found = ctx.actors.get(year)
    if found is None:
        inbound = ctx.inbound
        in_group = inbound.chat_type == ChatType.GROUP
        group = (
            await access.group_cluster(ctx.tx, inbound.channel, inbound.chat_id)
            if in_group
            else None
        )
        actor = await access.actor_of(ctx.tx, ctx.person, this_year, year)
        found = ctx.actors[year] = Caller(actor, year, in_group, group)
    return found


async def require_role(ctx: Ctx, action: Action) -> None:
    """The router's first gate: refuse people none of whose roles could ever do this."""
    access.require_role(await caller(ctx), action)
