"""What is alive: each long-running loop's last success, its restarts, its last error.

Loops report here (`ok`, `error`, `restarted`); `/readyz` and `thidua status`
read it. A component that has not succeeded within its limit is stale, and a
stale component makes the process not ready (503), so a monitor sees a deaf
bot instead of a green light.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from domain.models import Heartbeat
from runtime.context import Clock

log = logging.getLogger(__name__)


@dataclass
class _State:
    stale_after: dt.timedelta
    last_ok: dt.datetime | None = None
    last_error: str | None = None
    restarts: int = 0


@dataclass
class Health:
    clock: Clock
    started_at: dt.datetime | None = None
    _components: dict[str, _State] = field(default_factory=dict)

    def register(self, name: str, stale_after: dt.timedelta) -> None:
        self._components.setdefault(name, _State(stale_after))

    def ok(self, name: str) -> None:
        state = self._components.get(name)
        if state is not None:
            state.last_ok = self.clock.now()

    def error(self, name: str, exc: BaseException) -> None:
        state = self._components.get(name)
        if state is not None:
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]

    def restarted(self, name: str) -> None:
        state = self._components.get(name)
        if state is not None:
            state.restarts += 1

    def snapshot(self) -> list[Heartbeat]:
        """Every component now; one that never succeeded counts from the start."""
        now = self.clock.now()
        since = self.started_at or now
        return [
            Heartbeat(
                component=name,
                last_ok=state.last_ok,
                last_error=state.last_error,
                restarts=state.restarts,
                stale=now - (state.last_ok or since) > state.stale_after,
                checked_at=now,
            )
            for name, state in sorted(self._components.items())
        ]

    @property
    def ready(self) -> bool:
        return not any(beat.stale for beat in self.snapshot())
