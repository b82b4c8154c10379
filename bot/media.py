"""Generated images kept in memory and served by ``bot.webhook`` under ``/media/{token}``.

Zalo's ``sendPhoto`` takes a public URL, not bytes, so an image the bot generated (a standings
chart) is put here and its URL handed to Zalo, which fetches it. Each image gets an
unguessable token (``secrets.token_urlsafe(32)``, 256 bits) and expires after ``ttl``; the
store is bounded (item count and total bytes), evicting the oldest first, so a busy day cannot
exhaust memory. Nothing here is persistent: after a restart old URLs answer 404, which only
matters to a Zalo fetch that has not happened yet (the outbox then retries and stores again).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Protocol

DEFAULT_TTL: Final = dt.timedelta(hours=24)
DEFAULT_MAX_ITEMS: Final = 200
DEFAULT_MAX_BYTES: Final = 50 * 1024 * 1024
#: 32 random bytes, URL-safe base64: 43 characters.
TOKEN_BYTES: Final = 32


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


@dataclass(frozen=True, slots=True)
class MediaItem:
    data: bytes
    content_type: str
    filename: str
    expires_at: dt.datetime


class MediaStore:
    """Images by unguessable token, expiring after ``ttl`` by the injected clock."""

    def __init__(
        self,
        *,
        clock: Clock,
        ttl: dt.timedelta = DEFAULT_TTL,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if ttl <= dt.timedelta(0):
            raise ValueError("ttl must be positive")
        if max_items < 1 or max_bytes < 1:
            raise ValueError("max_items and max_bytes must be positive")
        self.clock = clock
        self.ttl = ttl
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, MediaItem] = OrderedDict()  # oldest first
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def put(self, data: bytes, content_type: str, filename: str) -> str:
        """Keep ``data``; return the token under which :meth:`get` finds it until it expires."""
        if len(data) > self.max_bytes:
            raise ValueError(f"{len(data)} bytes exceed the media store's {self.max_bytes}")
        now = self.clock.now()
        self._drop_expired(now)
        while self._items and (
            len(self._items) >= self.max_items or self._bytes + len(data) > self.max_bytes
        ):
            self._pop_oldest()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._items[token] = MediaItem(data, content_type, filename, now + self.ttl)
        self._bytes += len(data)
        return token

    def get(self, token: str) -> tuple[bytes, str] | None:
        """``(bytes, content type)``, or None when the token is unknown or expired."""
        item = self._items.get(token)
        if item is None:
            return None
        if self.clock.now() >= item.expires_at:
            self._remove(token)
            return None
        return item.data, item.content_type

    def _drop_expired(self, now: dt.datetime) -> None:
        # Same ttl for all, so insertion order is expiry order.
        while self._items:
            token, item = next(iter(self._items.items()))
            if now < item.expires_at:
                break
            self._remove(token)

    def _pop_oldest(self) -> None:
        _, item = self._items.popitem(last=False)
        self._bytes -= len(item.data)

    def _remove(self, token: str) -> None:
        item = self._items.pop(token)
        self._bytes -= len(item.data)
