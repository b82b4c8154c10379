"""A fake Telegram Bot API server that the real python-telegram-bot stack talks to over HTTP.

Why a server and not mocks: the bot under test keeps its real PTB ``Application``, HTTPX
transport, rate limiter and (de)serialisation, so tests exercise exactly what production does.
Only Telegram itself is replaced (the shared scaffolding is in ``tests/fakes/base.py``).

It answers the methods the bot calls, no more: getMe, getUpdates (long poll, offsets,
allowed_updates), setWebhook / deleteWebhook, setMyCommands, sendMessage, sendPhoto,
sendDocument, sendMediaGroup, sendChatAction, editMessageText, answerCallbackQuery, getFile
(and the file download it points to: ``add_file``; a photo a simulated user sends can be
downloaded).
With ``strict`` (the default) it refuses what Telegram refuses there: over-long texts,
>64-byte callback data, "message is not modified" edits, unknown chat actions, a callback
query answered twice.

Wire format (PTB 22, ``telegram.request.HTTPXRequest``): every call is a POST whose body is
``application/x-www-form-urlencoded`` -- or ``multipart/form-data`` when a file is uploaded --
where ``str`` values are sent verbatim and every other value is ``json.dumps``-ed. So ``5`` and
``"5"`` look the same on the wire; the fake keeps parameters known to be strings (``text``,
``caption`` ...) verbatim and JSON-decodes the rest.

Usage::

    async with FakeTelegramAPI() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        alice = fake.user(1001, "Alice")
        alice.send("/start")
        await fake.wait_calls(1, method="sendMessage", chat_id=alice.id)
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from tests.fakes.base import DROP_CONNECTION, JSON, ApiError, ChatId, FakeServer, monotonic
from tests.fakes.base import Call as BaseCall

__all__ = ["DROP_CONNECTION", "ApiError", "Call", "FakeTelegramAPI", "FakeUser", "Outage"]

DEFAULT_TOKEN: Final = "123456:TEST-token"
BOT_USERNAME: Final = "thidua_test_bot"
BOT_FIRST_NAME: Final = "Thidua Test Bot"

MESSAGE_METHODS: Final = (
    "sendMessage",
    "editMessageText",
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
)
TEXT_METHODS: Final = ("sendMessage", "editMessageText")

#: Parameters whose values are strings in the Bot API. PTB sends ``str`` values un-encoded, so
#: these must never be JSON-decoded (a text "123" must stay "123", not become 123).
_STRING_PARAMS: Final = frozenset(
    {"action", "callback_query_id", "caption", "language_code", "secret_token", "text", "url"}
)

_DESCRIPTIONS: Final = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
}

#: Update types Telegram delivers when ``allowed_updates`` was never set (or set to []).
_DEFAULT_EXCLUDED_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_CHAT_ACTIONS: Final = frozenset({"typing", "upload_photo", "upload_document"})
_COMMAND_SCOPES: Final = frozenset({"default", "all_private_chats", "chat"})
_BOT_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_RATE_LIMITED_PREFIXES: Final = ("send", "edit")


@dataclass(slots=True, eq=False, repr=False)
class Call(BaseCall):
    """A Bot API call; ``files`` holds uploads (parameter -> (filename, bytes))."""

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def message_id(self) -> int | None:
        """The message id Telegram answered with (or the one edited)."""
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


@dataclass(slots=True)
class Outage:
    """An outage window: send* calls (or ``methods``) fail until ``end()`` or ``until_time``."""

    status: int
    until_time: float | None
    methods: frozenset[str] | None
    ended: bool = False
    failures: int = 0

    def end(self) -> None:
        """Stop failing requests from now on."""
        self.ended = True

    def applies_to(self, method: str) -> bool:
        return method in self.methods if self.methods is not None else method.startswith("send")


def picture(seed: str, size: tuple[int, int] = (96, 72)) -> bytes:
    """A small JPEG, the same for the same seed and different for another (its pattern
    comes from the seed's hash), as a phone's photo would be."""
    import io

    from PIL import Image, ImageDraw

    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", size, (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    width, height = size
    for n in range(8):
        x, y = digest[3 + n] * width // 256, digest[11 + n] * height // 256
        shade = (digest[19 + n], 255 - digest[19 + n], digest[n])
        draw.rectangle((x, y, x + width // 3, y + height // 3), fill=shade)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _norm_chat(value: Any) -> ChatId:
    """Chat ids arrive as ints (decoded JSON) or as strings from domain code; index on ints."""
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


def _utf16_len(text: str) -> int:
    """Telegram entity offsets/lengths are in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


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


def _command_entities(text: str) -> list[JSON]:
    """A leading "/cmd" gets a bot_command entity, as Telegram marks commands."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(token)}]


def _bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def _describe(status: int, retry_after: int | None) -> str | None:
    template = _DESCRIPTIONS.get(status)
    return template.format(retry_after=retry_after or 1) if template else None


class FakeUser:
    """A simulated person: each method enqueues the update Telegram would send and returns its id.

    The private chat with a user has ``chat_id == user id``, like on Telegram.
    """

    def __init__(
        self,
        fake: FakeTelegramAPI,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.language_code = language_code
        #: message_id of the last message this user sent, for ``edit``.
        self.last_message_id: int | None = None

    def as_dict(self) -> JSON:
        """The Telegram ``User`` object for this person."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _message(self, chat_id: int | None, **content: Any) -> JSON:
        chat = self.id if chat_id is None else chat_id
        message = self.fake._new_message(chat, self.as_dict(), content)
        self.last_message_id = message["message_id"]
        return message

    def send(self, text: str, chat_id: int | None = None) -> int:
        """Send a text (a leading "/" makes it a command); returns the update_id."""
        content: JSON = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self.fake.push_update({"message": self._message(chat_id, **content)})

    def send_in_group(self, group_chat_id: int, text: str) -> int:
        """Send a text in a group chat (Telegram group ids are negative)."""
        if group_chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {group_chat_id}")
        return self.send(text, chat_id=group_chat_id)

    def press(
        self, message: Call | int, data: str, chat_id: int | None = None, *, check: bool = True
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
            raise KeyError(f"no message {message_id} in chat {chat}")
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
        query: JSON = {
            "id": self.fake._new_callback_query_id(),
            "from": self.as_dict(),
            "message": current,
            "chat_instance": hashlib.sha1(f"{chat}".encode()).hexdigest()[:16],
            "data": data,
        }
        return self.fake.push_update({"callback_query": query})

    def send_photo(
        self,
        file_id: str,
        file_unique_id: str,
        file_size: int,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        data: bytes | None = None,
    ) -> int:
        """Send a photo; ``file_id`` is the largest size, a thumbnail is derived.

        The bot can download it (getFile, then the file URL): ``data``, or else a small
        JPEG drawn from ``file_unique_id`` (the same id, the same picture)."""
        if data is None:
            data = picture(file_unique_id)
        self.fake.add_file(file_id, data, file_unique_id)
        sizes = [
            {
                "file_id": f"{file_id}_s",
                "file_unique_id": f"{file_unique_id}s",
                "file_size": max(1, file_size // 40),
                "width": 90,
                "height": 67,
            },
            {
                "file_id": file_id,
                "file_unique_id": file_unique_id,
                "file_size": file_size,
                "width": 1280,
                "height": 960,
            },
        ]
        body: JSON = {"photo": sizes}
        if caption is not None:
            body["caption"] = caption
        return self.fake.push_update({"message": self._message(chat_id, **body)})

    def send_sticker(self, file_id: str = "CAACAgIAAxkBAAEfakeSticker", emoji: str = "👍") -> int:
        """Send a sticker -- content the bot does not understand."""
        sticker: JSON = {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id[-12:]}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self.fake.push_update({"message": self._message(None, sticker=sticker)})

    def edit(self, message_id: int, new_text: str, chat_id: int | None = None) -> int:
        """Edit one of this user's earlier text messages (an ``edited_message`` update)."""
        chat = self.id if chat_id is None else chat_id
        original = self.fake.message(chat, message_id)
        if original is None or original.get("from", {}).get("id") != self.id:
            raise KeyError(f"no message {message_id} of user {self.id} in chat {chat} to edit")
        edited = {k: v for k, v in original.items() if k != "entities"}
        edited["text"] = new_text
        edited["edit_date"] = int(time.time())
        if entities := _command_entities(new_text):
            edited["entities"] = entities
        self.fake._messages[(chat, message_id)] = edited
        return self.fake.push_update({"edited_message": edited})


class FakeTelegramAPI(FakeServer[Call]):
    """Fake Bot API on 127.0.0.1: serves updates, records calls, injects failures."""

    SEND_METHODS = MESSAGE_METHODS
    NAME = "FakeTelegramAPI"

    def __init__(self, token: str = DEFAULT_TOKEN, *, port: int = 0, strict: bool = True) -> None:
        super().__init__(token, port=port, strict=strict)
        bot_id_text = token.split(":", 1)[0]
        self.bot_id = int(bot_id_text) if bot_id_text.isdigit() else 123456
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        #: Highest ``offset`` the bot confirmed: every update_id below it was received.
        self.confirmed_offset = 0

        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._pending: deque[JSON] = deque()
        self._redeliver: deque[JSON] = deque()
        self._all_updates: dict[int, JSON] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._poll_token: object | None = None
        self._webhook_url = ""
        #: When set, every new update goes here instead of the getUpdates queue: the test
        #: delivers it by webhook (to one of several bot processes, as a load balancer).
        self.webhook_sink: Callable[[JSON], None] | None = None

        self._users: dict[int, FakeUser] = {}
        self._message_ids: dict[ChatId, int] = {}
        self._messages: dict[tuple[ChatId, int], JSON] = {}
        self._callback_queries: dict[str, bool] = {}
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._commands: dict[str, list[JSON]] = {}
        self.menu_button: JSON | None = None  # setChatMenuButton's, as Telegram keeps it

        self._outage: Outage | None = None
        self._rate: float | None = None
        self._bucket_capacity = 0.0
        self._bucket_tokens = 0.0
        self._bucket_at = 0.0

        self.handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "setMyCommands": self._set_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "sendMediaGroup": self._send_media_group,
        }
        self._downloads: dict[str, JSON] = {}  # file_id -> File object

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_file_url`` (files: ``add_file``)."""
        return f"{self.url}/file/bot"

    def add_file(self, file_id: str, data: bytes, file_unique_id: str = "") -> str:
        """Let the bot download ``data`` as ``file_id`` (getFile, then
        ``/file/bot<token>/<file_path>``); returns the URL path (``forget_file`` it)."""
        file_path = f"photos/file_{next(self._file_ids)}.jpg"
        self._downloads[file_id] = {
            "file_id": file_id,
            "file_unique_id": file_unique_id or f"u{file_id[-12:]}",
            "file_size": len(data),
            "file_path": file_path,
        }
        path = f"/file/bot{self.token}/{file_path}"
        self.serve_file(path, data)
        return path

    # ---------------------------------------------------------------- simulated users & updates

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """Create (or replace) a simulated user; its private chat id equals ``user_id``."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        person = FakeUser(
            self, user_id, first_name, last_name=last_name, language_code=language_code
        )
        self._users[user_id] = person
        return person

    def push_update(self, update: JSON) -> int:
        """Queue an update (its ``update_id`` is assigned when missing); returns the update_id."""
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
        self._last_update_id = max(self._last_update_id, update_id)
        if self.webhook_sink is not None:  # pushed to the bot instead of polled
            self.webhook_sink(update)
            return update_id
        if not self._pending or update_id > self._pending[-1]["update_id"]:
            self._pending.append(update)
        else:
            items = list(self._pending)
            bisect.insort(items, update, key=lambda u: u["update_id"])
            self._pending = deque(items)
        self._last_update_id = max(self._last_update_id, update_id)
        self._wake_polls()
        return update_id

    def push_update_again(self, update_id: int) -> None:
        """Deliver an already-delivered update once more (same update_id), even if confirmed.

        It goes out at the front of the next getUpdates answer, ahead of the offset filter --
        this is how Telegram's at-least-once delivery looks to a bot.
        """
        self._redeliver.append(self._all_updates[update_id])
        self._wake_polls()

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by the bot."""
        return len(self._pending) + len(self._redeliver)

    def update(self, update_id: int) -> JSON:
        """A pushed update by id (as delivered)."""
        return self._all_updates[update_id]

    def message(self, chat_id: ChatId, message_id: int) -> JSON | None:
        """The current state of a message (after edits), ``None`` if unknown."""
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
        if status == 429 and retry_after is None:
            retry_after = 1
        error = ApiError(
            status, description or _describe(status, retry_after), retry_after=retry_after
        )
        chat = None if chat_id is None else _norm_chat(chat_id)
        self._add_failure(method, error, count=count, chat_id=chat, after=0)

    def outage(
        self, status: int = 502, until: float | None = None, *, methods: set[str] | None = None
    ) -> Outage:
        """Fail every send* call (or ``methods``) for a window, like Telegram being down.

        ``until`` is a number of seconds (monotonic clock), or ``None`` for "until ``.end()``".
        """
        self._outage = Outage(
            status=status,
            until_time=None if until is None else monotonic() + until,
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
        self._bucket_at = monotonic()

    def _blocked_error(self, chat: ChatId) -> ApiError:
        if isinstance(chat, int) and chat < 0:
            return ApiError(403, "Forbidden: bot was kicked from the group chat")
        return ApiError(403, "Forbidden: bot was blocked by the user")

    def _refusal(self, call: Call) -> ApiError | None:
        outage = self._outage
        if outage is not None and outage.applies_to(call.method):
            if outage.ended or (outage.until_time is not None and monotonic() >= outage.until_time):
                outage.ended = True
                self._outage = None
            else:
                outage.failures += 1
                return ApiError(outage.status)
        if self._rate is not None and call.method.startswith(_RATE_LIMITED_PREFIXES):
            now = monotonic()
            self._bucket_tokens = min(
                self._bucket_capacity, self._bucket_tokens + (now - self._bucket_at) * self._rate
            )
            self._bucket_at = now
            if self._bucket_tokens < 1.0:
                return ApiError(429, _describe(429, 1), retry_after=1)
            self._bucket_tokens -= 1.0
        return None

    # ---------------------------------------------------------------- inspection

    def texts(self, chat_id: ChatId) -> list[str]:
        """Texts the bot sent or edited into a chat, in order."""
        return [str(c.params.get("text", "")) for c in self.sent(chat_id, TEXT_METHODS)]

    def commands_seen(self, chat_id: ChatId, language_code: str = "") -> list[JSON]:
        """The command menu a user with this app language sees in their private chat.

        Telegram's documented order: this chat's scope (with, then without the
        language), all private chats (with, then without), default (with, then without).
        """
        chat = {"type": "chat", "chat_id": _norm_chat(chat_id)}
        for scope in (chat, {"type": "all_private_chats"}, {"type": "default"}):
            for language in dict.fromkeys((language_code, "")):
                if commands := self._commands.get(_commands_key(scope, language)):
                    return commands
        return []

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot confirmed ``update_id`` via getUpdates' offset."""
        await self.wait_for(
            lambda f: f.confirmed_offset > update_id,
            timeout,
            what=f"confirmation of update {update_id}",
        )

    def _pending_report(self) -> str:
        return f", {self.pending_updates} update(s) pending"

    # ---------------------------------------------------------------- bookkeeping

    def _chat(self, raw: Any) -> ChatId:
        return _norm_chat(raw)

    def _new_call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]]) -> Call:
        raw = params.get("chat_id")
        chat = None if raw is None or isinstance(raw, bool | dict | list | float) else raw
        return Call(
            method,
            params,
            monotonic(),
            files=files,
            chat_id=None if chat is None else _norm_chat(chat),
        )

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
        """Decode the body as PTB sends it: a form, or a multipart form with uploads."""
        params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, tuple[str, bytes]] = {}
        if not request.body_exists:
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

    def _chat_object(self, chat_id: ChatId) -> JSON:
        if not isinstance(chat_id, int):
            raise _bad_request("chat not found")
        if chat_id > 0:
            person = self._users.get(chat_id)
            return {
                "id": chat_id,
                "type": "private",
                "first_name": person.first_name if person else f"User {chat_id}",
            }
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _new_message(self, chat_id: ChatId, sender: JSON, content: JSON) -> JSON:
        chat_id = _norm_chat(chat_id)
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message: JSON = {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat_object(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _new_callback_query_id(self) -> str:
        query_id = f"{self.bot_id}{next(self._callback_ids):012d}"
        self._callback_queries[query_id] = False
        return query_id

    # ---------------------------------------------------------------- methods

    def _get_me(self, call: Call) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, call: Call) -> list[JSON]:
        if self._webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = call.params.get("offset")
        if isinstance(offset, int) and offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
            if offset > self.confirmed_offset:
                self.confirmed_offset = offset
                self._changed()  # news for wait_confirmed, before the long poll ends
        limit = call.params.get("limit", 100)
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = call.params.get("timeout", 0)
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        allowed = call.params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None

        token = object()
        self._poll_token = token
        self._wake_polls()  # terminates an older long poll with 409, like Telegram
        deadline = monotonic() + timeout
        while True:
            if self._poll_token is not token:
                raise ApiError(409, _DESCRIPTIONS[409])
            batch = self._take_batch(limit)
            if batch or monotonic() >= deadline or self._closing:
                if self._poll_token is token:
                    self._poll_token = None
                return batch
            await self._wait_for_updates(deadline)

    def _take_batch(self, limit: int) -> list[JSON]:
        batch: list[JSON] = []
        while self._redeliver and len(batch) < limit:
            batch.append(self._redeliver.popleft())
        allowed = self._allowed_updates
        for update in self._pending:
            if len(batch) >= limit:
                break
            kind = next((key for key in update if key != "update_id"), "")
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

    def _set_chat_menu_button(self, call: Call) -> bool:
        """The default menu button (no chat_id): a web_app one needs an https URL."""
        button = call.params.get("menu_button")
        if isinstance(button, str):
            button = json.loads(button)
        if not isinstance(button, dict):
            raise _bad_request("can't parse menu button")
        if button.get("type") == "web_app":
            url = (button.get("web_app") or {}).get("url", "")
            if not str(url).startswith("https://"):
                raise _bad_request("WEB_APP_URL_INVALID")
        self.menu_button = button
        return True

    def _set_my_commands(self, call: Call) -> bool:
        """One command list per (scope, language_code), as Telegram keeps them."""
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not _BOT_COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = call.params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise _bad_request("can't parse BotCommandScope")
        if (scope["type"] == "chat") != ("chat_id" in scope):
            raise _bad_request("can't parse BotCommandScope")
        if "chat_id" in scope:
            scope = dict(scope, chat_id=_norm_chat(scope["chat_id"]))
        language = str(call.params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        self._commands[_commands_key(scope, language)] = commands
        return True

    def _target_chat(self, call: Call) -> ChatId:
        chat = call.chat_id
        if not isinstance(chat, int) or chat == 0:
            raise _bad_request("chat not found")
        return chat

    def _inline_markup(self, call: Call) -> JSON | None:
        """Validate ``reply_markup``; return it if Telegram would echo it (inline keyboards)."""
        markup = call.params.get("reply_markup")
        if not isinstance(markup, dict):
            return None
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None  # reply keyboards / removals are applied but never echoed
        if self.strict:
            for button in (b for row in keyboard for b in row):
                if not button.get("text"):
                    raise _bad_request("BUTTON_TEXT_EMPTY")
                data = button.get("callback_data")
                if data is None or not 1 <= len(str(data).encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _send_common(self, call: Call, chat: ChatId, content: JSON) -> JSON:
        if (markup := self._inline_markup(call)) is not None:
            content["reply_markup"] = markup
        return self._new_message(chat, self.bot_user, content)

    def _text_content(self, call: Call, key: str, limit: int) -> JSON:
        raw = call.params.get(key)
        if raw is None or raw == "":
            if key == "text":
                raise _bad_request("message text is empty")
            return {}
        text = str(raw)
        if self.strict and not text.strip() and key == "text":
            raise _bad_request("message text is empty")
        if self.strict and len(text) > limit:
            raise _bad_request(
                "message is too long" if key == "text" else "message caption is too long"
            )
        return {key: text}

    def _send_message(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        return self._send_common(call, chat, self._text_content(call, "text", 4096))

    def _uploaded(self, call: Call, key: str) -> JSON:
        if key not in call.files:
            raise _bad_request(f"there is no {key} in the request")
        filename, content = call.files[key]
        n = next(self._file_ids)
        return {
            "file_id": f"BQACAgIAAxkBAAI{n:08d}fake",
            "file_unique_id": f"AQAD{n:08d}",
            "file_size": len(content),
            "file_name": filename,
        }

    def _send_photo(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        content = self._text_content(call, "caption", 1024)
        stored = self._uploaded(call, "photo")
        content["photo"] = [
            {
                "file_id": stored["file_id"],
                "file_unique_id": stored["file_unique_id"],
                "file_size": stored["file_size"],
                "width": 1280,
                "height": 960,
            }
        ]
        return self._send_common(call, chat, content)

    def _send_media_group(self, call: Call) -> list[JSON]:
        """An album: 2 to 10 photos, each uploaded (attach://name) or by file_id; one
        message per photo, as Telegram answers."""
        chat = self._target_chat(call)
        media = call.params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad_request("wrong number of media in the album")
        messages = []
        for item in media:
            ref = str(item.get("media", ""))
            if item.get("type") != "photo" or not ref:
                raise _bad_request("only photos are sent in albums here")
            name = ref.removeprefix("attach://")
            content = call.files[name][1] if name in call.files else b""
            if ref.startswith("attach://") and name not in call.files:
                raise _bad_request(f"file {name} not found in the request")
            n = next(self._file_ids)
            photo = {
                "file_id": f"AgACAgIAAxkBAAI{n:08d}album",
                "file_unique_id": f"AQAD{n:08d}",
                "file_size": len(content),
                "width": 1280,
                "height": 960,
            }
            messages.append(self._new_message(chat, self.bot_user, {"photo": [photo]}))
        return messages

    def _send_document(self, call: Call) -> JSON:
        chat = self._target_chat(call)
        content = self._text_content(call, "caption", 1024)
        content["document"] = self._uploaded(call, "document")
        return self._send_common(call, chat, content)

    def _send_chat_action(self, call: Call) -> bool:
        self._target_chat(call)
        if self.strict and call.params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _edit_message_text(self, call: Call) -> JSON:
        changes = self._text_content(call, "text", 4096)
        chat = self._target_chat(call)
        message_id = call.params.get("message_id")
        old = self._messages.get((chat, message_id)) if isinstance(message_id, int) else None
        if old is None:
            raise _bad_request("message to edit not found")
        if old.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        if "text" not in old:
            raise _bad_request("there is no text in the message to edit")
        new = {k: v for k, v in old.items() if k not in ("reply_markup", "entities")}
        new.update(changes)
        if (markup := self._inline_markup(call)) is not None:
            new["reply_markup"] = markup
        same = all(old.get(k) == new.get(k) for k in ("text", "reply_markup"))
        if same and self.strict:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = int(time.time())
        self._messages[(chat, int(old["message_id"]))] = new
        return new

    def _get_file(self, call: Call) -> JSON:
        found = self._downloads.get(str(call.params.get("file_id", "")))
        if found is None:
            raise _bad_request("invalid file_id")
        return dict(found)

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        answered = self._callback_queries.get(query_id)
        if answered is None or (answered and self.strict):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._callback_queries[query_id] = True
        return True


def _commands_key(scope: dict[str, Any], language: str) -> str:
    return json.dumps([scope, language], sort_keys=True)
