"""Telegram Mini App sign-in: initData checked as Telegram's Web Apps documentation says.

secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the hash is
HMAC_SHA256(key=secret_key, msg=data_check_string) in hex, where data_check_string is every
received field but ``hash``, as ``key=value`` lines sorted by key and joined by "\\n".
A valid hash proves the data came from Telegram for THIS bot; ``auth_date`` not older than
the configured age stops an old copy being replayed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

#: A clock a little ahead of Telegram's must not refuse a fresh sign-in.
FUTURE_SKEW = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class TelegramUser:
    id: int
    auth_date: dt.datetime


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def signature(fields: dict[str, str], bot_token: str) -> str:
    """The hash Telegram puts in initData for these fields."""
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def check(raw: str, bot_token: str, now: dt.datetime, max_age: dt.timedelta) -> TelegramUser | None:
    """The Telegram user of a valid, fresh initData query string; None for anything else
    (malformed, a field twice, wrong hash or another bot's, stale, no user)."""
    if not raw or len(raw) > 8192 or not bot_token:
        return None
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        return None
    received = fields.get("hash", "")
    if not hmac.compare_digest(signature(fields, bot_token), received):
        return None
    try:
        auth_date = dt.datetime.fromtimestamp(int(fields.get("auth_date", "")), dt.UTC)
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"]) if isinstance(user, dict) else None
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        return None
    if user_id is None or now - auth_date > max_age or auth_date - now > FUTURE_SKEW:
        return None
    return TelegramUser(user_id, auth_date)
