"""What every channel adapter offers the rest of the bot, and the one loop that receives from it.

A channel has two sides. Receiving: it turns what its platform sent into `Inbound` updates,
from a long poll (`Channel.receive`) or from webhook requests (the `Webhook` routes it
contributes, served by `bot.webhook`). Delivering: `Channel.deliver` sends one outbox row.
A channel never records or handles an update itself: `Receiver` hands every batch to the
ingress (`runtime.ingress`), which records it in the inbox and then has it handled, and only
after that is the platform told it arrived (`Received.confirm`, or the webhook's 200).

A new messenger is one module here with a class that fits `Channel`, plus its line in
`bot.channels.registry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.health import Health
from bot.supervisor import supervise
from domain.errors import DatabaseLost
from domain.messages import Inbound, Reply
from runtime.ingress import Ingress

log = logging.getLogger(__name__)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Received:
    """What one poll or one webhook request brought."""

    inbounds: Sequence[Inbound] = ()
    confirm: Callable[[], None] = _nothing
    """Called once the updates are in the inbox: what may only happen then (move Telegram's
    offset past them, stop a button's spinner)."""
    redelivered: bool = False
    """The platform sends these again until confirmed (Telegram), so a batch that could not
    be recorded is dropped and fetched again; otherwise it is kept in hand and recorded again."""


def album_lines(album: Sequence[str]) -> str:
    """Evidence photos where a channel cannot show them: a line each, by short hash."""
    return "\n".join(f"📷 {n}/{len(album)} · {digest[:12]}" for n, digest in enumerate(album, 1))


class ReceiveError(Exception):
    """A poll the platform refused; `retry_after` seconds when it said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Webhook:
    """One route a channel contributes to the webhook server."""

    path: str
    secret_header: str
    secret: str
    parse: Callable[[dict[str, Any]], Awaitable[Received | None]]
    """A JSON object from the platform as updates; None for a well-formed body with nothing
    to use (acknowledged, since answering an error only makes the platform resend it)."""


class Channel(Protocol):
    """A messenger connection: produces updates (poll or webhook), delivers replies."""

    name: str

    @property
    def polling(self) -> bool:
        """True when updates come from `receive` (long polling), False for webhooks."""
        ...

    async def start(self) -> None:
        """Connect, and tell the platform how updates come (set or delete its webhook)."""
        ...

    async def receive(self) -> Received:
        """One long poll: the updates that came, maybe none. Raises `ReceiveError` when the
        platform refused; any other exception is a network failure (the loop backs off)."""
        ...

    def webhooks(self) -> Sequence[Webhook]:
        """The routes this channel serves on the webhook server (none when it polls)."""
        ...

    async def stop(self) -> None:
        """Close the connection (receiving has stopped and the outbox is drained)."""
        ...

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send (or edit) one message; returns the platform's message id.

        Raises DeliveryError, whose `permanent` flag tells the outbox whether to retry.
        """
        ...


class Receiver:
    """One channel's way in: its poll loop, or its webhook deliveries, into the ingress."""

    def __init__(
        self,
        channel: Channel,
        ingress: Ingress,
        *,
        health: Health | None = None,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
    ) -> None:
        self.channel = channel
        self.ingress = ingress
        self.health = health
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.receiving = False
        """False before start and after stop: a webhook delivery then answers 503."""
        self._poller: asyncio.Task[None] | None = None

    @property
    def component(self) -> str:
        """Its name in the health report."""
        return f"{self.channel.name}.receive"

    def start(self) -> None:
        """Take updates from now on (the channel has started); a polling channel is polled."""
        self.receiving = True
        if self.channel.polling and self._poller is None:
            self._poller = asyncio.create_task(
                supervise(self.component, self._poll, self.health),
                name=f"{self.channel.name}-poll",
            )

    async def stop(self) -> None:
        """No new updates from here on; sending still works (shutdown drains the outbox)."""
        self.receiving = False
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            # A loop that ended on a lost database said so when it did; shutdown goes on.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller

    async def take(self, received: Received) -> list[Inbound]:
        """Record what came, then confirm it; returns the updates not seen before."""
        fresh = await self.ingress.admit(received.inbounds)
        received.confirm()
        return fresh

    async def _poll(self) -> None:
        """Poll forever; each batch is in the inbox before the platform is told it arrived.

        A refused poll waits what the platform asked (or a growing backoff) and polls again;
        a batch the database would not take is recorded again, or fetched again if the
        platform redelivers it, until it is in. Only a lost database ends the loop.
        """
        delay = self.retry_base
        held: Received | None = None
        name = self.channel.name
        while True:
            if held is None:
                try:
                    received = await self.channel.receive()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # refused, or network trouble: keep polling, politely
                    after = exc.retry_after if isinstance(exc, ReceiveError) else None
                    wait = delay if after is None else after
                    log.warning("%s: polling failed: %s; retrying in %.1f s", name, exc, wait)
                    await asyncio.sleep(wait)
                    delay = min(delay * 2, self.retry_max)
                    continue
                if self.health is not None:
                    self.health.ok(self.component)
            else:
                received = held
            try:
                await self.take(received)
            except asyncio.CancelledError:
                raise
            except DatabaseLost:
                log.critical("%s: updates not recorded: database lost; receiving stops", name)
                raise
            except Exception:
                # Not confirmed: the platform still has it, or we do.
                held = None if received.redelivered else received
                log.exception("%s: could not record updates; retrying in %.1f s", name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            held = None
            delay = self.retry_base
            # The handlers just started, then the deliveries they queued, begin before the
            # next long poll does (as PTB's own updater orders them): two turns of the loop.
            # Nothing waits for them; a handler that has to wait simply goes on after.
            for _ in range(2):
                await asyncio.sleep(0)
