"""Loops that heal: a long-running loop that fails or ends is logged and started again.

Every receive loop and sender runs under `supervise`, so no exception ends one
silently: it is logged with the loop's name, counted in the health report, and
the loop starts again after a backoff. Only cancellation (shutdown) and a lost
database (the process must stop) end it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.health import Health
from domain.errors import DatabaseLost

log = logging.getLogger(__name__)


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    health: Health | None = None,
    *,
    backoff_base: float = 1.0,
    backoff_max: float = 60.0,
) -> None:
    delay = backoff_base
    while True:
        try:
            await loop()
            log.error("%s ended by itself; starting it again in %.0f s", name, delay)
        except asyncio.CancelledError:
            raise
        except DatabaseLost:
            raise
        except Exception as exc:
            log.exception("%s failed; starting it again in %.0f s", name, delay)
            if health is not None:
                health.error(name, exc)
        if health is not None:
            health.restarted(name)
        await asyncio.sleep(delay)
        delay = min(delay * 2, backoff_max)
