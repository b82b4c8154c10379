"""/web: a one-time link that signs the person in to the dashboard (web/), for the roles
that have pages. The link is shown once: the stored copy of the message has it masked.
Every night the links and sessions that ended are forgotten (`web_purge`)."""

from __future__ import annotations

import datetime as dt
import logging

from domain.access import Action
from domain.errors import UserInputError
from domain.messages import OutboxItem
from runtime import access
from runtime.context import Ctx
from runtime.routes import LEADERS, Command, Feature, HelpEntry, ScheduledJob, Work
from usecases import Tx, websignin

MASKED = "…"

log = logging.getLogger(__name__)


async def web_cmd(ctx: Ctx) -> None:
    url = ctx.settings.web_url
    if url is None:
        raise UserInputError("web.off")
    token = await websignin.new_link(ctx.tx, await access.caller(ctx), ctx.now)
    minutes = int(websignin.LINK_LIFETIME.total_seconds() // 60)
    shown = ctx.t("web.link", link=f"{url}/app/login?t={token}", minutes=minutes)
    ctx.reply(shown, after_delivery=ctx.t("web.link", link=MASKED, minutes=minutes))


async def purge(tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None) -> list[OutboxItem]:
    """The nightly purge, at the firing's time (the scheduler's clock): a failure is the
    scheduler's to log, and the next tick tries again."""
    removed = await websignin.purge(tx, fire_at)
    if removed:
        log.info("web: forgot %d ended sign-in links and sessions", removed)
    return []


FEATURE = Feature(
    name="dashboard",
    commands={"web": Command(web_cmd, Action.WEB, menu=LEADERS)},
    help=(HelpEntry("help.web", 45, Action.WEB),),
    jobs=(
        ScheduledJob(
            "web_purge", cron=lambda settings: "17 3 * * *", make=lambda s, t: Work(purge)
        ),
    ),
)
