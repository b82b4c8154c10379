"""/start CODE registration, /help by role, /lang."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from domain.access import Action, Actor
from domain.errors import UserInputError
from domain.invites import MASK, display
from domain.models import Language, Person, Role
from domain.text import clean_name
from runtime import access
from runtime.callbacks import CallbackData
from runtime.context import Ctx
from runtime.routes import ANYONE, GUESTS, CallbackRoute, Command, Feature, HelpEntry
from usecases import invites, linking, people
from usecases.access import can_ever
from usecases.linking import CHANNEL_NAMES, LINK_CODE_LIFETIME

ROLE_KEYS = {
    Role.OFFICER: "role.officer",
    Role.CHAIR: "role.chair",
    Role.CLUSTER_HEAD: "role.cluster_head",
    Role.ADMIN: "role.admin",
    Role.REVIEWER: "role.reviewer",
}


def _unit_name(ctx: Ctx, code: str) -> str:
    unit = ctx.settings.units.get(code)
    return unit.name if unit else code


def _role_name(ctx: Ctx, person: Person, who: Actor) -> str:
    """The role this person holds now: head and deputy come from this year's membership,
    so someone invited as cluster head whose unit no longer leads is an officer."""
    if who.heads:
        return ctx.t("role.cluster_head")
    if who.deputises:
        return ctx.t("role.cluster_deputy")
    return ctx.t(ROLE_KEYS[Role.OFFICER if person.role == Role.CLUSTER_HEAD else person.role])


async def _role_and_place(ctx: Ctx, person: Person) -> dict[str, str]:
    """`role` and where it is held (`unit`): a head or deputy leads this year's cluster,
    everyone else serves their unit."""
    who, cluster = await people.role_and_place(ctx.tx, person, ctx.today.year)
    place = cluster.name if cluster is not None else _unit_name(ctx, person.unit_code)
    return {"role": _role_name(ctx, person, who), "unit": place}


async def start(ctx: Ctx) -> None:
    inbound = ctx.inbound
    if ctx.person is not None:
        ctx.reply(
            ctx.t(
                "start.already",
                name=ctx.person.name,
                **await _role_and_place(ctx, ctx.person),
            ),
            menu=True,
        )
        return
    typed = inbound.args.strip()
    if not typed:
        ctx.reply(ctx.t("start.need_code"))
        return
    found = await invites.register(
        ctx.tx,
        ctx.settings,
        channel=inbound.channel,
        sender_id=inbound.sender_id,
        name=clean_name(inbound.sender_name) or ctx.t("start.default_name"),
        language=ctx.chosen_language or ctx.settings.default_language,
        typed=typed,
        now=ctx.now,
    )
    if isinstance(found, invites.BadCode):
        key = "start.bad_code" if found.left > 0 else "start.bad_code_locked"
        minutes = int(ctx.settings.start_lockout.total_seconds() // 60)
        ctx.reply(ctx.t(key, left=found.left, minutes=minutes))
        return
    person = found
    ctx.person = person
    ctx.actors.clear()  # the policy sees the new person from now on
    ctx.reply(
        ctx.t(
            "start.welcome",
            name=person.name,
            **await _role_and_place(ctx, person),
        ),
        menu=True,
    )


async def help_(ctx: Ctx) -> None:
    """What this person's roles can do (head and deputy: this year's, from the config)."""
    if ctx.person is None:
        ctx.reply(ctx.t("help.unregistered"))
        return
    caller = await access.caller(ctx)
    parts = [ctx.t("help.header", role=_role_name(ctx, ctx.person, caller.actor))]
    for entry in ctx.help_entries:  # every feature's paragraphs (runtime.routes.HelpEntry)
        if entry.action is None or can_ever(caller, entry.action):
            parts.append(ctx.t(entry.key))
    ctx.reply("\n\n".join(parts), menu=True)


@dataclass(frozen=True)
class MenuButton(CallbackData):
    """A main-menu choice: `menu:<command>`, run under the command's own access row."""

    prefix: ClassVar[str] = "menu"
    command: str


#: The main menu: catalog key of the label → the command it runs.
MAIN_MENU = (
    ("menu.report", "report"),
    ("menu.myreports", "myreports"),
    ("menu.standings", "standings"),
    ("menu.help", "help"),
)


async def main_menu(ctx: Ctx) -> None:
    """/menu, "menu" or "0": the main menu as choices (numbered where there are no buttons)."""
    buttons = [MenuButton(command).button(ctx.t(key)) for key, command in MAIN_MENU]
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    ctx.reply(ctx.t("menu.title"), rows)


async def lang(ctx: Ctx) -> None:
    """/lang vi|en, also before registering (kept for the account; /start uses it)."""
    wanted = ctx.inbound.args.strip().lower()
    if wanted not in {lang.value for lang in Language}:
        raise UserInputError("lang.usage")
    inbound = ctx.inbound
    caller = await access.caller(ctx)
    await people.set_language(ctx.tx, caller, inbound.channel, inbound.sender_id, Language(wanted))
    if ctx.person is None:
        ctx.chosen_language = Language(wanted)
        ctx.reply(ctx.t("access.lang_kept"))
        return
    ctx.person = replace(ctx.person, language=Language(wanted))
    ctx.reply(ctx.t("lang.set"), menu=True)


async def link(ctx: Ctx) -> None:
    """/link: show a code here, type `/link CODE` on the other messenger: one person, two apps."""
    inbound = ctx.inbound
    typed = inbound.args.strip()
    if ctx.person is not None:
        if typed:
            raise UserInputError("link.already_here")
        code = await linking.new_link_code(ctx.tx, await access.caller(ctx), ctx.now)
        minutes = int(LINK_CODE_LIFETIME.total_seconds() // 60)
        shown = ctx.t("link.code", code=display(code), minutes=minutes)
        ctx.reply(shown, after_delivery=ctx.t("link.code", code=MASK, minutes=minutes))
        return
    if not typed:
        raise UserInputError("err.not_registered")
    person = await linking.redeem_link_code(
        ctx.tx, ctx.settings, inbound.channel, inbound.sender_id, typed, ctx.now
    )
    if person is None:
        ctx.reply(ctx.t("link.bad_code"))
        return
    ctx.person = person
    ctx.actors.clear()  # the policy sees the new person from now on
    ctx.reply(
        ctx.t(
            "link.done",
            channel=CHANNEL_NAMES.get(inbound.channel, inbound.channel),
            name=person.name,
            unit=_unit_name(ctx, person.unit_code),
        ),
        menu=True,
    )


async def channel(ctx: Ctx) -> None:
    """/channel zalo|telegram: where reminders go when a person uses both."""
    wanted = ctx.inbound.args.strip().lower()
    shown = await linking.set_channel(ctx.tx, await access.caller(ctx), wanted)
    ctx.reply(ctx.t("link.channel_set", channel=shown))


# ---- routes -------------------------------------------------------------------------------

FEATURE = Feature(
    name="onboarding",
    commands={
        "start": Command(start, Action.START, menu=GUESTS),
        "help": Command(help_, Action.HELP, private_only=False, menu=ANYONE),
        "lang": Command(lang, Action.LANG, menu=ANYONE),
        "link": Command(link, Action.LINK),
        "channel": Command(channel, Action.CHANNEL),
        "menu": Command(main_menu, Action.HELP),
    },
    callbacks=(CallbackRoute(MenuButton, Action.HELP, command=lambda b: b.command),),
    #: Words typed without a slash that run a command: each menu label (with or without its
    #: icon and diacritics, in either language) and "menu".
    words={**dict(MAIN_MENU), "menu.menu": "menu"},
    help=(HelpEntry("help.common", 90),),
)
