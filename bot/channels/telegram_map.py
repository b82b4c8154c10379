"""Telegram `Update` → plain `Inbound`, the only place that reads PTB objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from telegram import Message, Update

from domain.messages import ChatType, Inbound, InboundKind
from domain.models import Photo

CHANNEL = "telegram"


def _chat_type(message: Message) -> ChatType:
    return ChatType.PRIVATE if message.chat.type == "private" else ChatType.GROUP


def _command(text: str, username: str) -> tuple[str, str] | None:
    """("report", "gifts") for "/report@thidua_bot gifts"; None if addressed to another bot."""
    head, _, args = text[1:].partition(" ")
    name, _, target = head.partition("@")
    if target and username and target.lower() != username.lower():
        return None
    return name.lower(), args.strip()


def to_inbound(update: Update, now: dt.datetime, username: str = "") -> Inbound | None:
    """None for updates the bot ignores (other bots' commands, channel posts, service messages)."""
    key = f"{CHANNEL}:{update.update_id}"
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or query.data is None:
            return None
        return Inbound(
            channel=CHANNEL,
            key=key,
            chat_id=str(message.chat.id),
            chat_type=ChatType.PRIVATE if message.chat.type == "private" else ChatType.GROUP,
            sender_id=str(query.from_user.id),
            sender_name=query.from_user.full_name,
            kind=InboundKind.CHOICE,
            received_at=now,
            choice=query.data,
            message_ref=str(message.message_id),
        )
    edited = update.edited_message
    message = update.message or edited
    if message is None or message.from_user is None:
        return None
    base = Inbound(
        channel=CHANNEL,
        key=key,
        chat_id=str(message.chat.id),
        chat_type=_chat_type(message),
        sender_id=str(message.from_user.id),
        sender_name=message.from_user.full_name,
        kind=InboundKind.UNSUPPORTED,
        received_at=now,
        message_ref=str(message.message_id),
    )
    if edited is not None:
        return replace(base, kind=InboundKind.EDITED, text=edited.text or "")
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        photo = Photo(CHANNEL, largest.file_id, largest.file_unique_id, largest.file_size or 0)
        return replace(base, kind=InboundKind.PHOTO, text=message.caption or "", photos=(photo,))
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            parsed = _command(text, username)
            if parsed is None:
                return None
            return replace(
                base, kind=InboundKind.COMMAND, text=text, command=parsed[0], args=parsed[1]
            )
        return replace(base, kind=InboundKind.TEXT, text=text)
    if message.sticker is not None:
        return replace(base, kind=InboundKind.STICKER)
    if message.new_chat_members or message.left_chat_member or message.group_chat_created:
        return None
    return base
