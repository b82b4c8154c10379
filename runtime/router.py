"""Which handler answers an update: commands, menu buttons, button presses, free text.

The routing table is data (COMMANDS); the rules around it (registration,
group chats, idle expiry, stale buttons) are applied here once for every flow.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from domain.access import Action as Can
from domain.access import ActorRole
from domain.errors import UserInputError
from domain.messages import ChatAction, ChatType, Inbound, InboundKind
from domain.models import DEFAULT_MAX_LENGTH
from domain.text import fold
from handlers import myreports, onboarding, people_admin, reminders, report, standings
from runtime import access
from runtime.callbacks import Action, CallbackData
from runtime.context import Ctx, Translator
from runtime.states import Flow, Step

Handler = Callable[[Ctx], Awaitable[None]]

Audience = frozenset[ActorRole]
"""Who sees a command in the messenger's command menu, in the access policy's roles (this
year's heads and deputies from the cluster membership); always a subset of who may use it."""
GUESTS: Audience = frozenset({ActorRole.UNREGISTERED})
REGISTERED: Audience = frozenset(ActorRole) - GUESTS
ANYONE: Audience = frozenset(ActorRole)
LEADERS: Audience = frozenset({ActorRole.CLUSTER_HEAD, ActorRole.CLUSTER_DEPUTY, ActorRole.ADMIN})
CHAIRS: Audience = LEADERS | {ActorRole.CHAIR}
ADMINS: Audience = frozenset({ActorRole.ADMIN})


@dataclass(frozen=True, slots=True)
class Command:
    """A command and the action of the access policy it performs (checked before the handler
    runs; the handler checks the concrete unit or cluster it is asked about)."""

    handler: Handler
    action: Can
    private_only: bool = True
    starts_flow: bool = False
    menu: Audience = frozenset()
    """Listed in the command menu of these people (described by `cmd.<name>` in the catalog)."""
    #: A slow answer: the indicator the person sees while it is made.
    indicator: ChatAction | None = None


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
    "start": Command(onboarding.start, Can.START, menu=GUESTS),
    "help": Command(onboarding.help_, Can.HELP, private_only=False, menu=ANYONE),
    "lang": Command(onboarding.lang, Can.LANG, menu=ANYONE),
    "link": Command(onboarding.link, Can.LINK),
    "channel": Command(onboarding.channel, Can.CHANNEL),
    "report": Command(_report, Can.REPORT, starts_flow=True, menu=REGISTERED),
    "quick": Command(_quick, Can.REPORT, starts_flow=True, menu=REGISTERED),
    "cancel": Command(_cancel, Can.CANCEL, menu=REGISTERED),
    "back": Command(_back, Can.REPORT, menu=REGISTERED),
    "myreports": Command(myreports.show, Can.REPORT, starts_flow=True, menu=REGISTERED),
    "retract": Command(_retract, Can.REPORT, starts_flow=True),
    "edit": Command(_edit, Can.REPORT, starts_flow=True),
    "deadlines": Command(reminders.deadlines, Can.DEADLINES, menu=REGISTERED),
    "missing": Command(reminders.missing, Can.MISSING, private_only=False, menu=LEADERS),
    "completeness": Command(
        reminders.completeness_cmd, Can.COMPLETENESS, private_only=False, menu=LEADERS
    ),
    "mute": Command(reminders.mute, Can.MUTE),
    "unmute": Command(reminders.unmute, Can.MUTE),
    "standings": Command(
        standings.standings_cmd,
        Can.VIEW_CLUSTER_STANDINGS,
        private_only=False,
        menu=LEADERS,
        indicator=ChatAction.UPLOAD_PHOTO,
    ),
    "unit": Command(standings.unit_cmd, Can.VIEW_UNIT, menu=CHAIRS, indicator=ChatAction.TYPING),
    "linkgroup": Command(standings.linkgroup, Can.LINKGROUP, private_only=False),
    "export": Command(
        standings.export_cmd,
        Can.EXPORT,
        private_only=False,
        menu=LEADERS,
        indicator=ChatAction.UPLOAD_DOCUMENT,
    ),
    "target": Command(standings.target_cmd, Can.SET_TARGET, menu=ADMINS),
    "people": Command(people_admin.people_cmd, Can.MANAGE_PEOPLE, menu=ADMINS),
    "menu": Command(onboarding.main_menu, Can.HELP),
    # Subscribing to the cluster's posts is seeing its standings, in private.
    "subscribe": Command(standings.subscribe, Can.VIEW_CLUSTER_STANDINGS, menu=REGISTERED),
    "unsubscribe": Command(standings.unsubscribe, Can.VIEW_CLUSTER_STANDINGS),
}

# Button data prefixes and the action a press performs; anything else is a form's button.
CALLBACKS: dict[str, Can] = {
    f"{reminders.PREFIX}:": Can.ANSWER_REMINDER,
    f"{standings.PREFIX}:": Can.VIEW_CLUSTER_STANDINGS,
}
FORM_BUTTONS = Can.REPORT

#: Words typed without a slash that run a command: each menu label (with or without its
#: icon and diacritics, in either language) and "menu".
MENU = {**{key: command for key, command in onboarding.MAIN_MENU}, "menu.menu": "menu"}
#: Typed alone where there are no buttons: the numbered main menu.
MENU_NUMBER = "0"

_NOT_WORD = re.compile(r"[^\w\s]")
_LANGS = ("vi", "en")


def menu_commands(
    roles: frozenset[ActorRole], lang: str, translate: Translator
) -> tuple[tuple[str, str], ...]:
    """The command menu of someone with these roles, in one language: (command, description).

    The commands only some roles have come first, those everyone has last.
    """
    shown = [
        (len(c.menu), i, name) for i, (name, c) in enumerate(COMMANDS.items()) if roles & c.menu
    ]
    return tuple((name, translate(lang, f"cmd.{name}")) for _, _, name in sorted(shown))


async def _attach_commands(ctx: Ctx) -> None:
    """A private reply that shows the menu keyboard also carries this person's command menu,
    so the messenger's menu follows registration, this year's role and language changes."""
    if ctx.inbound.chat_type != ChatType.PRIVATE:
        return
    commands: tuple[tuple[str, str], ...] | None = None
    for out in ctx.outgoing:
        if out.reply.menu and out.chat_id == ctx.inbound.chat_id:
            if commands is None:
                ctx.actors.clear()  # registration or /link may have changed who this is
                roles = (await access.caller(ctx)).actor.roles
                commands = menu_commands(roles, ctx.lang, ctx.translate)
            out.reply = replace(out.reply, commands=commands)


def _plain(text: str) -> str:
    """Folded, without icons or punctuation: "📋 Báo cáo của tôi" → "bao cao cua toi"."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())


def menu_command(translate: Translator, text: str) -> str | None:
    """The command a typed menu word means ("bao cao", "xếp hạng", "menu"), if any."""
    typed = _plain(text)
    if not typed:
        return None
    for key, command in MENU.items():
        if typed in {_plain(translate(lang, key)) for lang in _LANGS}:
            return command
    return None


def chat_action(inbound: Inbound, translate: Translator) -> ChatAction | None:
    """The indicator to show before handling `inbound`: set for slow commands only."""
    name: str | None = None
    if inbound.kind == InboundKind.COMMAND:
        name = inbound.command
    elif inbound.kind == InboundKind.TEXT:
        name = menu_command(translate, inbound.text)
    elif inbound.kind == InboundKind.CHOICE and inbound.choice.startswith(_MENU_CHOICE):
        name = inbound.choice.removeprefix(_MENU_CHOICE)
    command = COMMANDS.get(name) if name else None
    return command.indicator if command is not None else None


_MENU_CHOICE = f"{onboarding.MENU_PREFIX}:"


def _wants_menu_number(ctx: Ctx) -> bool:
    """ "0" alone is the main menu where choices are typed, unless a form field is asked
    (there 0 may be the answer)."""
    conv = ctx.conversation
    asking = conv is not None and conv.flow == Flow.REPORT and conv.step == Step.FIELD
    return not ctx.has_buttons and ctx.inbound.text.strip() == MENU_NUMBER and not asking


async def route(ctx: Ctx) -> None:
    await _route(ctx)
    await _attach_commands(ctx)


async def _route(ctx: Ctx) -> None:
    inbound = ctx.inbound
    conv = ctx.conversation
    if inbound.chat_type == ChatType.GROUP:
        await _group(ctx)
        return
    if ctx.deactivated is not None:
        ctx.end_state()
        raise UserInputError("people.you_are_deactivated")
    if inbound.kind == InboundKind.EDITED:
        raise UserInputError("err.edited")

    command = inbound.command if inbound.kind == InboundKind.COMMAND else None
    if command is None and inbound.kind == InboundKind.TEXT:
        command = menu_command(ctx.translate, inbound.text)
        if command is None and _wants_menu_number(ctx):
            command = "menu"
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
        await access.require_role(ctx, Can.REPORT)
        await report.on_message(ctx)
        return

    if inbound.kind == InboundKind.TEXT:
        await access.require_role(ctx, Can.REPORT)
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
    await access.require_role(ctx, command.action)
    conv = ctx.conversation
    if command.starts_flow and conv is not None and conv.flow == Flow.REPORT:
        ctx.reply(ctx.t("report.abandoned"))
    await command.handler(ctx)


async def _group(ctx: Ctx) -> None:
    """In a group the bot answers commands only, and never starts a report there."""
    inbound = ctx.inbound
    if inbound.kind == InboundKind.CHOICE and inbound.choice.startswith(f"{standings.PREFIX}:"):
        await access.require_role(ctx, Can.VIEW_CLUSTER_STANDINGS)
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
    await access.require_role(ctx, command.action)
    await command.handler(ctx)


async def _choice(ctx: Ctx) -> None:
    choice = ctx.inbound.choice
    if choice.startswith(_MENU_CHOICE):
        await _command(ctx, choice.removeprefix(_MENU_CHOICE))
        return
    if choice.startswith(f"{reminders.PREFIX}:"):
        await access.require_role(ctx, CALLBACKS[f"{reminders.PREFIX}:"])
        await reminders.on_button(ctx)
        return
    if choice.startswith(f"{standings.PREFIX}:"):
        await access.require_role(ctx, CALLBACKS[f"{standings.PREFIX}:"])
        await standings.on_button(ctx)
        return
    cb = CallbackData.unpack(choice)
    conv = ctx.conversation
    if cb is None or conv is None or conv.flow_id != cb.flow_id:
        raise UserInputError("err.stale_button")
    await access.require_role(ctx, FORM_BUTTONS)
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
