"""Downloads every evidence photo into the store, in the background, retrying as the outbox does.

A report is saved with its photos as platform references (`report_photos`, state pending):
the officer's "Đã lưu" never waits for a download. This loop, supervised like the outbox
sender's, takes due photos from the table, asks the photo's channel for the bytes
(`MediaSource.fetch_media`: Telegram getFile + download, Zalo's image URL), checks them
(size limit, really a picture: Pillow reads the bytes, not the name), makes a thumbnail and
the difference hash, keeps the file by SHA-256 and marks the row stored.

A retryable failure (429, 5xx, network) schedules the row's next attempt with backoff, at
most `max_attempts` tries in all; a file the platform no longer has, or every try failing,
marks the row failed; a file too large or not a picture is refused. Each of these is
recorded with its reason and the officer is told which photo, why, and how to send another.
The table is the queue: a crash or restart loses nothing, and two processes fetching the
same photo only write the same content-addressed file twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.health import Health
from bot.supervisor import supervise
from domain.errors import DeliveryError, MediaTooLarge
from domain.evidence import PhotoState
from domain.messages import OutboxItem
from runtime.context import Clock
from storage.blobs import BlobStore
from storage.db import Database
from storage.evidence import PendingPhoto
from usecases import evidence

if TYPE_CHECKING:  # Pillow is imported with the first photo, not at start (the demo)
    from documents.images import ImageFacts

log = logging.getLogger(__name__)

COMPONENT = "evidence_fetch"


@runtime_checkable
class MediaSource(Protocol):
    """A channel that can hand over the bytes of a photo someone sent it."""

    async def fetch_media(self, file_ref: str, max_bytes: int) -> bytes:
        """The bytes; MediaTooLarge beyond `max_bytes`; DeliveryError (permanent or not)."""
        ...


class EvidenceFetcher:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Any],
        store: BlobStore,
        clock: Clock,
        translate: Callable[..., str],
        *,
        max_bytes: int,
        thumbnail_px: int = 320,
        max_attempts: int = 8,
        tell_within: dt.timedelta | None = None,
        on_outbox: Callable[[list[OutboxItem]], None] = lambda items: None,
        backoff_base: float = 2.0,
        backoff_max: float = 600.0,
        idle_poll: float = 30.0,
        first_look: float = 1.0,
        settle: float = 0.1,
        batch: int = 8,
    ) -> None:
        self.db = db
        self.channels = channels
        self.store = store
        self.clock = clock
        self.translate = translate
        self.max_bytes = max_bytes
        self.thumbnail_px = thumbnail_px
        self.max_attempts = max_attempts
        #: Only photos this recent are told about (the officer can still /edit the report);
        #: older ones (downloaded after an upgrade) are marked quietly.
        self.tell_within = tell_within
        self.on_outbox = on_outbox
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.idle_poll = idle_poll
        #: Seconds after start before the table is first read: start-up's own transactions
        #: (pending updates, the outbox) go first; a report saved meanwhile wakes it sooner.
        self.first_look = first_look
        #: Seconds between a wake-up and the look: the replies that woke it go out first,
        #: and a burst of them is one look, not one per reply.
        self.settle = settle
        self.batch = batch
        self.health: Health | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                supervise(COMPONENT, self._loop, self.health), name="evidence-fetch"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def wake(self) -> None:
        """A report may have brought photos: look at the table now."""
        self._wake.set()

    @property
    def sources(self) -> frozenset[str]:
        """The channels whose photos this process fetches (or marks unfetchable)."""
        return frozenset(self.channels)

    async def _loop(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.first_look):
                await self._wake.wait()
        while True:
            self._wake.clear()
            await self.run_due()
            if self.health is not None:
                self.health.ok(COMPONENT)
            async with self.db.transaction(inline=True) as tx:
                next_at = await evidence.next_due_at(tx, self.sources)
            timeout = self.idle_poll
            if next_at is not None:
                wait = (next_at - self.clock.now()).total_seconds()
                timeout = min(timeout, max(0.05, wait))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            if self._wake.is_set():
                await asyncio.sleep(self.settle)

    # ---- the work -------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Try every photo due now once; returns how many were tried."""
        tried = 0
        while True:
            # Inline (storage.db): woken after every reply, its two indexed reads must not
            # hold the connection across thread hops while the next update waits for it.
            async with self.db.transaction(inline=True) as tx:
                photos = await evidence.due(tx, self.sources, self.clock.now(), self.batch)
            if not photos:
                return tried
            for photo in photos:
                await self.fetch(photo)
            tried += len(photos)

    async def fetch(self, photo: PendingPhoto) -> PhotoState:
        """One attempt at one photo; returns the state it is left in."""
        source = self.channels.get(photo.channel)
        if not isinstance(source, MediaSource):  # the console: its photos are placeholders
            return await self._refuse(photo, PhotoState.FAILED, "no file to fetch", tell=False)
        try:
            data = await source.fetch_media(photo.file_ref, self.max_bytes)
        except MediaTooLarge as exc:
            return await self._refuse(photo, PhotoState.TOO_LARGE, str(exc))
        except DeliveryError as exc:
            return await self._failed(photo, exc.reason, exc.permanent, exc.retry_after)
        except Exception as exc:  # a client bug or an unforeseen network error: try again
            log.warning("evidence: photo #%d: %r", photo.id, exc)
            return await self._failed(photo, repr(exc), False, None)
        from documents import images

        try:
            facts, thumb = await asyncio.to_thread(self._check, data)
        except images.NotAnImage as exc:
            return await self._refuse(photo, PhotoState.NOT_IMAGE, str(exc))
        digest = await asyncio.to_thread(self.store.put, data, thumb)
        async with self.db.transaction() as tx:
            await evidence.stored(
                tx,
                photo,
                digest=digest,
                size=len(data),
                content_type=facts.content_type,
                width=facts.width,
                height=facts.height,
                dhash=facts.dhash,
                now=self.clock.now(),
            )
        return PhotoState.STORED

    def _check(self, data: bytes) -> tuple[ImageFacts, bytes]:
        from documents import images

        if len(data) > self.max_bytes:  # a source that did not count
            raise images.NotAnImage(f"{len(data)} bytes")
        return images.inspect(data), images.thumbnail(data, self.thumbnail_px)

    async def _failed(
        self, photo: PendingPhoto, reason: str, permanent: bool, retry_after: float | None
    ) -> PhotoState:
        if permanent or photo.attempts + 1 >= self.max_attempts:
            return await self._refuse(photo, PhotoState.FAILED, reason)
        delay = retry_after if retry_after is not None else self._backoff(photo.attempts)
        at = self.clock.now() + dt.timedelta(seconds=delay)
        async with self.db.transaction() as tx:
            await evidence.retry_later(tx, photo, at, reason)
        return PhotoState.PENDING

    def _backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2 ** min(attempts, 16))))

    async def _refuse(
        self, photo: PendingPhoto, state: PhotoState, reason: str, *, tell: bool = True
    ) -> PhotoState:
        log.info(
            "evidence: photo #%d of report #%d: %s (%s)", photo.id, photo.report_id, state, reason
        )
        now = self.clock.now()
        if self.tell_within is not None and now - photo.added_at > self.tell_within:
            tell = False
        async with self.db.transaction() as tx:
            item = await evidence.refuse(
                tx,
                photo,
                state,
                reason,
                translate=self.translate,
                limit_mb=self.max_bytes / (1024 * 1024),
                now=self.clock.now(),
                tell=tell,
            )
        if item is not None:
            self.on_outbox([item])
        return state
