"""A fake Telegram Bot API server that the real python-telegram-bot stack talks to over HTTP.

Why a server and not mocks: the bot under test keeps its real PTB ``Application``, HTTPX
transport, rate limiter and (de)serialisation, so tests exercise exactly what production does.
Only Telegram itself is replaced, by an aiohttp app bound to 127.0.0.1 on a free port.

Wire format (PTB 22, ``telegram.request.HTTPXRequest``): every call is a POST whose body is
``application/x-www-form-urlencoded`` -- or ``multipart/form-data`` when a file is uploaded --
where ``str`` values are sent verbatim and every other value is ``json.dumps``-ed. So ``5`` and
``"5"`` look the same on the wire; the fake keeps parameters known to be strings (``text``,
``caption``, ``parse_mode`` ...) verbatim and JSON-decodes the rest.

Usage::

    async with FakeTelegramAPI() as fake:
        app = (ApplicationBuilder().token(fake.token)
               .base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot").build())
        alice = fake.user(1001, "Alice")
        alice.send("/start")
        await fake.wait_calls(1, method="sendMessage", chat_id=alice.id)
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import hashlib
import heapq
import itertools
import json
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Self

from aiohttp import web

JSON = dict[str, Any]
ChatId = int | str

DEFAULT_TOKEN: Final = "123456:TEST-token"
BOT_USERNAME: Final = "thidua_test_bot"
BOT_FIRST_NAME: Final = "Thidua Test Bot"

#: Methods whose calls put (or change) a message in front of a user; the default for ``sent()``.
MESSAGE_METHODS: Final = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")
TEXT_METHODS: Final = ("sendMessage", "editMessageText")

#: Pass as ``status`` to :meth:`FakeTelegramAPI.fail_next` to cut the TCP connection instead
#: of answering (PTB then raises ``NetworkError`` from an httpx transport error).
DROP_CONNECTION: Final = 0

#: Parameters whose values are strings in the Bot API. PTB sends ``str`` values un-encoded, so
#: these must never be JSON-decoded (a text "123" must stay "123", not become 123).
_STRING_PARAMS: Final = frozenset(
    [
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "foursquare_id",
        "google_place_id",
        "inline_message_id",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "photo",
        "provider_token",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "sticker",
        "switch_pm_text",
        "text",
        "thumbnail",
        "title",
        "url",
        "vcard",
        "video",
        "video_note",
        "voice",
    ]
)

_DEFAULT_DESCRIPTIONS: Final = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

#: Update types Telegram delivers when ``allowed_updates`` was never set (or set to []).
_DEFAULT_EXCLUDED_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)

_INLINE_BUTTON_ACTIONS: Final = frozenset(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)

_CHAT_ACTIONS: Final = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)

_BOT_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}")

_SEND_PREFIXES: Final = ("send",)
_RATE_LIMITED_PREFIXES: Final = ("send", "edit")

_PARSE_ERROR: Final = "Bad Request: can't parse entities: "


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Call:
    """One request the bot made, kept so tests can assert on exactly what reached "Telegram".

    ``status`` is ``None`` while the request is still being answered (a long poll), then the HTTP
    status returned; ``result`` is the ``result`` field of a successful answer.
    """

    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    seq: int = 0
    status: int | None = None
    result: Any = None
    description: str | None = None
    _chat: ChatId | None = field(default=None, init=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether Telegram accepted the call (the user would see its effect)."""
        return self.status == 200

    @property
    def chat_id(self) -> ChatId | None:
        """The target chat, normalised to ``int`` when numeric."""
        if self._chat is not None:
            return self._chat
        raw = self.params.get("chat_id")
        return None if raw is None else _norm_chat(raw)

    @property
    def text(self) -> str | None:
        """``text`` for messages, ``caption`` for media: what the user reads."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def message_id(self) -> int | None:
        """The message id Telegram answered with (or the one edited/deleted)."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return int(self.result["message_id"])
        mid = self.params.get("message_id")
        return int(mid) if isinstance(mid, int) else None

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons of this call, flattened row by row."""
        markup = self.params.get("reply_markup")
        if not isinstance(markup, dict):
            return []
        return [btn for row in markup.get("inline_keyboard", []) for btn in row]

    @property
    def callback_data(self) -> list[str]:
        """The ``callback_data`` of every inline button, in keyboard order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def __repr__(self) -> str:
        text = self.text
        shown = f" text={text[:40]!r}" if text is not None else ""
        return f"<Call #{self.seq} {self.method} chat={self.chat_id} status={self.status}{shown}>"


@dataclass(slots=True)
class Stats:
    """Counters for benchmarks: how much traffic the bot generated and how often it was throttled.

    ``too_many_requests`` counts every 429 answered (injected, outage or rate limiter);
    ``rate_limited`` only those from :meth:`FakeTelegramAPI.rate_limit`.
    """

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0
    rate_limited: int = 0
    unauthorized: int = 0


@dataclass(slots=True)
class StoredFile:
    """A file Telegram "has": uploaded by the bot or sent by a simulated user."""

    file_id: str
    file_unique_id: str
    file_size: int
    file_path: str
    content: bytes | None = None
    filename: str | None = None


@dataclass(slots=True)
class Outage:
    """An active outage window; ``end()`` closes it early. Returned by ``fake.outage()``."""

    status: int
    description: str
    retry_after: int | None
    until_time: float | None
    until: Callable[[FakeTelegramAPI], bool] | None
    methods: frozenset[str] | None
    ended: bool = False
    failures: int = 0

    def end(self) -> None:
        """Stop failing requests from now on."""
        self.ended = True

    def applies_to(self, method: str) -> bool:
        """Outages hit send* methods unless an explicit method set was given."""
        if self.methods is not None:
            return method in self.methods
        return method.startswith(_SEND_PREFIXES)


@dataclass(slots=True)
class _Failure:
    status: int
    description: str
    retry_after: int | None
    chat_id: ChatId | None
    remaining: int


class ApiError(Exception):
    """Raise from a method handler to answer ``{"ok": false, ...}`` like Telegram does."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


_COMMAND_SCOPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def _commands_key(scope: dict[str, Any], language: str) -> str:
    return json.dumps([scope, language], sort_keys=True)


def _bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _norm_chat(value: Any) -> ChatId:
    """Chat ids arrive as ints (decoded JSON) or as strings from domain code; index on ints."""
    if isinstance(value, bool):
        raise TypeError("chat_id must not be a bool")
    if isinstance(value, int):
        return value
    text = str(value)
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def _utf16_len(text: str) -> int:
    """Telegram entity offsets/lengths are in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _decode_form_value(key: str, value: str) -> Any:
    """Undo PTB's encoding: strings are raw, everything else is JSON."""
    if key in _STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    # PTB never JSON-encodes a str, so a decoded str means the raw text was what was meant.
    return value if isinstance(decoded, str) else decoded


_HTML_TAGS: Final = frozenset(
    [
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    ]
)
_HTML_ENTITY_RE: Final = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_HTML_TAG_NAME_RE: Final = re.compile(r"[^\s>]*")
_HTML_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _render_html(text: str) -> str:
    """Strip HTML markup the way Telegram does, raising its errors for markup it rejects.

    Follows tdlib's ``parse_html``: ``<`` always opens a tag, only a fixed tag set is allowed,
    tags must nest, and unknown ``&...`` sequences are kept literally.
    """
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                name = match.group(1)
                if name.startswith("#x"):
                    out.append(chr(int(name[2:], 16)))
                elif name.startswith("#"):
                    out.append(chr(int(name[1:])))
                else:
                    out.append(_HTML_NAMED[name])
                i = match.end()
                continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end == -1:
                raise ApiError(400, f"{_PARSE_ERROR}Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise ApiError(400, f"{_PARSE_ERROR}Unexpected end tag at byte offset {offset}")
            if name and name != stack[-1]:
                raise ApiError(
                    400,
                    f"{_PARSE_ERROR}Unmatched end tag at byte offset {offset}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"',
                )
            stack.pop()
        else:
            name_match = _HTML_TAG_NAME_RE.match(text, i + 1)
            name_end = name_match.end() if name_match else i + 1
            if name_end >= n:
                raise ApiError(400, f"{_PARSE_ERROR}Unclosed start tag at byte offset {offset}")
            name = text[i + 1 : name_end].lower()
            if name not in _HTML_TAGS:
                raise ApiError(
                    400, f'{_PARSE_ERROR}Unsupported start tag "{name}" at byte offset {offset}'
                )
            end = text.find(">", name_end)
            if end == -1:
                raise ApiError(400, f"{_PARSE_ERROR}Unclosed start tag at byte offset {offset}")
            if name == "span" and "tg-spoiler" not in text[name_end:end]:
                raise ApiError(
                    400,
                    f'{_PARSE_ERROR}Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{offset}",
                )
            stack.append(name)
        i = end + 1
    if stack:
        raise ApiError(
            400, f'{_PARSE_ERROR}Can\'t find end tag corresponding to start tag "{stack[-1]}"'
        )
    return "".join(out)


_MDV2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES: Final = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def _render_markdown_v2(text: str) -> str:
    """Strip MarkdownV2 markup, raising Telegram's errors for unescaped reserved characters.

    Covers what bots get wrong in practice (an unescaped ``.``, ``-`` or ``!``, unclosed
    ``*``); it does not validate every corner of the format.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if char not in _MDV2_RESERVED:
            out.append(char)
            line_start = char == "\n"
            i += 1
            continue
        start = i
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            j = i + len(fence)
            chunk: list[str] = []
            while j < n and not text.startswith(fence, j):
                if text[j] == "\\" and j + 1 < n:
                    chunk.append(text[j + 1])
                    j += 2
                    continue
                chunk.append(text[j])
                j += 1
            if j >= n:
                kind = "Pre" if fence == "```" else "Code"
                raise ApiError(
                    400,
                    f"{_PARSE_ERROR}Can't find end of {kind} entity at byte offset "
                    f"{_byte_offset(text, start)}",
                )
            body = "".join(chunk)
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                body = rest if first and " " not in first else body
            out.append(body)
            i = j + len(fence)
            line_start = False
            continue
        if char == ">" and line_start:
            i += 1
            continue
        if char == "[":
            stack.append(("[", start))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            i += 1
            if i < n and text[i] == "(":
                j = i + 1
                while j < n and text[j] != ")":
                    j += 2 if text[j] == "\\" else 1
                if j >= n:
                    raise ApiError(
                        400,
                        f"{_PARSE_ERROR}Can't find end of a URL at byte offset "
                        f"{_byte_offset(text, i)}",
                    )
                i = j + 1
            continue
        marker = char
        if char == "_" and text.startswith("__", i):
            marker = "__"
        elif char == "|":
            if not text.startswith("||", i):
                raise ApiError(
                    400,
                    f"{_PARSE_ERROR}Character '|' is reserved and must be escaped with the "
                    "preceding '\\'",
                )
            marker = "||"
        elif char not in "*_~":
            raise ApiError(
                400,
                f"{_PARSE_ERROR}Character '{char}' is reserved and must be escaped with the "
                "preceding '\\'",
            )
        if stack and stack[-1][0] == marker:
            stack.pop()
        else:
            stack.append((marker, start))
        i += len(marker)
        line_start = False
    if stack:
        marker, pos = stack[-1]
        raise ApiError(
            400,
            f"{_PARSE_ERROR}Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(text, pos)}",
        )
    return "".join(out)


def _render(text: str, parse_mode: Any, strict: bool) -> str:
    """The text as the user will see it (markup removed), validating it when ``strict``."""
    if not strict or not parse_mode:
        return text
    mode = str(parse_mode).lower()
    if mode == "html":
        return _render_html(text)
    if mode == "markdownv2":
        return _render_markdown_v2(text)
    if mode == "markdown":
        return text
    raise _bad_request(f"unsupported parse_mode {parse_mode}")


def _command_entities(text: str) -> list[JSON]:
    """A leading "/cmd" gets a bot_command entity so PTB's CommandHandler recognises it."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(token)}]


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


# --------------------------------------------------------------------------------------------
# Simulated users
# --------------------------------------------------------------------------------------------


class FakeUser:
    """A simulated person: each method enqueues the update Telegram would send and returns its id.

    The private chat with a user has ``chat_id == user id``, like on Telegram.
    """

    def __init__(
        self,
        fake: FakeTelegramAPI,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.last_name = last_name
        self.language_code = language_code
        #: message_id of the last message this user sent, for ``edit`` and replies.
        self.last_message_id: int | None = None

    def as_dict(self) -> JSON:
        """The Telegram ``User`` object for this person."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _message(self, chat_id: int | None, **content: Any) -> JSON:
        chat = self.id if chat_id is None else chat_id
        message = self.fake._new_message(chat, self.as_dict(), content)
        self.last_message_id = message["message_id"]
        return message

    def send(self, text: str, chat_id: int | None = None, *, reply_to: int | None = None) -> int:
        """Send a text (a leading "/" makes it a command); returns the update_id."""
        content: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        chat = self.id if chat_id is None else chat_id
        if reply_to is not None:
            replied = self.fake.message(chat, reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {chat} to reply to")
            content["reply_to_message"] = replied
        return self.fake.push_update({"message": self._message(chat_id, **content)})

    def send_in_group(self, group_chat_id: int, text: str) -> int:
        """Send a text in a group chat (Telegram group ids are negative)."""
        if group_chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {group_chat_id}")
        return self.send(text, chat_id=group_chat_id)

    def press(
        self,
        message: Call | int,
        data: str,
        chat_id: int | None = None,
        *,
        check: bool = True,
    ) -> int:
        """Press an inline button under a bot message (a recorded ``Call`` or a message_id).

        The callback query carries the message as it is now (after edits). With ``check`` the
        data must belong to a button currently on that message -- pass ``check=False`` to
        simulate a stale or forged button press.
        """
        if isinstance(message, Call):
            result = message.result
            if not isinstance(result, dict) or "message_id" not in result:
                raise ValueError(f"{message!r} did not produce a message")
            chat, message_id = int(result["chat"]["id"]), int(result["message_id"])
        else:
            chat, message_id = (self.id if chat_id is None else chat_id), message
        current = self.fake.message(chat, message_id)
        if current is None:
            raise KeyError(f"no message {message_id} in chat {chat} (deleted or never sent)")
        if check:
            available = [
                btn.get("callback_data")
                for row in current.get("reply_markup", {}).get("inline_keyboard", [])
                for btn in row
            ]
            if data not in available:
                raise ValueError(
                    f"message {message_id} in chat {chat} has no button with data {data!r}; "
                    f"buttons: {available}"
                )
        query_id = self.fake._new_callback_query_id()
        query: JSON = {
            "id": query_id,
            "from": self.as_dict(),
            "message": current,
            "chat_instance": hashlib.sha1(f"{chat}".encode()).hexdigest()[:16],
            "data": data,
        }
        return self.fake.push_update({"callback_query": query})

    def send_photo(
        self,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        file_size: int | None = None,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        content: bytes | None = None,
    ) -> int:
        """Send a photo; ``file_id`` is the largest size, smaller thumbnails are derived."""
        if file_size is None:
            file_size = len(content) if content is not None else 54_321
        big = self.fake._register_file(
            "photo",
            file_id=file_id,
            file_unique_id=file_unique_id,
            content=content,
            file_size=file_size,
        )
        sizes: list[JSON] = []
        for suffix, width, height, share in (("s", 90, 67, 40), ("m", 320, 240, 8)):
            small = self.fake._register_file(
                "photo",
                file_id=f"{big.file_id}_{suffix}",
                file_unique_id=f"{big.file_unique_id}{suffix}",
                file_size=max(1, file_size // share),
            )
            sizes.append(
                {
                    "file_id": small.file_id,
                    "file_unique_id": small.file_unique_id,
                    "file_size": small.file_size,
                    "width": width,
                    "height": height,
                }
            )
        sizes.append(
            {
                "file_id": big.file_id,
                "file_unique_id": big.file_unique_id,
                "file_size": big.file_size,
                "width": 1280,
                "height": 960,
            }
        )
        body: JSON = {"photo": sizes}
        if caption is not None:
            body["caption"] = caption
        return self.fake.push_update({"message": self._message(chat_id, **body)})

    def send_document(
        self,
        file_name: str = "report.pdf",
        *,
        file_id: str | None = None,
        mime_type: str = "application/pdf",
        content: bytes | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Send a document (e.g. a spreadsheet a user uploads)."""
        stored = self.fake._register_file(
            "documents",
            file_id=file_id,
            content=content,
            filename=file_name,
            file_size=len(content) if content is not None else 12_345,
        )
        body: JSON = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": stored.file_size,
            }
        }
        if caption is not None:
            body["caption"] = caption
        return self.fake.push_update({"message": self._message(chat_id, **body)})

    def send_sticker(
        self,
        file_id: str = "CAACAgIAAxkBAAEfakeSticker",
        emoji: str = "👍",
        *,
        set_name: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Send a sticker -- content most bots do not understand."""
        sticker: JSON = {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id[-12:]}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 23_456,
        }
        if set_name:
            sticker["set_name"] = set_name
        return self.fake.push_update({"message": self._message(chat_id, sticker=sticker)})

    def edit(self, message_id: int, new_text: str, chat_id: int | None = None) -> int:
        """Edit one of this user's earlier text messages (an ``edited_message`` update)."""
        chat = self.id if chat_id is None else chat_id
        original = self.fake.message(chat, message_id)
        if original is None:
            raise KeyError(f"no message {message_id} in chat {chat} to edit")
        if original.get("from", {}).get("id") != self.id:
            raise ValueError(f"message {message_id} was not sent by user {self.id}")
        edited = {k: v for k, v in original.items() if k != "entities"}
        edited["text"] = new_text
        edited["edit_date"] = int(time.time())
        entities = _command_entities(new_text)
        if entities:
            edited["entities"] = entities
        self.fake._store_message(chat, edited)
        return self.fake.push_update({"edited_message": edited})


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegramAPI:
    """Fake Bot API on 127.0.0.1: records calls, serves updates, injects failures.

    ``strict`` (default on) makes it reject what real Telegram rejects -- bad HTML/MarkdownV2,
    over-long texts, >64-byte callback data, "message is not modified" edits -- so those bugs
    show up in tests rather than in production.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = BOT_FIRST_NAME,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.strict = strict
        bot_id_text = token.split(":", 1)[0]
        self.bot_id = int(bot_id_text) if bot_id_text.isdigit() else 123456
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        #: Extra delay added to every answer except long polls, to mimic network round trips.
        self.latency: float = 0.0

        self.calls: list[Call] = []
        self.stats = Stats()
        #: Exceptions raised inside the fake itself (bugs in the fake, answered with 500).
        self.errors: list[BaseException] = []
        #: Highest ``offset`` the bot confirmed: every update_id below it was received.
        self.confirmed_offset = 0

        self._by_chat: dict[ChatId, list[Call]] = {}
        self._by_method: dict[str, list[Call]] = {}
        self._seq = itertools.count(1)
        self._calls_event = asyncio.Event()
        self._chat_events: dict[ChatId, asyncio.Event] = {}
        self._updates_event = asyncio.Event()

        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._pending: deque[JSON] = deque()
        self._redeliver: deque[JSON] = deque()
        self._all_updates: dict[int, JSON] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._poll_token: object | None = None
        self._webhook_url = ""

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[ChatId, JSON] = {}
        self._message_ids: dict[ChatId, int] = {}
        self._messages: dict[tuple[ChatId, int], JSON] = {}
        self._callback_queries: dict[str, bool] = {}
        self._callback_ids = itertools.count(1)
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[str, list[JSON]] = {}

        self._failures: dict[str, list[_Failure]] = {}
        self._blocked: set[ChatId] = set()
        self._outage: Outage | None = None
        self._rate: float | None = None
        self._bucket_capacity = 0.0
        self._bucket_tokens = 0.0
        self._bucket_at = 0.0

        self._handlers: dict[str, Callable[[Call], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._true,
            "setMyShortDescription": self._true,
            "setMyName": self._true,
            "setChatMenuButton": self._true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}
        self._runner: web.AppRunner | None = None
        self._closing = False

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:45678``; valid after :meth:`start`."""
        if self._runner is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and start answering."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        addresses = runner.addresses  # port 0 -> read back what the OS picked
        if not addresses:
            await runner.cleanup()
            raise RuntimeError("aiohttp did not expose the bound socket")
        self.port = int(addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._notify_updates()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- simulated users & updates

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """Create (or replace) a simulated user; its private chat id equals ``user_id``."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        person = FakeUser(
            self, user_id, first_name, username, last_name=last_name, language_code=language_code
        )
        self._users[user_id] = person
        self._chats.pop(user_id, None)
        return person

    def push_update(self, update: JSON) -> int:
        """Queue a raw update (``update_id`` is assigned when missing); returns its update_id."""
        update = dict(update)
        update_id = update.get("update_id")
        if update_id is None:
            update_id = next(self._update_ids)
            while update_id <= self._last_update_id:
                update_id = next(self._update_ids)
            update["update_id"] = update_id
        update_id = int(update_id)
        if update_id in self._all_updates:
            raise ValueError(f"update_id {update_id} already used; see push_update_again")
        self._all_updates[update_id] = update
        if not self._pending or update_id > self._pending[-1]["update_id"]:
            self._pending.append(update)
        else:
            items = list(self._pending)
            bisect.insort(items, update, key=lambda u: u["update_id"])
            self._pending = deque(items)
        self._last_update_id = max(self._last_update_id, update_id)
        self._notify_updates()
        return update_id

    def push_update_again(self, update_id: int) -> None:
        """Deliver an already-delivered update once more (same update_id), even if confirmed.

        It goes out at the front of the next getUpdates answer, ahead of the offset filter --
        this is how Telegram's at-least-once delivery looks to a bot.
        """
        try:
            update = self._all_updates[update_id]
        except KeyError:
            raise KeyError(f"unknown update_id {update_id}") from None
        self._redeliver.append(update)
        self._notify_updates()

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by the bot."""
        return len(self._pending) + len(self._redeliver)

    def update(self, update_id: int) -> JSON:
        """A pushed update by id (as delivered)."""
        return self._all_updates[update_id]

    def message(self, chat_id: ChatId, message_id: int) -> JSON | None:
        """The current state of a message (after edits), ``None`` if unknown or deleted."""
        return self._messages.get((_norm_chat(chat_id), message_id))

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: ChatId | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (optionally only for one chat).

        ``status=429`` always carries ``parameters.retry_after`` (default 1) so PTB raises
        ``RetryAfter``; ``status=DROP_CONNECTION`` closes the socket without answering.
        """
        canonical = self._canonical.get(method.lower(), method)
        if status == 429 and retry_after is None:
            retry_after = 1
        self._failures.setdefault(canonical, []).append(
            _Failure(
                status=status,
                description=description or self._describe(status, retry_after),
                retry_after=retry_after,
                chat_id=None if chat_id is None else _norm_chat(chat_id),
                remaining=count,
            )
        )

    def outage(
        self,
        status: int = 502,
        until: float | Callable[[FakeTelegramAPI], bool] | None = None,
        *,
        methods: Collection[str] | None = None,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> Outage:
        """Fail every send* call (or ``methods``) for a window, like Telegram being down.

        ``until`` is a number of seconds (monotonic clock), a predicate on the fake that ends
        the outage once true, or ``None`` for "until ``.end()`` is called".
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        until_time = time.monotonic() + until if isinstance(until, int | float) else None
        predicate = until if callable(until) else None
        self._outage = Outage(
            status=status,
            description=description or self._describe(status, retry_after),
            retry_after=retry_after,
            until_time=until_time,
            until=predicate,
            methods=None if methods is None else frozenset(methods),
        )
        return self._outage

    def end_outage(self) -> None:
        """End the current outage, if any."""
        if self._outage is not None:
            self._outage.end()
            self._outage = None

    def rate_limit(self, per_second: float | None, *, burst: float | None = None) -> None:
        """Answer 429 (retry_after=1) to send*/edit* calls above ``per_second``; None disables.

        A token bucket shared by all chats, refilled on the monotonic clock; ``burst`` is the
        bucket size (default: one second's worth).
        """
        if per_second is None:
            self._rate = None
            return
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self._rate = per_second
        self._bucket_capacity = max(1.0, burst if burst is not None else per_second)
        self._bucket_tokens = self._bucket_capacity
        self._bucket_at = time.monotonic()

    def block(self, chat_id: ChatId) -> None:
        """The user blocked the bot (or kicked it from the group): sends answer 403."""
        self._blocked.add(_norm_chat(chat_id))

    def unblock(self, chat_id: ChatId) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(_norm_chat(chat_id))

    def register_method(self, method: str, handler: Callable[[Call], Any]) -> None:
        """Add (or override) a Bot API method, for bots that use more than the built-ins.

        ``handler(call)`` returns the JSON ``result`` or raises :class:`ApiError`. Unknown
        methods answer 404, which PTB's high-level methods surface as ``InvalidToken``.
        """
        self._handlers[method] = handler
        self._canonical[method.lower()] = method

    # ---------------------------------------------------------------- inspection

    def sent(
        self,
        chat_id: ChatId | None = None,
        method: str | Collection[str] | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Calls that reached users, oldest first; by default only successful message calls.

        ``method`` defaults to :data:`MESSAGE_METHODS`; pass a name or a collection of names.
        """
        methods: Collection[str]
        if method is None:
            methods = MESSAGE_METHODS
        elif isinstance(method, str):
            methods = (self._canonical.get(method.lower(), method),)
        else:
            methods = tuple(self._canonical.get(m.lower(), m) for m in method)
        if chat_id is not None:
            source: Iterable[Call] = self._by_chat.get(_norm_chat(chat_id), ())
        elif len(methods) == 1:
            source = self._by_method.get(next(iter(methods)), ())
        else:
            source = heapq.merge(
                *(self._by_method.get(m, ()) for m in methods), key=lambda c: c.seq
            )
        return [
            c
            for c in source
            if c.method in methods and (c.ok if not include_failed else c.status is not None)
        ]

    def texts(self, chat_id: ChatId, *, rendered: bool = False) -> list[str]:
        """Texts the bot sent or edited into a chat, in order (markup kept unless ``rendered``)."""
        out: list[str] = []
        for call in self.sent(chat_id, TEXT_METHODS):
            if rendered and isinstance(call.result, dict) and "text" in call.result:
                out.append(str(call.result["text"]))
            else:
                out.append(str(call.params.get("text", "")))
        return out

    def last(self, chat_id: ChatId, method: str | Collection[str] | None = None) -> Call | None:
        """The most recent successful message call to a chat."""
        calls = self.sent(chat_id, method)
        return calls[-1] if calls else None

    def clear_calls(self) -> None:
        """Forget recorded calls and counters (users, messages and updates are kept)."""
        self.calls.clear()
        self._by_chat.clear()
        self._by_method.clear()
        self.stats = Stats()

    async def wait_for(
        self,
        predicate: Callable[[FakeTelegramAPI], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate(fake)`` holds, re-checking each time a call is recorded.

        Raises ``TimeoutError`` listing the latest calls, so a failing test shows what the bot
        did instead.
        """
        await self._wait(predicate, timeout, what, None)

    async def _wait(
        self,
        predicate: Callable[[FakeTelegramAPI], bool],
        timeout: float,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        what: str | Callable[[], str] | None,
        chat: ChatId | None,
    ) -> None:
        """Wake on any call, or only on calls to ``chat`` (cheap with hundreds of waiters)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_report(predicate, timeout, what))
            if chat is None:
                event = self._calls_event
            else:
                event = self._chat_events.get(chat) or self._chat_events.setdefault(
                    chat, asyncio.Event()
                )
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                if predicate(self):
                    return
                raise TimeoutError(self._timeout_report(predicate, timeout, what)) from None

    async def wait_calls(
        self,
        n: int = 1,
        method: str | Collection[str] | None = None,
        chat_id: ChatId | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Wait until at least ``n`` matching calls (see :meth:`sent`) exist; return them all."""
        found: list[Call] = []

        def enough(fake: FakeTelegramAPI) -> bool:
            nonlocal found
            found = fake.sent(chat_id, method, include_failed=include_failed)
            return len(found) >= n

        what = f"{n} call(s) of {method or '/'.join(MESSAGE_METHODS)}"
        if chat_id is not None:
            what += f" to chat {chat_id}"
        chat = None if chat_id is None else _norm_chat(chat_id)
        await self._wait(enough, timeout, lambda: f"{what} (have {len(found)})", chat)
        return found

    async def wait_confirmed(
        self,
        update_id: int,
        timeout: float = 10.0,  # noqa: ASYNC109 -- a deadline for the condition, not I/O
    ) -> None:
        """Wait until the bot confirmed ``update_id`` via getUpdates' offset.

        PTB confirms when it fetches the next batch, i.e. after queueing -- not handling -- it.
        """
        await self.wait_for(
            lambda f: f.confirmed_offset > update_id,
            timeout,
            what=f"confirmation of update {update_id}",
        )

    # ---------------------------------------------------------------- internals: bookkeeping

    def _notify_calls(self, call: Call | None = None) -> None:
        event, self._calls_event = self._calls_event, asyncio.Event()
        event.set()
        if call is not None and call._chat is not None:
            chat_event = self._chat_events.pop(call._chat, None)
            if chat_event is not None:
                chat_event.set()

    def _notify_updates(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    def _record(self, call: Call) -> None:
        call.seq = next(self._seq)
        self.calls.append(call)
        self._by_method.setdefault(call.method, []).append(call)
        chat = call.params.get("chat_id")
        if chat is not None and not isinstance(chat, bool | dict | list | float):
            call._chat = _norm_chat(chat)
            self._by_chat.setdefault(call._chat, []).append(call)
        self.stats.calls[call.method] += 1
        self._notify_calls()  # arrival is news too, e.g. "a long poll is now waiting"

    def _timeout_report(
        self,
        predicate: Callable[[FakeTelegramAPI], bool],
        timeout: float,
        what: str | Callable[[], str] | None,
    ) -> str:
        recent = [c for c in self.calls[-200:] if c.method != "getUpdates"][-15:]
        lines = [f"  {c!r}" + (f" {c.description!r}" if c.description else "") for c in recent]
        name = (what() if callable(what) else what) or getattr(
            predicate, "__name__", repr(predicate)
        )
        report = (
            f"timed out after {timeout}s waiting for {name}; {len(self.calls)} calls recorded, "
            f"{self.pending_updates} update(s) pending. Last calls:\n"
            + ("\n".join(lines) or "  (none besides getUpdates)")
        )
        if self.errors:
            report += f"\nErrors inside the fake: {self.errors[-3:]!r}"
        return report

    def _describe(self, status: int, retry_after: int | None) -> str:
        template = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        return template.format(retry_after=retry_after if retry_after is not None else 1)

    def _chat(self, chat_id: ChatId) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        if not isinstance(chat_id, int):
            raise _bad_request("chat not found")
        if chat_id > 0:
            person = self._users.get(chat_id)
            chat = {
                "id": chat_id,
                "type": "private",
                "first_name": person.first_name if person else f"User {chat_id}",
            }
            if person is not None and person.username:
                chat["username"] = person.username
        else:
            kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
            chat = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
        self._chats[chat_id] = chat
        return chat

    def _new_message(self, chat_id: ChatId, sender: JSON, content: JSON) -> JSON:
        chat_id = _norm_chat(chat_id)
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message: JSON = {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _store_message(self, chat_id: ChatId, message: JSON) -> None:
        self._messages[(_norm_chat(chat_id), int(message["message_id"]))] = message

    def _new_callback_query_id(self) -> str:
        query_id = f"{self.bot_id}{next(self._callback_ids):012d}"
        self._callback_queries[query_id] = False
        return query_id

    def _register_file(
        self,
        folder: str,
        *,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        content: bytes | None = None,
        file_size: int | None = None,
        filename: str | None = None,
    ) -> StoredFile:
        if file_id is not None and file_id in self._files:
            return self._files[file_id]
        n = next(self._file_counter)
        file_id = file_id or f"BQACAgIAAxkBAAI{n:08d}fake"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=file_unique_id or f"AQAD{n:08d}",
            file_size=file_size if file_size is not None else len(content or b""),
            file_path=f"{folder}/file_{n}" + (f"_{filename}" if filename else ""),
            content=content,
            filename=filename,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    # ---------------------------------------------------------------- internals: HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        if not path.startswith("/bot") or path.count("/") != 2:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, _, method_name = path[len("/bot") :].partition("/")
        if token != self.token:
            self.stats.unauthorized += 1
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

        try:
            params, files = await self._read_params(request)
        except ApiError as err:
            return self._json(err.status, self._error_body(err))
        canonical = self._canonical.get(method_name.lower())
        call = Call(
            method=canonical or method_name, params=params, at=time.monotonic(), files=files
        )
        self._record(call)
        if canonical is None:
            return self._finish(call, ApiError(404, "Not Found"))

        failure = self._injected_failure(call)
        if failure is not None:
            if failure.status == DROP_CONNECTION:
                return self._drop(request, call)
            return self._finish(call, failure)

        try:
            if canonical == "getUpdates":
                try:
                    result = await self._get_updates(call)
                except asyncio.CancelledError:
                    call.status = 499  # the client went away mid long poll
                    call.description = "client closed the connection"
                    raise
            else:
                if self.latency:
                    await asyncio.sleep(self.latency)
                result = self._handlers[canonical](call)
        except ApiError as err:
            return self._finish(call, err)
        except Exception as exc:  # a bug in the fake: surface it, do not hang the bot
            self.errors.append(exc)
            return self._finish(call, ApiError(500, f"Internal Server Error: fake: {exc!r}"))
        call.status = 200
        call.result = result
        self.stats.statuses[200] += 1
        self._notify_calls(call)
        return self._json(200, {"ok": True, "result": result})

    def _finish(self, call: Call, err: ApiError) -> web.Response:
        call.status = err.status
        call.description = err.description
        self.stats.statuses[err.status] += 1
        if err.status == 429:
            self.stats.too_many_requests += 1
        self._notify_calls(call)
        return self._json(err.status, self._error_body(err))

    def _drop(self, request: web.Request, call: Call) -> web.Response:
        call.status = DROP_CONNECTION
        call.description = "connection dropped"
        self.stats.statuses[DROP_CONNECTION] += 1
        self._notify_calls(call)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    @staticmethod
    def _error_body(err: ApiError) -> JSON:
        body: JSON = {"ok": False, "error_code": err.status, "description": err.description}
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
        return body

    @staticmethod
    def _json(status: int, body: JSON) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            content_type="application/json",
        )

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        """Decode query string + body exactly as PTB (or curl / a JSON client) sends them."""
        params: dict[str, Any] = {
            key: _decode_form_value(key, value) for key, value in request.query.items()
        }
        files: dict[str, tuple[str, bytes]] = {}
        if not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON request body") from None
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            elif isinstance(value, bytes | bytearray):
                params[key] = _decode_form_value(key, value.decode())
            else:
                params[key] = _decode_form_value(key, value)
        # Resolve attach://<name> references so files are keyed by the parameter they fill.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = value[len("attach://") :]
                if part in files:
                    files[key] = files.pop(part)
        return params, files

    def _serve_file(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        stored = self._files_by_path.get(file_path)
        if stored is None:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        content = stored.content
        if content is None:  # a file a simulated user "sent" without bytes: make some up
            content = (stored.file_unique_id.encode() * (stored.file_size // 8 + 1))[
                : stored.file_size
            ]
        return web.Response(body=content, content_type="application/octet-stream")

    def _injected_failure(self, call: Call) -> ApiError | None:
        """Decide whether this call fails: explicit failures, outage, blocks, rate limit."""
        method = call.method
        queue = self._failures.get(method)
        if queue:
            chat = call.chat_id
            for index, failure in enumerate(queue):
                if failure.chat_id is None or failure.chat_id == chat:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        del queue[index]
                    return ApiError(failure.status, failure.description, failure.retry_after)

        outage = self._outage
        if outage is not None and outage.applies_to(method):
            if (
                outage.ended
                or (outage.until_time is not None and time.monotonic() >= outage.until_time)
                or (outage.until is not None and outage.until(self))
            ):
                outage.ended = True
                self._outage = None
            else:
                outage.failures += 1
                return ApiError(outage.status, outage.description, outage.retry_after)

        if self._blocked:
            chat = call.chat_id
            if chat is not None and chat in self._blocked:
                if isinstance(chat, int) and chat < 0:
                    return ApiError(403, "Forbidden: bot was kicked from the group chat")
                return ApiError(403, "Forbidden: bot was blocked by the user")

        if self._rate is not None and method.startswith(_RATE_LIMITED_PREFIXES):
            now = time.monotonic()
            self._bucket_tokens = min(
                self._bucket_capacity, self._bucket_tokens + (now - self._bucket_at) * self._rate
            )
            self._bucket_at = now
            if self._bucket_tokens >= 1.0:
                self._bucket_tokens -= 1.0
            else:
                self.stats.rate_limited += 1
                return ApiError(429, "Too Many Requests: retry after 1", 1)
        return None

    # ---------------------------------------------------------------- method handlers

    def _true(self, call: Call) -> bool:
        return True

    def _get_me(self, call: Call) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: Call) -> list[JSON]:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = call.params
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:
                while len(self._pending) > -offset:
                    self._pending.popleft()
            else:
                while self._pending and self._pending[0]["update_id"] < offset:
                    self._pending.popleft()
                if offset > self.confirmed_offset:
                    self.confirmed_offset = offset
                    self._notify_calls()  # news for wait_confirmed, before the long poll ends
        limit = params.get("limit", 100)
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None

        token = object()
        self._poll_token = token
        self._notify_updates()  # terminates an older long poll with 409, like Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._poll_token is not token:
                raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            batch = self._take_batch(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                if self._poll_token is token:
                    self._poll_token = None
                return batch
            event = self._updates_event
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                pass

    def _take_batch(self, limit: int) -> list[JSON]:
        batch: list[JSON] = []
        while self._redeliver and len(batch) < limit:
            batch.append(self._redeliver.popleft())
        allowed = self._allowed_updates
        for update in self._pending:
            if len(batch) >= limit:
                break
            kind = _update_type(update)
            if (allowed is None and kind not in _DEFAULT_EXCLUDED_UPDATES) or (
                allowed is not None and kind in allowed
            ):
                batch.append(update)
        return batch

    def _drop_pending(self, call: Call) -> None:
        if call.params.get("drop_pending_updates") is True:
            self._pending.clear()
            self._redeliver.clear()

    def _delete_webhook(self, call: Call) -> bool:
        self._webhook_url = ""
        self._drop_pending(call)
        return True

    def _set_webhook(self, call: Call) -> bool:
        url = call.params.get("url")
        if not isinstance(url, str):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        self._drop_pending(call)
        return True

    def _get_webhook_info(self, call: Call) -> JSON:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    @staticmethod
    def _commands_key(call: Call) -> str:
        """One command list per (scope, language_code), as Telegram keeps them.

        A malformed scope or language code is refused as Telegram does; chat
        ids are normalised so "42" and 42 name the same chat.
        """
        scope = call.params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise _bad_request("can't parse BotCommandScope")
        needs_chat = scope["type"] in ("chat", "chat_administrators", "chat_member")
        if needs_chat != ("chat_id" in scope):
            raise _bad_request("can't parse BotCommandScope")
        if needs_chat:
            scope = dict(scope, chat_id=_norm_chat(scope["chat_id"]))
        language = call.params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise _bad_request("invalid language code specified")
        return _commands_key(scope, str(language))

    def commands_seen(self, chat_id: ChatId, language_code: str = "") -> list[JSON]:
        """The command menu a user with this app language sees in their private chat.

        Telegram's documented order: this chat's scope (with, then without the
        language), all private chats (with, then without), default (with, then without).
        """
        chat = {"type": "chat", "chat_id": _norm_chat(chat_id)}
        for scope in (chat, {"type": "all_private_chats"}, {"type": "default"}):
            for language in dict.fromkeys((language_code, "")):
                commands = self._commands.get(_commands_key(scope, language))
                if commands:
                    return commands
        return []

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not _BOT_COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = command.get("description", "")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(call)] = commands
        return True

    def _get_my_commands(self, call: Call) -> list[JSON]:
        return self._commands.get(self._commands_key(call), [])

    def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop(self._commands_key(call), None)
        return True

    def _target_chat(self, call: Call) -> ChatId:
        raw = call.params.get("chat_id")
        if raw is None or raw == "":
            raise _bad_request("chat_id is empty")
        chat = _norm_chat(raw)
        if not isinstance(chat, int) or chat == 0:
            raise _bad_request("chat not found")
        return chat

    def _inline_markup(self, call: Call) -> JSON | None:
        """Validate ``reply_markup``; return it if Telegram would echo it (inline keyboards)."""
        markup = call.params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None  # reply keyboards / removals are applied but never echoed
        if not self.strict:
            return markup
        for row in keyboard:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("BUTTON_TEXT_EMPTY")
                if not _INLINE_BUTTON_ACTIONS & button.keys():
                    raise _bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, call: Call, chat: ChatId) -> JSON | None:
        reply = call.params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if message_id is None:
            message_id = call.params.get("reply_to_message_id")
        if not isinstance(message_id, int):
            return None
        replied = self._messages.get((chat, message_id))
        allow = call.params.get("allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply")
        )
        if replied is None and not allow and self.strict:
            raise _bad_request("message to be replied not found")
        if replied is None:
            return None
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _send_common(self, call: Call, chat: ChatId, content: JSON) -> JSON:
        markup = self._inline_markup(call)
        if markup is not None:
            content["reply_markup"] = markup
        replied = self._reply_to(call, chat)
        if replied is not None:
            content["reply_to_message"] = replied
        return self._new_message(chat, self.bot_user, content)

    def _text_content(self, call: Call, key: str, limit: int) -> JSON:
        raw = call.params.get(key)
        if raw is None or raw == "":
            if key == "text":
                raise _bad_request("message text is empty")
            return {}
        text = str(raw)
        shown = _render(text, call.params.get("parse_mode"), self.strict)
        if self.strict and not shown.strip() and key == "text":
            raise _bad_request("message text is empty")
        if self.strict and len(shown) > limit:
            raise _bad_request(
                "message is too long" if key == "text" else "message caption is too long"
            )
        content: JSON = {key: shown}
        entities = call.params.get("entities" if key == "text" else "caption_entities")
        if isinstance(entities, list):
            content["entities" if key == "text" else "caption_entities"] = entities
        return content

    def _send_message(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        return self._send_common(call, chat, self._text_content(call, "text", 4096))

    def _uploaded(self, call: Call, key: str, folder: str) -> StoredFile:
        if key in call.files:
            filename, content = call.files[key]
            return self._register_file(folder, content=content, filename=filename)
        ref = call.params.get(key)
        if isinstance(ref, str) and ref:
            if ref.startswith(("http://", "https://")):
                return self._register_file(folder, filename=ref.rsplit("/", 1)[-1])
            return self._register_file(folder, file_id=ref)
        raise _bad_request(f"there is no {key} in the request")

    def _send_photo(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        content = self._text_content(call, "caption", 1024)
        stored = self._uploaded(call, "photo", "photos")
        content["photo"] = [
            {
                "file_id": f"{stored.file_id}_s",
                "file_unique_id": f"{stored.file_unique_id}s",
                "file_size": max(1, stored.file_size // 40),
                "width": 90,
                "height": 67,
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "width": 1280,
                "height": 960,
            },
        ]
        return self._send_common(call, chat, content)

    def _send_document(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        content = self._text_content(call, "caption", 1024)
        stored = self._uploaded(call, "document", "documents")
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.filename:
            document["file_name"] = stored.filename
        content["document"] = document
        return self._send_common(call, chat, content)

    def _send_chat_action(self, call: Call) -> bool:
        self._target_chat(call)
        if self.strict and call.params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _editable(self, call: Call, *, text: bool) -> tuple[ChatId, JSON] | None:
        """Find the bot message an edit targets; ``None`` for inline messages."""
        if call.params.get("inline_message_id"):
            return None
        chat = self._target_chat(call)
        message_id = call.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((chat, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        if text and "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        if not text and "text" in message and call.method == "editMessageCaption":
            raise _bad_request("there is no caption in the message to edit")
        return chat, message

    def _apply_edit(self, call: Call, chat: ChatId, old: JSON, changes: JSON) -> JSON:
        markup = self._inline_markup(call)
        new = {k: v for k, v in old.items() if k not in ("reply_markup", "entities")}
        if "text" not in changes and "entities" in old:
            new["entities"] = old["entities"]
        new.update(changes)
        if markup is not None:
            new["reply_markup"] = markup
        same = all(old.get(k) == new.get(k) for k in (*changes, "reply_markup"))
        if same and self.strict:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = int(time.time())
        self._messages[(chat, int(old["message_id"]))] = new
        return new

    def _edit_message_text(self, call: Call) -> JSON | bool:
        changes = self._text_content(call, "text", 4096)
        target = self._editable(call, text=True)
        if target is None:
            self._inline_markup(call)
            return True
        return self._apply_edit(call, *target, changes)

    def _edit_message_caption(self, call: Call) -> JSON | bool:
        changes = self._text_content(call, "caption", 1024)
        target = self._editable(call, text=False)
        if target is None:
            return True
        chat, old = target
        if not changes:
            changes = {"caption": ""} if "caption" in old else {}
        return self._apply_edit(call, chat, old, changes)

    def _edit_message_reply_markup(self, call: Call) -> JSON | bool:
        target = self._editable(call, text=False)
        if target is None:
            self._inline_markup(call)
            return True
        return self._apply_edit(call, *target, {})

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        answered = self._callback_queries.get(query_id)
        if answered is None or (answered and self.strict):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = call.params.get("text")
        if self.strict and text is not None and len(str(text)) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        return True

    def _delete_message(self, call: Call) -> bool:
        chat = self._target_chat(call)
        message_id = call.params.get("message_id")
        if not isinstance(message_id, int) or self._messages.pop((chat, message_id), None) is None:
            raise _bad_request("message to delete not found")
        return True

    def _get_file(self, call: Call) -> JSON:
        stored = self._files.get(str(call.params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }


async def _serve_forever(port: int, token: str) -> None:
    async with FakeTelegramAPI(token, port=port) as fake:
        print(f"fake Telegram Bot API on {fake.url} (token {fake.token})", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Run the fake on its own, for poking at a locally started bot by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.token))


if __name__ == "__main__":
    main()
