"""Assembly and lifecycle: config → database → dispatcher → channels and their outbox senders.

Every channel (from `bot.channels.registry`) is wired the same way: a `Receiver` takes its
updates (poll loop or webhook routes) into the one ingress (`runtime.ingress`: inbox, then
dispatcher), and an `OutboxSender` delivers its replies. Start order matters: the database
and the dispatcher exist before any channel receives, and updates left pending by a crash
are handled before new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from bot.channels import registry
from bot.channels.base import Channel, Receiver
from bot.clock import SystemClock
from bot.config import AppConfig, Secrets
from bot.elections import Elections, Role
from bot.evidence import COMPONENT as EVIDENCE_COMPONENT
from bot.evidence import EvidenceFetcher
from bot.health import Health
from bot.i18n import LANGUAGES, Catalog
from bot.media import MediaStore
from bot.outbox_sender import OutboxSender
from bot.scheduler import Job, Scheduler
from bot.supervisor import supervise
from domain.access import ActorRole
from domain.errors import ChannelStartError, DatabaseLost, StorageError
from domain.evidence import EvidencePhoto
from domain.messages import OutboxItem, Outgoing
from domain.models import ProcessBeat
from domain.periods import PeriodKind
from handlers import (
    dashboard,
    finalize,
    myreports,
    onboarding,
    people_admin,
    reminders,
    report,
    review,
    standings,
)
from runtime.context import Clock, HandlerSettings
from runtime.dispatcher import Dispatcher, prune
from runtime.ingress import Ingress
from runtime.router import Router
from runtime.routes import Feature
from storage import backup as backups
from storage import health as health_repo
from storage import org
from storage import targets as targets_repo
from storage.blobs import BlobStore
from storage.db import Database
from storage.lock import ProcessLock
from usecases import evidence as evidence_uc

if TYPE_CHECKING:  # aiohttp is imported only when a channel receives by webhook
    from aiohttp import web

    from bot.webhook import WebhookServer

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
#: A process not seen for this long is forgotten by the others' heartbeats (killed, or its
#: host retired); until then `thidua status` shows it as not seen since.
FORGET_PROCESSES_AFTER = dt.timedelta(days=1)
"""The role of the process that runs scheduled firings (bot.elections)."""


#: The features the bot is built with; each declares its commands, buttons, flows, help
#: paragraphs and scheduled jobs (runtime.routes.Feature). A new feature module goes here.
FEATURES: tuple[Feature, ...] = (
    onboarding.FEATURE,
    report.FEATURE,
    myreports.FEATURE,
    reminders.FEATURE,
    standings.FEATURE,
    people_admin.FEATURE,
    dashboard.FEATURE,
    finalize.FEATURE,
    review.FEATURE,
)


def make_router(features: tuple[Feature, ...] = FEATURES) -> Router:
    """The routes of these features, assembled (conflicts refused at start)."""
    return Router(features)


def guest_commands(
    catalog: Catalog, default_language: str, router: Router | None = None
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The command menu before registration, per app language ("" for any other language).

    Registered people get their role's menu in their own chat with the
    replies that show the menu keyboard (Router.menu_commands).
    """
    router = router or make_router()
    guests = frozenset({ActorRole.UNREGISTERED})
    menus = {lang: router.menu_commands(guests, lang, catalog) for lang in LANGUAGES}
    return {"": menus[default_language], **menus}


def handler_settings(config: AppConfig) -> HandlerSettings:
    reporting = config.reporting
    return HandlerSettings(
        indicators=config.indicators,
        units={u.code: u for u in config.units},
        federation_name=config.federation.name,
        federation_place=config.federation.place,
        tz=config.federation.tz,
        default_language=config.federation.default_language,
        period_kind=PeriodKind(reporting.period),
        open_days_after_period=reporting.open_days_after_period,
        edit_window=dt.timedelta(hours=reporting.edit_window_hours),
        conversation_timeout=dt.timedelta(minutes=config.bot.conversation_timeout_minutes),
        start_attempts=reporting.start_attempts,
        start_lockout=dt.timedelta(minutes=reporting.start_lockout_minutes),
        myreports_limit=reporting.myreports_limit,
        unlock_for=dt.timedelta(hours=reporting.unlock_hours),
        max_message_chars=config.bot.max_message_chars,
        obligations=config.obligations,
        measures=config.all_measures,
        scoring=config.scoring,
        pro_rate=config.standings.pro_rate,
        reminders=config.reminders,
        standings_post_cron=config.standings.post_cron,
        web_url=config.web.public_url if config.web.enabled else None,
        outliers=reporting.outliers,
        review=config.review,
    )


@dataclass
class App:
    config: AppConfig
    secrets: Secrets
    clock: Clock = field(default_factory=SystemClock)
    database: str | None = None
    catalog: Catalog = field(default_factory=Catalog)
    channel_retry_delay: float = 5.0
    on_channel: Callable[[str, Exception | None], None] | None = None
    """Told when a channel connects (None) or fails to (the error): the CLI's status lines."""

    def __post_init__(self) -> None:
        password = self.secrets.thidua_database_password
        self.db = Database(
            self.database or self.config.bot.database,
            password=password.get_secret_value() if password else None,
        )
        self.router = make_router()
        self.dispatcher = Dispatcher(
            self.db,
            handler_settings(self.config),
            self.catalog,
            self.clock,
            router=self.router,
            on_outbox=self._hand_over,
            on_action=self._indicate,
        )
        # One bound for all channels: how many conversations are handled at once.
        self.ingress = Ingress(
            self.dispatcher, max_concurrent=self.config.telegram.concurrent_updates
        )
        self.channels: dict[str, Channel] = {}
        self.receivers: dict[str, Receiver] = {}
        self.server: WebhookServer | None = None
        self.media: MediaStore | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self.senders: dict[str, OutboxSender] = {}
        self.health = Health(self.clock)
        self.who = (
            f"thidua run, pid {os.getpid()} on {socket.gethostname()}, "
            f"{self.clock.now().isoformat(timespec='seconds')}"
        )
        # Several processes on one database: this one's name on the outbox rows it leases.
        self.owner = f"{self.who} #{token_hex(4)}" if self.db.shared else None
        # Its heartbeats' key: unique per run (a pid is reused, a host runs several).
        self.process_key = token_hex(8)
        self._beating = False  # started, and its heartbeats not yet removed
        self.elections = Elections(self.db, self.config.bot.standby_check_seconds, self.health)
        self._electing: asyncio.Task[None] | None = None
        stale = dt.timedelta(seconds=self.config.health.stale_seconds)
        self.health.register("scheduler", stale)
        self.evidence = self._evidence_fetcher()
        self.scheduler = Scheduler(self.db, self.clock, on_outbox=self._hand_over)
        self.scheduler.on_tick = partial(self.health.ok, "scheduler")
        self.scheduler.leads = self._leads_scheduler
        settings = self.dispatcher.settings
        for job in self.router.jobs:  # every feature's scheduled work
            trigger = CronTrigger.from_crontab(job.cron(settings), timezone=settings.tz)
            work = job.make(settings, self.catalog)
            self.scheduler.add(
                Job(job.id, trigger, work.run, job.grace, after_commit=work.after_commit)
            )
        self.scheduler.housekeeping.append((self.dispatcher.expire_idle, 60))
        self.scheduler.housekeeping.append((self._catch_up, 30))
        self.scheduler.housekeeping.append((self._prune, 6 * 3600))
        self.scheduler.housekeeping.append((self._heartbeat, 30))
        path = self.db.path
        self.lock = ProcessLock(path) if path != ":memory:" and "://" not in path else None
        if self.lock is not None and self.config.backup.enabled:
            trigger = CronTrigger.from_crontab(
                self.config.backup.cron, timezone=self.config.federation.tz
            )
            self.scheduler.timed.append((self._scheduled_backup, trigger))

    async def backup_now(self) -> backups.BackupResult:
        """A verified copy into the backup folder, then the retention rule applied."""
        settings = self.config.backup
        folder = Path(settings.folder)
        source = Path(self.db.path)
        now = self.clock.now().astimezone(self.config.federation.tz).replace(tzinfo=None)
        dest = folder / backups.backup_name(source, now)
        result = await asyncio.to_thread(backups.backup, source, dest)
        await asyncio.to_thread(
            backups.prune, folder, source, settings.keep_daily, settings.keep_monthly
        )
        return result

    async def _scheduled_backup(self) -> None:
        try:
            result = await self.backup_now()
        except Exception:  # logged with context; the next firing tries again
            log.exception("backup of %s failed", self.db.path)
            return
        log.info("backup: %s (%d KB)", result.path, result.size // 1024)

    async def _catch_up(self) -> None:
        """Updates left pending while the database refused writes are handled once it takes them."""
        try:
            handled = await self.dispatcher.recover()
        except StorageError as exc:
            log.warning("catching up on pending updates failed (%s); next try soon", exc)
            return
        if handled:
            log.info("caught up on pending updates in %d conversations", handled)

    def _leads_scheduler(self) -> bool:
        return SCHEDULER in self.elections.held

    async def _prune(self) -> None:
        if not self._leads_scheduler():  # the leader prunes for everyone
            return
        removed = await prune(self.db, self.clock.now())
        if removed:
            log.info("housekeeping: pruned %d delivered messages and handled updates", removed)

    def _evidence_fetcher(self) -> EvidenceFetcher | None:
        """Photos downloaded into the evidence store as they come ([evidence])."""
        settings = self.config.evidence
        if not settings.enabled:
            return None
        folder = settings.folder_for(self.db.path)
        if folder is None:  # said by start(), once the database answered
            return None
        fetcher = EvidenceFetcher(
            self.db,
            self.channels,
            BlobStore(folder),
            self.clock,
            self.catalog,
            max_bytes=settings.max_bytes,
            thumbnail_px=settings.thumbnail_px,
            max_attempts=settings.max_attempts,
            tell_within=dt.timedelta(hours=self.config.reporting.edit_window_hours),
            on_outbox=self._hand_over,
        )
        fetcher.health = self.health
        self.health.register(EVIDENCE_COMPONENT, dt.timedelta(seconds=300))
        return fetcher

    def _hand_over(self, items: list[OutboxItem]) -> None:
        """Replies just committed go straight to their channel's sender (and a saved report
        may have brought photos to download)."""
        for item in items:
            sender = self.senders.get(item.channel)
            if sender is not None:
                sender.submit([item])
        if self.evidence is not None and items:  # after the senders: the replies go first
            self.evidence.wake()

    def _indicate(self, outgoing: Outgoing) -> None:
        """A "typing…" indicator before a slow answer goes straight to its channel."""
        sender = self.senders.get(outgoing.channel)
        if sender is not None:
            sender.indicate(outgoing.chat_id, outgoing.reply)

    async def open(self) -> None:
        """Database up, migrations applied, organisation synced from config."""
        await self.db.open()
        async with self.db.transaction() as tx:
            await org.sync(tx, self.config.units, self.config.clusters)
            await targets_repo.sync_from_config(
                tx, [t.target() for t in self.config.targets], self.clock.now()
            )

    def add_channel(self, channel: Channel) -> None:
        """Wire a channel: its updates into the ingress, its replies out through a sender."""
        self.channels[channel.name] = channel
        stale = dt.timedelta(seconds=self.config.health.stale_seconds)
        lease = dt.timedelta(seconds=self.config.bot.outbox_lease_seconds)
        sender = OutboxSender(self.db, channel, self.clock, owner=self.owner, lease=lease)
        self.senders[channel.name] = sender
        sender.health = self.health
        self.health.register(f"{channel.name}.send", stale)
        receiver = Receiver(channel, self.ingress, health=self.health)
        self.receivers[channel.name] = receiver
        if channel.polling:
            self.health.register(receiver.component, stale)

    def process_beat(self) -> ProcessBeat:
        """This process as `thidua status` shows it: where, its elected roles, its loops."""
        now = self.clock.now()
        return ProcessBeat(
            key=self.process_key,
            host=socket.gethostname(),
            pid=os.getpid(),
            roles=tuple(sorted(self.elections.held)),
            started_at=self.health.started_at or now,
            seen_at=now,
            beats=tuple(self.health.snapshot()),
        )

    async def _heartbeat(self) -> None:
        """What the loops last did, for `thidua status` in another process: one row per
        process, so several processes on one database each show their own."""
        beat = self.process_beat()
        try:
            async with self.db.transaction() as tx:
                await health_repo.put(tx, beat, beat.seen_at - FORGET_PROCESSES_AFTER)
        except StorageError as exc:
            log.warning("could not record heartbeats: %s", exc)

    async def readiness(self) -> tuple[bool, dict[str, object]]:
        """/readyz: every loop fresh, the database answering, no message stuck in the outbox."""
        now = self.clock.now()
        beats = self.health.snapshot()
        detail: dict[str, object] = {
            b.component: {
                "ok": not b.stale,
                "last_ok": b.last_ok.isoformat() if b.last_ok else None,
                "restarts": b.restarts,
                **({"last_error": b.last_error} if b.last_error else {}),
            }
            for b in beats
        }
        ready = not any(b.stale for b in beats)
        try:
            async with self.db.transaction() as tx:
                pending, oldest = await health_repo.outbox_backlog(tx)
        except StorageError as exc:
            detail["database"] = {"ok": False, "error": type(exc).__name__}
            return False, detail
        age = (now - oldest).total_seconds() if oldest else 0.0
        stuck = age > self.config.health.outbox_stale_seconds
        detail["database"] = {"ok": True}
        detail["outbox"] = {"ok": not stuck, "pending": pending, "oldest_seconds": round(age)}
        return ready and not stuck, detail

    def _media(self) -> MediaStore:
        """Generated files served under expiring URLs (for channels that send images by URL)."""
        if self.media is None:
            self.media = MediaStore(clock=self.clock)
        return self.media

    def channel_setup(self) -> registry.ChannelSetup:
        """What channels are built from."""
        return registry.ChannelSetup(
            config=self.config,
            secrets=self.secrets,
            clock=self.clock,
            catalog=self.catalog,
            db=self.db,
            media=self._media,
            evidence=self.evidence.store if self.evidence is not None else None,
            guest_menu=guest_commands(
                self.catalog, self.config.federation.default_language.value, self.router
            ),
        )

    def build_channel(self, name: str) -> Channel:
        """The registered channel `name`, built from this app's config and secrets."""
        return registry.kind(name).build(self.channel_setup())

    def enabled_channels(self) -> list[Channel]:
        """Each registered channel that is enabled in config and has its token."""
        setup = self.channel_setup()
        return [kind.build(setup) for kind in registry.kinds() if kind.enabled(setup)]

    def webhook_server(self) -> WebhookServer | None:
        """The HTTP server, when a channel receives by webhook, media are served, or health
        is asked for."""
        hooked = [r for r in self.receivers.values() if r.channel.webhooks()]
        dashboard = self.dashboard if self.config.web.enabled else None
        if not hooked and self.media is None and not self.config.health.serve and not dashboard:
            return None
        from bot.webhook import WebhookServer

        hook = self.config.webhook
        return WebhookServer(
            hook.host,
            hook.port,
            receivers=hooked,
            media=self.media,
            ready=self.readiness,
            dashboard=dashboard,
        )

    def dashboard(self) -> web.Application:
        """The /app sub-application (web/), given what it needs of this app."""
        from web.app import build
        from web.context import WebDeps

        settings = self.config.web
        token = self.secrets.telegram_bot_token
        secret = self.secrets.thidua_web_secret
        return build(
            WebDeps(
                transaction=self.db.transaction,
                settings=self.dispatcher.settings,
                translate=self.catalog,
                clock=self.clock,
                public_url=settings.public_url,
                session_lifetime=dt.timedelta(hours=settings.session_hours),
                init_data_max_age=dt.timedelta(seconds=settings.init_data_max_age_seconds),
                bot_token=token.get_secret_value() if token else None,
                secret=secret.get_secret_value().encode() if secret else None,
                on_outbox=self._hand_over,
                mini_app=settings.mini_app,
                invite_link=self.config.telegram.deep_link,
                photo=self._evidence_photo if self.evidence is not None else None,
            )
        )

    def _evidence_photo(self, photo: EvidencePhoto, full: bool) -> bytes | None:
        """A stored evidence photo for the dashboard: its thumbnail, or the original."""
        assert self.evidence is not None
        store = self.evidence.store
        return evidence_uc.original(store, photo) if full else evidence_uc.thumbnail(store, photo)

    async def start(self) -> None:
        """Take the database for this process (DatabaseInUse if another has it), then serve."""
        if self.lock is not None:
            self.lock.acquire(self.clock.now())
        try:
            await self.db.hold_process(self.who)
            await self.open()
        except BaseException:
            if self.lock is not None:
                self.lock.release()
            await self.db.release_process()
            raise
        self.health.started_at = self.clock.now()
        self._beating = True
        for sender in self.senders.values():
            await sender.start()
        recovered = await self.dispatcher.recover()
        if recovered:
            log.info("handled updates left pending by the last run in %d conversations", recovered)
        self.server = self.webhook_server()
        if self.server is not None:
            await self.server.start()  # before the channels: early deliveries get 503, resent
        for name in self.channels:
            await self._start_channel(name)
        # Its first tick catches up on firings missed while the bot was down.
        self.elections.add(SCHEDULER, Role(self._tick, self._no_work))
        await self.elections.check()
        self.scheduler.start(self.config.federation.tz)
        if self.evidence is not None:
            self.evidence.start()
        elif self.config.evidence.enabled:
            log.warning("[evidence] folder is not set: photos are kept as platform references")
        if self.db.shared:  # the others' roles are taken over when their process dies
            self._electing = asyncio.create_task(
                supervise("elections", self.elections.run, self.health), name="elections"
            )

    async def _tick(self) -> None:
        await self.scheduler.tick()

    async def _no_work(self) -> None:
        """The scheduler's work stops by itself: every tick asks whether it still leads."""

    async def _receive(self, name: str) -> None:
        """Take the channel's updates: webhooks on every process; a poll loop in the one
        process elected for it (the others take over when it dies)."""
        receiver = self.receivers[name]
        if not receiver.channel.polling:
            receiver.start()
            return

        async def start() -> None:
            receiver.start()

        self.elections.add(f"{name}.poll", Role(start, receiver.stop, receiver.component))
        await self.elections.check()

    async def _start_channel(self, name: str) -> bool:
        """Start one messenger; if it fails (Zalo down), the others go on and it is retried."""
        channel = self.channels[name]
        try:
            await channel.start()
        except Exception as exc:
            # One line, not a traceback: the reason is what the operator can act on.
            log.debug("%s failed to start", name, exc_info=not isinstance(exc, ChannelStartError))
            if self.on_channel is None:
                log.warning("%s failed to start (%s); retrying in the background", name, exc)
            else:
                self.on_channel(name, exc)
            self._retries.add(asyncio.create_task(self._keep_trying(name)))
            return False
        await self._receive(name)
        if self.on_channel is not None:
            self.on_channel(name, None)
        self.senders[name].wake()
        return True

    async def _keep_trying(self, name: str) -> None:
        delay = self.channel_retry_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await self.channels[name].start()
            except Exception as exc:
                delay = min(delay * 2, 300.0)
                log.warning("%s still failing to start (%s); next try in %.0f s", name, exc, delay)
                continue
            log.info("%s started", name)
            await self._receive(name)
            if self.on_channel is not None:
                self.on_channel(name, None)
            self.senders[name].wake()
            return

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop receiving, give replies already due a moment to go out, then close."""
        self.scheduler.stop()
        if self.evidence is not None:
            await self.evidence.stop()
        for retry in self._retries:
            retry.cancel()
        if self._electing is not None:
            self._electing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._electing
        for receiver in self.receivers.values():
            await receiver.stop()
        if self.server is not None:
            await self.server.stop()
        # Handlers under way finish (their replies go out below); the rest stay pending.
        await self.ingress.stop(drain_seconds)
        for sender in self.senders.values():
            with contextlib.suppress(TimeoutError):
                await sender.wait_idle(drain_seconds)
        for sender in self.senders.values():
            await sender.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop()
        if self._beating:  # a clean stop leaves no heartbeat to look stale
            self._beating = False
            try:
                async with self.db.transaction() as tx:
                    await health_repo.forget(tx, self.process_key)
            except StorageError as exc:
                log.warning("could not remove this process's heartbeats: %s", exc)
        await self.db.close()
        if self.lock is not None:
            self.lock.release()

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then stop; DatabaseLost if the database file went away."""
        try:
            waiters = {
                asyncio.create_task(stop.wait()),
                asyncio.create_task(self.db.lost.wait()),
            }
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            await self.stop()
        if self.db.lost.is_set():
            raise DatabaseLost(self.db.path)
