"""Assembly and lifecycle: config → database → dispatcher → channels and their outbox senders.

Start order matters: the database and the dispatcher exist before any channel
receives, and updates left pending by a crash are handled before new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field

from apscheduler.triggers.cron import CronTrigger

from bot.channels.base import Channel
from bot.clock import SystemClock
from bot.config import AppConfig, Secrets
from bot.i18n import Catalog
from bot.outbox_sender import OutboxSender
from bot.scheduler import Job, Scheduler
from domain.messages import OutboxItem
from domain.periods import PeriodKind
from handlers.context import Clock, HandlerSettings
from handlers.dispatcher import Dispatcher, prune
from handlers.reminders import Reminders
from handlers.standings import GroupPosts
from storage import org
from storage import targets as targets_repo
from storage.db import Database

log = logging.getLogger(__name__)

COMMANDS_VI = [
    ("report", "Báo cáo hoạt động"),
    ("quick", "Báo cáo nhanh một dòng"),
    ("myreports", "Báo cáo gần nhất của đơn vị"),
    ("cancel", "Huỷ báo cáo đang nhập"),
    ("back", "Quay lại mục trước"),
    ("lang", "Ngôn ngữ: vi | en"),
    ("help", "Hướng dẫn"),
]


def handler_settings(config: AppConfig, bot_username: str = "") -> HandlerSettings:
    reporting = config.reporting
    return HandlerSettings(
        indicators=config.indicators,
        units={u.code: u for u in config.units},
        tz=config.federation.tz,
        default_language=config.federation.default_language,
        period_kind=PeriodKind(reporting.period),
        open_days_after_period=reporting.open_days_after_period,
        edit_window=dt.timedelta(hours=reporting.edit_window_hours),
        conversation_timeout=dt.timedelta(minutes=config.bot.conversation_timeout_minutes),
        start_attempts=reporting.start_attempts,
        start_lockout=dt.timedelta(minutes=reporting.start_lockout_minutes),
        myreports_limit=reporting.myreports_limit,
        max_message_chars=config.bot.max_message_chars,
        bot_username=bot_username or (config.telegram.bot_username or ""),
        obligations=config.obligations,
        measures=config.all_measures,
        scoring=config.scoring,
        reminders=config.reminders,
    )


@dataclass
class App:
    config: AppConfig
    secrets: Secrets
    clock: Clock = field(default_factory=SystemClock)
    database: str | None = None
    catalog: Catalog = field(default_factory=Catalog)

    def __post_init__(self) -> None:
        self.db = Database(self.database or self.config.bot.database)
        self.dispatcher = Dispatcher(
            self.db,
            handler_settings(self.config),
            self.catalog,
            self.clock,
            on_outbox=self._hand_over,
        )
        self.channels: dict[str, Channel] = {}
        self.senders: dict[str, OutboxSender] = {}
        self.scheduler = Scheduler(self.db, self.clock, on_outbox=self._hand_over)
        self.scheduler.add(
            Job(
                "reminders",
                CronTrigger(minute="*/5", timezone=self.config.federation.tz),
                Reminders(self.dispatcher.settings, self.catalog).fire,
                grace=dt.timedelta(hours=12),
            )
        )
        self.scheduler.add(
            Job(
                "standings-posts",
                CronTrigger.from_crontab(
                    self.config.standings.post_cron, timezone=self.config.federation.tz
                ),
                GroupPosts(self.dispatcher.settings, self.catalog).fire,
                grace=dt.timedelta(hours=6),
            )
        )
        self.scheduler.housekeeping.append((self.dispatcher.expire_idle, 60))
        self.scheduler.housekeeping.append((self._prune, 6 * 3600))

    async def _prune(self) -> None:
        removed = await prune(self.db, self.clock.now())
        if removed:
            log.info("housekeeping: pruned %d delivered messages and handled updates", removed)

    def _hand_over(self, items: list[OutboxItem]) -> None:
        """Replies just committed go straight to their channel's sender."""
        for item in items:
            sender = self.senders.get(item.channel)
            if sender is not None:
                sender.submit([item])

    async def open(self) -> None:
        """Database up, migrations applied, organisation synced from config."""
        await self.db.open()
        async with self.db.transaction() as tx:
            await org.sync(tx, self.config.units, self.config.clusters)
            await targets_repo.sync_from_config(
                tx, [t.target() for t in self.config.targets], self.clock.now()
            )

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        self.senders[channel.name] = OutboxSender(self.db, channel, self.clock)

    def telegram_channel(self) -> Channel:
        from bot.channels.telegram import TelegramChannel

        token = self.secrets.telegram_bot_token
        if token is None:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
        tg = self.config.telegram
        return TelegramChannel(
            token=token.get_secret_value(),
            api_base_url=tg.api_base_url,
            file_base_url=tg.file_base_url,
            dispatcher=self.dispatcher,
            clock=self.clock,
            commands=COMMANDS_VI,
            concurrent_updates=tg.concurrent_updates,
            connection_pool_size=tg.connection_pool_size,
            poll_timeout=tg.poll_timeout_seconds,
            max_per_second=tg.max_messages_per_second,
            max_group_per_minute=tg.max_group_messages_per_minute,
        )

    async def start(self) -> None:
        await self.open()
        for sender in self.senders.values():
            await sender.start()
        recovered = await self.dispatcher.recover()
        if recovered:
            log.info("handled updates left pending by the last run in %d conversations", recovered)
        for name, channel in self.channels.items():
            await channel.start()
            if name == "telegram":
                username = getattr(channel, "username", "")
                if username:
                    self.dispatcher.settings = handler_settings(self.config, username)
            self.senders[name].wake()
        await self.scheduler.tick()  # catch up on firings missed while the bot was down
        self.scheduler.start(self.config.federation.tz)

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop receiving, give replies already due a moment to go out, then close."""
        self.scheduler.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop_receiving()
        for sender in self.senders.values():
            with contextlib.suppress(TimeoutError):
                await sender.wait_idle(drain_seconds)
        for sender in self.senders.values():
            await sender.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop()
        await self.db.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
