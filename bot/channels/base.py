"""What every channel adapter offers the rest of the bot."""

from __future__ import annotations

from typing import Protocol

from domain.messages import Reply


class Channel(Protocol):
    """A messenger connection: receives updates into the dispatcher, delivers replies."""

    name: str

    async def start(self) -> None: ...

    async def stop_receiving(self) -> None:
        """No new updates from here on; sending still works (shutdown drains the outbox)."""
        ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send (or edit) one message; returns the platform's message id.

        Raises DeliveryError, whose `permanent` flag tells the outbox whether to retry.
        """
        ...
