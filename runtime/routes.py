"""What a feature module declares, for the router (and the app) to assemble.

Each ``handlers/<feature>.py`` exports one :class:`Feature`: its commands (with
the access action they perform and who sees them in the command menu), the
button classes it answers, the conversation flows it owns, the words that run
its commands, its help paragraphs and its scheduled jobs. `bot/app.py` passes
the list of features to :class:`runtime.router.Router`; nothing in runtime/
imports a feature. Adding a command touches its feature module and the catalog
(``cmd.<name>`` when it is in someone's command menu).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.access import Action as Can
from domain.access import ActorRole
from domain.errors import UserInputError
from domain.messages import Button, ChatAction, Conversation, OutboxItem
from runtime.callbacks import CallbackData

if TYPE_CHECKING:
    from runtime.context import Ctx, HandlerSettings, Translator
    from storage.db import Tx

Handler = Callable[["Ctx"], Awaitable[None]]

Offer = Callable[["Ctx", UserInputError], Awaitable[tuple[Button, ...]]]
"""Buttons a refusal offers (a row under the answer): e.g. 🔓 Xin mở khóa under a closed
period's date, whichever flow refused it."""

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


@dataclass(frozen=True, slots=True)
class CallbackRoute:
    """Presses of one button class (found by its prefix).

    `handler` gets the unpacked data; `action` is checked first. A `FlowCallback`
    is acted on only while its flow (one of `flows`) is open with the same flow id.
    `unseal` opens data the feature sealed (a per-chat signature) — None when it does
    not hold, refused with `refusal`. `command`: the press runs that command instead,
    under the command's own access row (the main menu).
    """

    data: type[CallbackData]
    action: Can
    handler: Callable[[Ctx, Any], Awaitable[None]] | None = None
    flows: frozenset[str] = frozenset()
    in_groups: bool = False
    unseal: Callable[[Ctx, str], Awaitable[str | None]] | None = None
    refusal: str = "err.stale_button"
    command: Callable[[Any], str] | None = None


@dataclass(frozen=True, slots=True)
class FlowRoute:
    """A conversation a feature owns: what typed input and "ask again" do while it is open
    (`on_message` None: typed input is not for this flow, it is free text)."""

    on_message: Handler | None
    ask_again: Handler
    action: Can
    #: The flow's draft class (runtime.drafts): a stored draft that is not one (an older
    #: shape) ends the conversation with a polite note instead of reaching the handlers.
    draft: type | None = None
    #: Said when a command starts another flow over this one (None: nothing said).
    abandoned: str | None = None
    #: Steps where a typed "0" is an answer, not the main menu.
    numbers_answer: Callable[[Conversation], bool] = lambda conv: False


@dataclass(frozen=True, slots=True)
class FreeText:
    """What plain text outside any conversation means (a one-line report): `handler` returns
    False when it could not read it, and the person is told what does work."""

    handler: Callable[[Ctx, str], Awaitable[bool]]
    action: Can
    not_understood: str


JobRun = Callable[["Tx", dt.datetime, dt.datetime | None], Awaitable[list[OutboxItem]]]
"""(transaction, this fire time, previous fire time) → the outbox rows it wrote."""

AfterCommit = Callable[
    [dt.datetime, Callable[[], AbstractAsyncContextManager["Tx"]]], Awaitable[list[OutboxItem]]
]
"""(this fire time, a way to open a transaction) → the outbox rows of slow work made after
the firing committed (charts)."""


@dataclass(frozen=True, slots=True)
class Work:
    """What a job does at each firing, and optionally after that firing's commit."""

    run: JobRun
    after_commit: AfterCommit | None = None


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """Work the scheduler fires at a crontab's times, claimed once per firing."""

    id: str
    cron: Callable[[HandlerSettings], str]
    make: Callable[[HandlerSettings, Translator], Work]
    grace: dt.timedelta = dt.timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """A paragraph of /help (catalog key), in `order`; shown when the person's roles could
    ever perform `action` (None: to everyone registered)."""

    key: str
    order: int
    action: Can | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    commands: Mapping[str, Command] = field(default_factory=dict)
    callbacks: tuple[CallbackRoute, ...] = ()
    flows: Mapping[str, FlowRoute] = field(default_factory=dict)
    #: Catalog keys of words typed without a slash (menu labels) → the command they run.
    words: Mapping[str, str] = field(default_factory=dict)
    help: tuple[HelpEntry, ...] = ()
    free_text: FreeText | None = None
    jobs: tuple[ScheduledJob, ...] = ()
    #: Catalog keys of refusals → the buttons offered under them (see `Offer`).
    offers: Mapping[str, Offer] = field(default_factory=dict)
