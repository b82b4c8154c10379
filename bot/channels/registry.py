"""Every messenger the bot can speak through, registered in one place.

A channel kind is a name, a rule saying whether this deployment uses it, and a builder that
makes the channel from the app's parts (`ChannelSetup`). `bot.app.App` asks this registry for
the enabled channels and wires each the same way: a `Receiver` into the ingress, an
`OutboxSender` for its replies, its webhook routes on the server. Adding a messenger
(WhatsApp, SMS) is its module in bot/channels/ plus one `register` line at the bottom here.

Builders import their module when called, so a deployment without Telegram never imports
python-telegram-bot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.channels.base import Channel
from bot.config import AppConfig, Secrets
from bot.i18n import Catalog
from bot.media import MediaStore
from runtime.context import Clock
from storage.blobs import BlobStore
from storage.db import Database


class ChannelNotConfigured(RuntimeError):
    """The channel was asked for but its token (or another secret it needs) is not set."""


@dataclass(frozen=True)
class ChannelSetup:
    """What a channel may be built from."""

    config: AppConfig
    secrets: Secrets
    clock: Clock
    catalog: Catalog
    db: Database
    media: Callable[[], MediaStore]
    """The app's store of generated files served under expiring URLs, made on first use."""
    guest_menu: Mapping[str, Sequence[tuple[str, str]]]
    """The command menu before registration, per app language ("" = any other language)."""
    evidence: BlobStore | None = None
    """Where stored evidence photos are read from, for replies that show them (`album`)."""


@dataclass(frozen=True)
class ChannelKind:
    name: str
    enabled: Callable[[ChannelSetup], bool]
    """Switched on in config with its token given: `thidua run` starts it."""
    build: Callable[[ChannelSetup], Channel]
    """The channel; raises ChannelNotConfigured when a secret it needs is missing."""


_KINDS: dict[str, ChannelKind] = {}


def register(kind: ChannelKind) -> None:
    """Make a channel kind known; a name is registered once."""
    if kind.name in _KINDS:
        raise ValueError(f"channel {kind.name!r} is registered already")
    _KINDS[kind.name] = kind


def unregister(name: str) -> None:
    """Forget a channel kind (tests that register their own)."""
    _KINDS.pop(name, None)


def kinds() -> list[ChannelKind]:
    """The registered kinds, in registration order."""
    return list(_KINDS.values())


def kind(name: str) -> ChannelKind:
    found = _KINDS.get(name)
    if found is None:
        raise KeyError(f"no channel {name!r} is registered (known: {', '.join(_KINDS)})")
    return found


# ---- the messengers ------------------------------------------------------------------------


def _telegram(setup: ChannelSetup) -> Channel:
    from bot.channels.telegram import build

    return build(setup)


def _zalo(setup: ChannelSetup) -> Channel:
    from bot.channels.zalo import build

    return build(setup)


register(
    ChannelKind(
        "telegram",
        enabled=lambda s: s.config.telegram.enabled and s.secrets.telegram_bot_token is not None,
        build=_telegram,
    )
)
register(
    ChannelKind(
        "zalo",
        enabled=lambda s: s.config.zalo.enabled and s.secrets.zalo_bot_token is not None,
        build=_zalo,
    )
)
