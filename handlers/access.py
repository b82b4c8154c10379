"""Transitional: the chat's access calls of the handlers not yet moved to use cases.

The caller is runtime.access's; the check is usecases.access's (the one policy).
"""

from __future__ import annotations

from domain.access import Action, Actor, Decision, Target, decide
from runtime.access import caller
from runtime.context import Ctx
from usecases import access as uc_access


async def actor(ctx: Ctx, year: int | None = None) -> Actor:
    return (await caller(ctx, year)).actor


async def group_cluster(ctx: Ctx) -> str | None:
    return (await caller(ctx)).group_cluster


async def check(ctx: Ctx, action: Action, target: Target, year: int | None = None) -> Decision:
    return decide(await actor(ctx, year), action, target)


async def require(ctx: Ctx, action: Action, target: Target, year: int | None = None) -> None:
    uc_access.require(await caller(ctx, year), action, target)


async def cluster_target(ctx: Ctx, year: int | None = None) -> Target:
    return uc_access.cluster_target(await caller(ctx, year))
