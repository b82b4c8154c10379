"""/start CODE registration, /help by role, /lang."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import replace

from domain.access import Action, Actor, actor_for, may_ever
from domain.errors import UserInputError
from domain.invites import MASK, RANDOM_BYTES, code_from_bytes, code_hash, display, typed_hash
from domain.messages import Button
from domain.models import Language, Person, Role
from domain.text import clean_name
from handlers import access
from runtime.context import Ctx
from storage import invites, org, people

ROLE_KEYS = {
    Role.OFFICER: "role.officer",
    Role.CHAIR: "role.chair",
    Role.CLUSTER_HEAD: "role.cluster_head",
    Role.ADMIN: "role.admin",
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
    year = ctx.today.year
    who = actor_for(person.role, person.unit_code, await org.memberships(ctx.tx, year))
    cluster = await org.cluster(ctx.tx, min(who.led), year) if who.led else None
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
    window_start = ctx.now - ctx.settings.start_lockout
    fails = await invites.failed_attempts_since(
        ctx.tx, inbound.channel, inbound.sender_id, window_start
    )
    limit = ctx.settings.start_attempts
    if len(fails) >= limit:
        free_at = fails[-limit] + ctx.settings.start_lockout
        minutes = max(1, math.ceil((free_at - ctx.now).total_seconds() / 60))
        raise UserInputError("start.locked", minutes=minutes)
    hashed = typed_hash(typed)
    invite = await invites.find(ctx.tx, hashed) if hashed else None
    if invite is None:
        await invites.record_failed_attempt(ctx.tx, inbound.channel, inbound.sender_id, ctx.now)
        left = limit - len(fails) - 1
        key = "start.bad_code" if left > 0 else "start.bad_code_locked"
        ctx.reply(
            ctx.t(key, left=left, minutes=int(ctx.settings.start_lockout.total_seconds() // 60))
        )
        return
    if invite.expires_at is not None and ctx.now >= invite.expires_at:
        raise UserInputError("start.expired")
    if invite.uses >= invite.max_uses:
        raise UserInputError("start.used_up")
    name = clean_name(inbound.sender_name) or ctx.t("start.default_name")
    person = await people.create(
        ctx.tx,
        name=name,
        unit_code=invite.unit_code,
        role=invite.role,
        language=ctx.chosen_language or ctx.settings.default_language,
        channel=inbound.channel,
        platform_id=inbound.sender_id,
        now=ctx.now,
    )
    used = await invites.use(ctx.tx, invite.id, person.id, ctx.now)
    assert used, "the write lock makes the usable-check and the use atomic"
    await invites.clear_failed_attempts(ctx.tx, inbound.channel, inbound.sender_id)
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
    who = await access.actor(ctx)
    parts = [
        ctx.t("help.header", role=_role_name(ctx, ctx.person, who)),
        ctx.t("help.reporting"),
        ctx.t("help.follow_up"),
        ctx.t("help.posts"),
    ]
    if may_ever(who, Action.MISSING).allowed:
        parts.append(ctx.t("help.cluster_head"))
    if may_ever(who, Action.MANAGE_PEOPLE).allowed:
        parts.append(ctx.t("help.admin"))
        parts.append(ctx.t("people.help"))
    parts.append(ctx.t("help.common"))
    ctx.reply("\n\n".join(parts), menu=True)


MENU_PREFIX = "menu"
#: The main menu: catalog key of the label → the command it runs.
MAIN_MENU = (
    ("menu.report", "report"),
    ("menu.myreports", "myreports"),
    ("menu.standings", "standings"),
    ("menu.help", "help"),
)


async def main_menu(ctx: Ctx) -> None:
    """/menu, "menu" or "0": the main menu as choices (numbered where there are no buttons)."""
    buttons = [Button(ctx.t(key), f"{MENU_PREFIX}:{command}") for key, command in MAIN_MENU]
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    ctx.reply(ctx.t("menu.title"), rows)


async def lang(ctx: Ctx) -> None:
    """/lang vi|en, also before registering (kept for the account; /start uses it)."""
    wanted = ctx.inbound.args.strip().lower()
    if wanted not in {lang.value for lang in Language}:
        raise UserInputError("lang.usage")
    if ctx.person is None:
        inbound = ctx.inbound
        await people.set_account_language(
            ctx.tx, inbound.channel, inbound.sender_id, Language(wanted)
        )
        ctx.chosen_language = Language(wanted)
        ctx.reply(ctx.t("access.lang_kept"))
        return
    await people.set_language(ctx.tx, ctx.person.id, Language(wanted))
    ctx.person = replace(ctx.person, language=Language(wanted))
    ctx.reply(ctx.t("lang.set"), menu=True)


LINK_CODE_LIFETIME = dt.timedelta(minutes=15)
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "console"}


async def link(ctx: Ctx) -> None:
    """/link: show a code here, type `/link CODE` on the other messenger: one person, two apps."""
    inbound = ctx.inbound
    typed = inbound.args.strip()
    if ctx.person is not None:
        if typed:
            raise UserInputError("link.already_here")
        code = code_from_bytes(secrets.token_bytes(RANDOM_BYTES))
        await people.create_link_code(
            ctx.tx, ctx.person.id, code_hash(code), ctx.now + LINK_CODE_LIFETIME
        )
        minutes = int(LINK_CODE_LIFETIME.total_seconds() // 60)
        shown = ctx.t("link.code", code=display(code), minutes=minutes)
        ctx.reply(shown, after_delivery=ctx.t("link.code", code=MASK, minutes=minutes))
        return
    if not typed:
        raise UserInputError("err.not_registered")
    window_start = ctx.now - ctx.settings.start_lockout
    fails = await invites.failed_attempts_since(
        ctx.tx, inbound.channel, inbound.sender_id, window_start
    )
    if len(fails) >= ctx.settings.start_attempts:
        free_at = fails[-ctx.settings.start_attempts] + ctx.settings.start_lockout
        raise UserInputError(
            "start.locked", minutes=max(1, math.ceil((free_at - ctx.now).total_seconds() / 60))
        )
    hashed = typed_hash(typed)
    person_id = await people.use_link_code(ctx.tx, hashed, ctx.now) if hashed else None
    if person_id is None:
        await invites.record_failed_attempt(ctx.tx, inbound.channel, inbound.sender_id, ctx.now)
        raise UserInputError("link.bad_code")
    person = await people.get(ctx.tx, person_id)
    if person is None or not person.active:
        raise UserInputError("people.you_are_deactivated")
    await people.add_identity(ctx.tx, person_id, inbound.channel, inbound.sender_id, ctx.now)
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
    assert ctx.person is not None
    wanted = ctx.inbound.args.strip().lower()
    accounts = {c for c, _ in await people.channels_of(ctx.tx, ctx.person.id)}
    if wanted not in CHANNEL_NAMES or wanted == "console":
        raise UserInputError("link.channel_usage")
    if wanted not in accounts:
        raise UserInputError("link.channel_not_linked", channel=CHANNEL_NAMES[wanted])
    await people.set_preferred_channel(ctx.tx, ctx.person.id, wanted)
    ctx.reply(ctx.t("link.channel_set", channel=CHANNEL_NAMES[wanted]))
