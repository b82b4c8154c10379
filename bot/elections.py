"""Work one process at a time does when several serve one database: elected, with failover.

The scheduler (each firing fanned out once) and each polling channel's receive loop
(Telegram allows one getUpdates at a time; two pollers fight over the offset) run in
the process that holds their role (`Database.lead`: a PostgreSQL advisory lock held by
the process's session, dropped by the server however the process dies). The others
stand by and ask again every `every` seconds; the first to ask after the leader died
takes over. On SQLite (one process per file) every role is this process's at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.health import Health
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Role:
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]
    component: str | None = None
    """Its health component: reported fine while standing by (the leader does the work)."""


class Elections:
    def __init__(self, db: Database, every: float, health: Health | None = None) -> None:
        self.db = db
        self.every = every
        self.health = health
        self.roles: dict[str, Role] = {}
        self.held: set[str] = set()

    def add(self, name: str, role: Role) -> None:
        self.roles[name] = role

    async def check(self) -> None:
        """Take the free roles, start their work; stop the work of roles lost."""
        for name, role in list(self.roles.items()):
            leads = await self.db.lead(name)
            if leads and name not in self.held:
                self.held.add(name)
                if self.db.shared:
                    log.info("this process now leads %s", name)
                await role.start()
            elif not leads and name in self.held:
                self.held.discard(name)
                log.warning("this process no longer leads %s; it stands by", name)
                await role.stop()
            if not leads and role.component is not None and self.health is not None:
                self.health.ok(role.component)  # standing by is what it should do

    async def run(self) -> None:
        """Ask again and again (under a supervisor): a dead leader is replaced."""
        while True:
            await asyncio.sleep(self.every)
            await self.check()
