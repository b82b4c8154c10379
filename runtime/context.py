"""What a handler gets: the transaction, the person, the update, the clock's now,
the settings, a translator, and a place to put replies and the next state.

Everything platform- or process-specific is injected by `bot/` through the
small protocols below, so handlers stay channel-neutral and testable.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from domain.errors import UserInputError
from domain.messages import Button, Conversation, Inbound, Outgoing, Reply
from domain.models import Language, Person
from domain.settings import VIETNAM, HandlerSettings
from runtime import drafts
from storage.db import Tx
from usecases.access import Caller

__all__ = [
    "AFTER_DELIVERY",
    "VIETNAM",
    "Clock",
    "Ctx",
    "HandlerSettings",
    "Translator",
    "Tx",
    "new_flow_id",
]

if TYPE_CHECKING:
    from runtime.routes import HelpEntry

AFTER_DELIVERY = "after_delivery"  # Outgoing.extra: the Reply stored once it is delivered


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """An aware datetime; tests inject a clock they move by hand."""
        ...


class Translator(Protocol):
    def __call__(self, lang: str, key: str, /, **params: Any) -> str: ...


def new_flow_id() -> str:
    """A short random tag put in button data, so buttons of an old flow are recognised."""
    return secrets.token_urlsafe(6)[:8]


@dataclass
class Ctx:
    tx: Tx
    inbound: Inbound
    person: Person | None
    conversation: Conversation | None
    now: dt.datetime
    settings: HandlerSettings
    translate: Translator
    outgoing: list[Outgoing] = field(default_factory=list)
    state_changed: bool = False
    actors: dict[int, Caller] = field(default_factory=dict)  # per year asked about (access)
    deactivated: Person | None = None  # the person behind this account, when deactivated
    chosen_language: Language | None = None  # /lang before registering
    deferred: list[Callable[[], Awaitable[Reply]]] = field(default_factory=list)
    help_entries: tuple[HelpEntry, ...] = ()  # every feature's /help paragraphs, in order
    #: Refusals said in passing while the flow goes on (`refused`): the router adds what
    #: features offer under them (🔓 Xin mở khóa) to this answer's last message.
    refusals: list[UserInputError] = field(default_factory=list)

    @property
    def lang(self) -> str:
        if self.person is not None:
            return self.person.language.value
        return (self.chosen_language or self.settings.default_language).value

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.settings.tz).date()

    @property
    def has_buttons(self) -> bool:
        """The person's channel shows buttons; else choices are typed (Zalo, console)."""
        return self.inbound.has_buttons

    def t(self, key: str, **params: Any) -> str:
        """The message in the person's language; where there are no buttons, the catalog's
        ``typed.<key>`` variant (it says what to type instead of what to tap) when it has one."""
        if not self.has_buttons:
            typed = f"typed.{key}"
            text = self.translate(self.lang, typed, **params)
            if text != typed:
                return text
        return self.translate(self.lang, key, **params)

    def reply(
        self,
        text: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        *,
        menu: bool = False,
        edit: bool = False,
        after_delivery: str | None = None,
        keeps_choices: bool = False,
        private_link: str | None = None,
        album: tuple[str, ...] = (),
    ) -> None:
        """Answer in the same chat; `edit` replaces the card whose button was pressed;
        `after_delivery` is the text kept once it is delivered (a secret shown once);
        `keeps_choices`: typed numbers still mean the choices shown before (see Reply);
        `private_link`: the channel adds a link to the bot's private chat (Reply);
        `album`: stored evidence photos shown with it (Reply)."""
        edit_ref = self.inbound.message_ref if edit else ""
        reply = Reply(
            text=text,
            buttons=buttons,
            menu=self.menu_labels() if menu else (),
            edit_ref=edit_ref,
            keeps_choices=keeps_choices,
            private_link=private_link,
            album=album,
        )
        out = Outgoing(self.inbound.channel, self.inbound.chat_id, reply)
        if after_delivery is not None:
            out.extra[AFTER_DELIVERY] = replace(reply, text=after_delivery)
        self.outgoing.append(out)

    def refused(self, refusal: UserInputError) -> None:
        """Say why a part of what was typed is refused, and go on (a quick line's closed
        date): the same words and offers as when the refusal ends the step."""
        self.reply(self.t(refusal.key, **refusal.params))
        self.refusals.append(refusal)

    def send(self, reply: Reply) -> None:
        """Any prepared reply (a chart, a document) to the same chat."""
        self.outgoing.append(Outgoing(self.inbound.channel, self.inbound.chat_id, reply))

    def send_after_commit(self, make: Callable[[], Awaitable[Reply]]) -> None:
        """A reply that is slow to make (a chart): made once the transaction has committed,
        so nobody else waits for the database meanwhile, and sent after this update's
        other replies. Give it everything it needs: the transaction is gone by then."""
        self.deferred.append(make)

    def menu_labels(self) -> tuple[str, ...]:
        keys = ("menu.report", "menu.myreports", "menu.standings", "menu.help")
        return tuple(self.t(k) for k in keys)

    def set_state(self, flow: str, step: str, draft: object, flow_id: str | None = None) -> str:
        """The conversation's next step with its draft (a frozen dataclass, runtime.drafts),
        stored by value: changing the draft later cannot change this state."""
        fid = flow_id or (self.conversation.flow_id if self.conversation else new_flow_id())
        self.conversation = Conversation(flow, step, fid, drafts.dump(draft), self.now)
        self.state_changed = True
        return fid

    def end_state(self) -> None:
        self.conversation = None
        self.state_changed = True
