"""Which handler answers an update: commands, menu buttons, button presses, free text.

The routing table is data (COMMANDS); the rules around it (registration,
group chats, idle expiry, stale buttons) are applied here once for every flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.errors import UserInputError
from domain.messages import ChatType, InboundKind
from domain.models import DEFAULT_MAX_LENGTH
from domain.text import fold
from handlers import myreports, onboarding, reminders, report, standings
from handlers.callbacks import Action, CallbackData
from handlers.context import Ctx
from handlers.states import Flow

Handler = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    handler: Handler
    registered: bool = True
    private_only: bool = True
    starts_flow: bool = False


async def _report(ctx: Ctx) -> None:
    await report.start(ctx)


async def _quick(ctx: Ctx) -> None:
    text = ctx.inbound.args.strip()
    if not text:
        raise UserInputError("quick.usage")
    if not await report.quick(ctx, text):
        raise UserInputError("quick.not_understood")


async def _cancel(ctx: Ctx) -> None:
    await report.cancel(ctx)


async def _back(ctx: Ctx) -> None:
    await report.back(ctx)


async def _retract(ctx: Ctx) -> None:
    await myreports.ask_retract(ctx, ctx.inbound.args)


async def _edit(ctx: Ctx) -> None:
    await myreports.edit(ctx, ctx.inbound.args)


COMMANDS: dict[str, Command] = {
    "start": Command(onboarding.start, registered=False),
    "help": Command(onboarding.help_, registered=False, private_only=False),
    "lang": Command(onboarding.lang, registered=False),
    "link": Command(onboarding.link, registered=False),
    "channel": Command(onboarding.channel),
    "report": Command(_report, starts_flow=True),
    "quick": Command(_quick, starts_flow=True),
    "cancel": Command(_cancel, registered=False),
    "back": Command(_back),
    "myreports": Command(myreports.show, starts_flow=True),
    "retract": Command(_retract, starts_flow=True),
    "edit": Command(_edit, starts_flow=True),
    "deadlines": Command(reminders.deadlines),
    "missing": Command(reminders.missing, private_only=False),
    "completeness": Command(reminders.completeness_cmd, private_only=False),
    "mute": Command(reminders.mute),
    "unmute": Command(reminders.unmute),
    "standings": Command(standings.standings_cmd, registered=False, private_only=False),
    "unit": Command(standings.unit_cmd),
    "linkgroup": Command(standings.linkgroup, private_only=False),
    "export": Command(standings.export_cmd, private_only=False),
    "target": Command(standings.target_cmd),
}

MENU = {
    "menu.report": "report",
    "menu.myreports": "myreports",
    "menu.standings": "standings",
    "menu.help": "help",
}


def _menu_command(ctx: Ctx, text: str) -> str | None:
    folded = fold(text)
    for key, command in MENU.items():
        if folded in {fold(ctx.translate(lang, key)) for lang in ("vi", "en")}:
            return command
    return None


async def route(ctx: Ctx) -> None:
    inbound = ctx.inbound
    conv = ctx.conversation
    if inbound.chat_type == ChatType.GROUP:
        await _group(ctx)
        return
    if inbound.kind == InboundKind.EDITED:
        raise UserInputError("err.edited")

    command = inbound.command if inbound.kind == InboundKind.COMMAND else None
    if command is None and inbound.kind == InboundKind.TEXT:
        command = _menu_command(ctx, inbound.text)
    if command is not None:
        await _command(ctx, command)
        return

    if inbound.kind == InboundKind.CHOICE:
        await _choice(ctx)
        return

    if conv is not None and conv.flow == Flow.REPORT:
        if ctx.person is None:
            ctx.end_state()
            raise UserInputError("err.not_registered")
        await report.on_message(ctx)
        return

    if inbound.kind == InboundKind.TEXT:
        if ctx.person is None:
            raise UserInputError("err.not_registered")
        if len(inbound.text) > DEFAULT_MAX_LENGTH:
            raise UserInputError("err.message_too_long", max=DEFAULT_MAX_LENGTH)
        if not await report.quick(ctx, inbound.text):
            ctx.reply(ctx.t("quick.not_understood"), menu=True)
        return
    if inbound.kind == InboundKind.PHOTO:
        raise UserInputError("err.photo_without_report")
    raise UserInputError("err.unsupported")


async def ask_again(ctx: Ctx) -> None:
    """Render the open question of the person's conversation again (after an error reply)."""
    conv = ctx.conversation
    if conv is None or ctx.person is None:
        return
    if conv.flow == Flow.REPORT:
        report.ask_again(ctx)
    elif conv.flow == Flow.MYREPORTS:
        await myreports.ask_again(ctx)


async def _command(ctx: Ctx, name: str) -> None:
    command = COMMANDS.get(name)
    if command is None:
        raise UserInputError("err.unknown_command", command=name[:32])
    if command.registered and ctx.person is None:
        raise UserInputError("err.not_registered")
    conv = ctx.conversation
    if command.starts_flow and conv is not None and conv.flow == Flow.REPORT:
        ctx.reply(ctx.t("report.abandoned"))
    await command.handler(ctx)


async def _group(ctx: Ctx) -> None:
    """In a group the bot answers commands only, and never starts a report there."""
    inbound = ctx.inbound
    if inbound.kind == InboundKind.CHOICE and inbound.choice.startswith(f"{standings.PREFIX}:"):
        await standings.on_button(ctx)
        return
    if inbound.kind != InboundKind.COMMAND:
        return
    command = COMMANDS.get(inbound.command)
    if command is None:
        return
    if command.private_only:
        link = f"https://t.me/{ctx.settings.bot_username}" if ctx.settings.bot_username else ""
        ctx.reply(ctx.t("group.private_only", link=link))
        return
    await command.handler(ctx)


async def _choice(ctx: Ctx) -> None:
    if reminders.unpack(ctx.inbound.choice) is not None:
        await reminders.on_button(ctx)
        return
    if ctx.inbound.choice.startswith(f"{standings.PREFIX}:"):
        await standings.on_button(ctx)
        return
    cb = CallbackData.unpack(ctx.inbound.choice)
    conv = ctx.conversation
    if cb is None or conv is None or conv.flow_id != cb.flow_id:
        raise UserInputError("err.stale_button")
    if ctx.person is None:
        raise UserInputError("err.not_registered")
    if conv.flow == Flow.DONE:
        if cb.action == Action.SAVE and "report_id" in conv.data:
            raise UserInputError("report.already_saved", id=conv.data["report_id"])
        raise UserInputError("err.stale_button")
    if conv.flow == Flow.REPORT:
        await report.on_choice(ctx, cb)
    elif conv.flow == Flow.MYREPORTS:
        await myreports.on_choice(ctx, cb)
    else:
        raise UserInputError("err.stale_button")
