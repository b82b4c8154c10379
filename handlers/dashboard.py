"""/web: a one-time link that signs the person in to the dashboard (web/), for the roles
that have pages. The link is shown once: the stored copy of the message has it masked."""

from __future__ import annotations

from domain.access import Action
from domain.errors import UserInputError
from runtime import access
from runtime.context import Ctx
from runtime.routes import LEADERS, Command, Feature, HelpEntry
from usecases import websignin

MASKED = "…"


async def web_cmd(ctx: Ctx) -> None:
    url = ctx.settings.web_url
    if url is None:
        raise UserInputError("web.off")
    token = await websignin.new_link(ctx.tx, await access.caller(ctx), ctx.now)
    minutes = int(websignin.LINK_LIFETIME.total_seconds() // 60)
    shown = ctx.t("web.link", link=f"{url}/app/login?t={token}", minutes=minutes)
    ctx.reply(shown, after_delivery=ctx.t("web.link", link=MASKED, minutes=minutes))


FEATURE = Feature(
    name="dashboard",
    commands={"web": Command(web_cmd, Action.WEB, menu=LEADERS)},
    help=(HelpEntry("help.web", 45, Action.WEB),),
)
