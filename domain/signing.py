"""Button data the bot signed for one chat, so an edited or copied button is refused.

Telegram returns a button's data verbatim, but a client can send any data it
likes. A short HMAC over (channel, chat, data) appended to the data proves the
bot itself put exactly this button in exactly this chat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TAG_CHARS = 11  # 55 bits of base32: a forgery must guess online, one press at a time
SEPARATOR = ":"


def _tag(key: bytes, channel: str, chat_id: str, data: str) -> str:
    message = f"{channel}\x1f{chat_id}\x1f{data}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:TAG_CHARS].lower()


def sign(key: bytes, channel: str, chat_id: str, data: str) -> str:
    """`data` with its tag for this chat."""
    return f"{data}{SEPARATOR}{_tag(key, channel, chat_id, data)}"


def verify(key: bytes, channel: str, chat_id: str, signed: str) -> str | None:
    """The data without its tag when the bot signed it for this chat; None otherwise."""
    data, sep, tag = signed.rpartition(SEPARATOR)
    if not sep or not data:
        return None
    if not hmac.compare_digest(tag, _tag(key, channel, chat_id, data)):
        return None
    return data
