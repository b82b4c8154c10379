"""The one way in: every update from every channel is recorded in the inbox, then handled.

A channel turns what its platform sent into `Inbound`s; its poll loop or its webhook route
hands them to `Ingress.admit`. `admit` returns once they are durable, so only then may the
platform be told they arrived (Telegram's next getUpdates offset, a webhook's 200): a crash
after that finds them pending and `Dispatcher.recover` handles them. A repeated delivery
(the same platform key) is dropped by the inbox's unique key and handled by nobody. The new
ones are handled in tasks of their own, so a slow handler never holds up receiving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from domain.messages import Inbound
from runtime.dispatcher import Dispatcher, Key

log = logging.getLogger(__name__)


class Ingress:
    """Record, then process: shared by every channel of one process."""

    def __init__(self, dispatcher: Dispatcher, *, max_concurrent: int = 64) -> None:
        """``max_concurrent`` bounds the conversations handled at once (the rest wait in line
        in memory; they are in the inbox already)."""
        self.dispatcher = dispatcher
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: set[asyncio.Task[None]] = set()

    async def admit(self, inbounds: Sequence[Inbound]) -> list[Inbound]:
        """Record a batch in the inbox and start handling the new ones; returns those.

        Returns once the batch is durable; raises (nothing recorded) when it could not be.
        """
        if not inbounds:
            return []
        fresh = await self.dispatcher.receive_many(inbounds)
        for inbound in fresh:
            task = asyncio.create_task(
                self._process(inbound.conversation_key), name=f"handle-{inbound.key}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return fresh

    async def submit(self, inbound: Inbound) -> bool:
        """Record one update and handle it before returning (the console, tests); False
        when it was delivered before."""
        fresh = await self.dispatcher.receive_many([inbound])
        if fresh:
            await self._process(inbound.conversation_key)
        return bool(fresh)

    async def _process(self, key: Key) -> None:
        async with self._slots:
            await self.dispatcher.process(key)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("handling an update failed", exc_info=task.exception())

    async def wait_handled(self) -> None:
        """Until every update admitted so far is handled (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace: float = 5.0) -> None:
        """Let handlers under way finish for up to `grace` seconds; those cancelled stay
        pending in the inbox and are handled at the next start."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
