"""Which handler answers an update: commands, menu words, button presses, free text.

The routes are data the feature modules declare (runtime.routes.Feature); the
app hands the list to :class:`Router`, which assembles one table and applies the
rules around it (registration, group chats, stale buttons, the access gate) once
for every feature. This module imports no feature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from domain.access import Action as Can
from domain.access import ActorRole
from domain.errors import UserInputError
from domain.messages import Button, ChatAction, ChatType, Conversation, Inbound, InboundKind
from domain.models import DEFAULT_MAX_LENGTH
from domain.text import fold
from runtime import access, drafts
from runtime.callbacks import FlowCallback, prefix_of
from runtime.context import Ctx, Translator
from runtime.routes import (
    CallbackRoute,
    Command,
    Feature,
    FlowRoute,
    FreeText,
    HelpEntry,
    Offer,
    ScheduledJob,
)

#: Typed alone where there are no buttons: the numbered main menu.
MENU_NUMBER = "0"

_NOT_WORD = re.compile(r"[^\w\s]")
_LANGS = ("vi", "en")

T = TypeVar("T")


class RouteConflict(ValueError):
    """Two features declared the same command, button prefix, flow or word."""


class Router:
    """The assembled routes of the features the app was built with."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features = tuple(features)
        self.commands: dict[str, Command] = {}
        self.callbacks: dict[str, CallbackRoute] = {}
        self.flows: dict[str, FlowRoute] = {}
        self.words: dict[str, str] = {}
        self.offers: dict[str, Offer] = {}
        for feature in self.features:
            _merge(self.commands, feature.commands, "command", feature.name)
            prefixes = {route.data.prefix: route for route in feature.callbacks}
            if len(prefixes) != len(feature.callbacks):
                raise RouteConflict(f"{feature.name}: a button prefix declared twice")
            _merge(self.callbacks, prefixes, "button prefix", feature.name)
            _merge(self.flows, feature.flows, "flow", feature.name)
            _merge(self.words, feature.words, "word", feature.name)
            _merge(self.offers, feature.offers, "offer", feature.name)
        for key, command in self.words.items():
            if command not in self.commands:
                raise RouteConflict(f"word {key} runs {command}, which nobody declares")
        self.help: tuple[HelpEntry, ...] = tuple(
            sorted((h for f in self.features for h in f.help), key=lambda h: h.order)
        )
        free = [f.free_text for f in self.features if f.free_text is not None]
        if len(free) > 1:
            raise RouteConflict("free text is declared by more than one feature")
        self.free_text: FreeText | None = free[0] if free else None
        self.jobs: tuple[ScheduledJob, ...] = tuple(j for f in self.features for j in f.jobs)
        if len({j.id for j in self.jobs}) != len(self.jobs):
            raise RouteConflict("a scheduled job id declared twice")

    # ---- what the app and the messengers ask ----------------------------------------------

    def menu_commands(
        self, roles: frozenset[ActorRole], lang: str, translate: Translator
    ) -> tuple[tuple[str, str], ...]:
        """The command menu of someone with these roles, in one language: (command, description).

        The commands only some roles have come first, those everyone has last.
        """
        shown = [
            (len(c.menu), i, name)
            for i, (name, c) in enumerate(self.commands.items())
            if roles & c.menu
        ]
        return tuple((name, translate(lang, f"cmd.{name}")) for _, _, name in sorted(shown))

    def menu_command(self, translate: Translator, text: str) -> str | None:
        """The command a typed menu word means ("bao cao", "xếp hạng", "menu"), if any."""
        typed = _plain(text)
        if not typed:
            return None
        for key, command in self.words.items():
            if typed in {_plain(translate(lang, key)) for lang in _LANGS}:
                return command
        return None

    def chat_action(self, inbound: Inbound, translate: Translator) -> ChatAction | None:
        """The indicator to show before handling `inbound`: set for slow commands only."""
        name: str | None = None
        if inbound.kind == InboundKind.COMMAND:
            name = inbound.command
        elif inbound.kind == InboundKind.TEXT:
            name = self.menu_command(translate, inbound.text)
        elif inbound.kind == InboundKind.CHOICE:
            name = self._command_of_press(inbound.choice)
        command = self.commands.get(name) if name else None
        return command.indicator if command is not None else None

    def _command_of_press(self, choice: str) -> str | None:
        route = self.callbacks.get(prefix_of(choice))
        if route is None or route.command is None:
            return None
        data = route.data.unpack(choice)
        return route.command(data) if data is not None else None

    # ---- routing --------------------------------------------------------------------------

    async def route(self, ctx: Ctx) -> None:
        await self._route(ctx)
        await self._attach_offers(ctx)
        await self._attach_commands(ctx)

    async def _attach_offers(self, ctx: Ctx) -> None:
        """What features offer under refusals said in passing (`Ctx.refused`) goes under the
        answer's last message, after its own buttons, as under a refusal that ends a step:
        a button on Telegram, the next numbers where choices are typed."""
        offered: dict[str, Button] = {}
        for refusal in ctx.refusals:
            offered.update((b.data, b) for b in await self.offer(ctx, refusal))
        if offered and ctx.outgoing:
            last = ctx.outgoing[-1]
            last.reply = replace(last.reply, buttons=(*last.reply.buttons, tuple(offered.values())))

    async def ask_again(self, ctx: Ctx) -> None:
        """Render the open question of the person's conversation again (after an error reply)."""
        conv = ctx.conversation
        if conv is None or ctx.person is None:
            return
        flow = self.flows.get(conv.flow)
        if flow is not None:
            await flow.ask_again(ctx)

    async def offer(self, ctx: Ctx, refusal: UserInputError) -> tuple[Button, ...]:
        """The buttons a feature offers under this refusal (none for most)."""
        offer = self.offers.get(refusal.key)
        return await offer(ctx, refusal) if offer is not None and ctx.person is not None else ()

    async def require_role(self, ctx: Ctx, action: Can) -> None:
        """The first gate: refuse people none of whose roles could ever do this."""
        await access.require_role(ctx, action)

    async def _attach_commands(self, ctx: Ctx) -> None:
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
                    commands = self.menu_commands(roles, ctx.lang, ctx.translate)
                out.reply = replace(out.reply, commands=commands)

    def readable(self, conv: Conversation) -> bool:
        """The conversation's draft is one its flow can read (not an older shape)."""
        flow = self.flows.get(conv.flow)
        if flow is None or flow.draft is None:
            return flow is not None
        return drafts.load(flow.draft, conv.data) is not None

    def _wants_menu_number(self, ctx: Ctx) -> bool:
        """ "0" alone is the main menu where choices are typed, unless the open question
        takes a number (there 0 may be the answer)."""
        conv = ctx.conversation
        flow = self.flows.get(conv.flow) if conv is not None else None
        asking = conv is not None and flow is not None and flow.numbers_answer(conv)
        return not ctx.has_buttons and ctx.inbound.text.strip() == MENU_NUMBER and not asking

    async def _route(self, ctx: Ctx) -> None:
        inbound = ctx.inbound
        conv = ctx.conversation
        if inbound.chat_type == ChatType.GROUP:
            await self._group(ctx)
            return
        if ctx.deactivated is not None:
            ctx.end_state()
            raise UserInputError("people.you_are_deactivated")
        if inbound.kind == InboundKind.EDITED:
            raise UserInputError("err.edited")

        command = inbound.command if inbound.kind == InboundKind.COMMAND else None
        if command is None and inbound.kind == InboundKind.TEXT:
            command = self.menu_command(ctx.translate, inbound.text)
            if command is None and self._wants_menu_number(ctx):
                command = "menu"
        if command is not None:
            await self._command(ctx, command)
            return

        if inbound.kind == InboundKind.CHOICE:
            await self._choice(ctx)
            return

        flow = self.flows.get(conv.flow) if conv is not None else None
        if flow is not None and flow.on_message is not None:
            if ctx.person is None:
                ctx.end_state()
                raise UserInputError("err.not_registered")
            await self.require_role(ctx, flow.action)
            await flow.on_message(ctx)
            return

        if inbound.kind == InboundKind.TEXT and self.free_text is not None:
            await self.require_role(ctx, self.free_text.action)
            if len(inbound.text) > DEFAULT_MAX_LENGTH:
                raise UserInputError("err.message_too_long", max=DEFAULT_MAX_LENGTH)
            if not await self.free_text.handler(ctx, inbound.text):
                ctx.reply(ctx.t(self.free_text.not_understood), menu=True)
            return
        if inbound.kind == InboundKind.PHOTO:
            raise UserInputError("err.photo_without_report")
        raise UserInputError("err.unsupported")

    async def _command(self, ctx: Ctx, name: str) -> None:
        command = self.commands.get(name)
        if command is None:
            raise UserInputError("err.unknown_command", command=name[:32])
        await self.require_role(ctx, command.action)
        conv = ctx.conversation
        flow = self.flows.get(conv.flow) if conv is not None else None
        if command.starts_flow and flow is not None and flow.abandoned:
            ctx.reply(ctx.t(flow.abandoned))
        await command.handler(ctx)

    async def _group(self, ctx: Ctx) -> None:
        """In a group the bot answers commands only (and the buttons of its posts), and
        never starts a report there."""
        inbound = ctx.inbound
        if inbound.kind == InboundKind.CHOICE:
            route = self.callbacks.get(prefix_of(inbound.choice))
            if route is not None and route.in_groups:
                await self._press(ctx, route)
            return
        if inbound.kind != InboundKind.COMMAND:
            return
        command = self.commands.get(inbound.command)
        if command is None:
            return
        if command.private_only:
            ctx.reply(ctx.t("group.private_only"), private_link="")
            return
        await self.require_role(ctx, command.action)
        await command.handler(ctx)

    async def _choice(self, ctx: Ctx) -> None:
        route = self.callbacks.get(prefix_of(ctx.inbound.choice))
        if route is None:  # old formats, another bot's data, tampering
            raise UserInputError("err.stale_button")
        await self._press(ctx, route)

    async def _press(self, ctx: Ctx, route: CallbackRoute) -> None:
        """One button press of a known prefix: unpack (and unseal), check, hand over."""
        raw = ctx.inbound.choice
        if route.command is not None:
            data = route.data.unpack(raw)
            if data is None:
                raise UserInputError(route.refusal)
            await self._command(ctx, route.command(data))
            return
        if issubclass(route.data, FlowCallback):
            data = route.data.unpack(raw)
            conv = ctx.conversation
            if (
                data is None
                or conv is None
                or conv.flow_id != data.flow_id
                or conv.flow not in route.flows
            ):
                raise UserInputError("err.stale_button")
            await self.require_role(ctx, route.action)
        else:
            await self.require_role(ctx, route.action)
            if route.unseal is None:
                data = route.data.unpack(raw)
            else:
                opened = await route.unseal(ctx, raw)
                data = route.data.unpack(opened) if opened is not None else None
            if data is None:
                raise UserInputError(route.refusal)
        assert route.handler is not None
        await route.handler(ctx, data)


def _merge(into: dict[str, T], new: Mapping[str, T], what: str, feature: str) -> None:
    for key, value in new.items():
        if key in into:
            raise RouteConflict(f"{what} {key!r} declared twice ({feature})")
        into[key] = value


def _plain(text: str) -> str:
    """Folded, without icons or punctuation: "📋 Báo cáo của tôi" → "bao cao cua toi"."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())
