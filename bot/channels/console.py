"""The console channel: the demo chat in a terminal, rendered like Zalo (numbered choices).

Each typed line goes through the same ingress as every channel's updates (``bot.demo`` calls
``Ingress.submit``), which waits until it is handled before the next prompt.

A typed number means the list of choices last shown (``text_choices``); with a database the
list is rebuilt from the outbox at start, so a restarted demo on the same file goes on.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from bot.channels import text_choices
from bot.channels.base import Received, Webhook, album_lines
from domain.messages import Button, ChatType, Inbound, InboundKind, Reply
from domain.models import Photo
from runtime.context import Clock
from storage import outbox
from storage.db import Database

NAME = "console"
PHOTO_COMMANDS = {"/photo", "/anh", "/ảnh", "📷"}


class ConsoleChannel:
    name = NAME

    def __init__(
        self,
        clock: Clock,
        *,
        write: Callable[[str], None] = print,
        user_id: str = "demo",
        user_name: str = "Nguyễn Thị Demo",
        files: Path | None = None,
        saved: Callable[[Path, int], str] | None = None,
        db: Database | None = None,
    ) -> None:
        self.clock = clock
        self.write = write
        self.files = files
        self.saved = saved or (lambda path, kb: f"📎 {path} ({kb} KB)")
        self.user_id = user_id
        self.user_name = user_name
        self._session = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._sent = itertools.count(1)
        self._files = itertools.count(1)
        self.db = db
        self.choices = text_choices.ChoiceMemory(self._history if db is not None else None)

    async def _history(self, chat_id: str) -> list[Button]:
        assert self.db is not None
        async with self.db.transaction() as tx:
            replies = await outbox.recent_replies(tx, NAME, chat_id)
        return text_choices.from_history(replies)

    async def start(self) -> None:
        """Read back the choices on screen when the demo was last stopped."""
        await self.choices.current(self.user_id)

    @property
    def polling(self) -> bool:
        return False  # typed lines go to the ingress as they come (bot.demo)

    async def receive(self) -> Received:
        raise NotImplementedError("the console is not polled: bot.demo submits each line")

    def webhooks(self) -> Sequence[Webhook]:
        return ()

    async def stop(self) -> None:
        return None

    def switch(self, name: str) -> None:
        """Talk as another person (the demo's way to try each role): a new sender, a new chat."""
        self.user_name = name
        self.user_id = "demo-" + (re.sub(r"\W+", "-", name.lower()).strip("-") or "x")

    def to_inbound(self, line: str) -> Inbound:
        """A typed line becomes a command, a choice (by number or name), a photo, or text."""
        n = next(self._counter)
        text = line.strip()
        base = Inbound(
            channel=NAME,
            key=f"{NAME}:{self._session}:{n}",
            chat_id=self.user_id,
            chat_type=ChatType.PRIVATE,
            sender_id=self.user_id,
            sender_name=self.user_name,
            kind=InboundKind.TEXT,
            received_at=self.clock.now(),
            text=text,
            has_buttons=False,
        )
        if text.split(" ")[0].lower() in PHOTO_COMMANDS:
            photo = Photo(NAME, f"console-photo-{self._session}-{n}", f"p{n}", 120_000)
            return replace(base, kind=InboundKind.PHOTO, text="", photos=(photo,))
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return replace(base, kind=InboundKind.COMMAND, command=name.lower(), args=args.strip())
        chosen = text_choices.resolve(text, self.choices.peek(self.user_id))
        if chosen is not None:
            return replace(base, kind=InboundKind.CHOICE, choice=chosen.data, message_ref="")
        return base

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        if reply.action is not None:
            return ""  # the terminal answers at once; nothing to show while it works
        self.choices.shown(chat_id, reply)
        shown: list[str] = []  # one write per message
        if reply.album:
            shown.append(album_lines(reply.album))
        if reply.attachment is not None:
            shown.append(self._save(reply.attachment.filename, reply.attachment.data_b64))
        if reply.text:
            shown.append(text_choices.render(reply))
        self.write("\n".join(shown))
        self.write("")
        return str(next(self._sent))

    def _save(self, filename: str, data_b64: str) -> str:
        """A chart or workbook goes into the files folder (a terminal cannot show it)."""
        data = base64.b64decode(data_b64)
        kb = max(1, len(data) // 1024)
        if self.files is None:
            return f"📎 [{filename}, {kb} KB]"
        safe = re.sub(r"[^\w.\-]+", "_", Path(filename).name) or "file"
        path = self.files / f"{next(self._files):02d}-{safe}"
        path.write_bytes(data)
        return self.saved(path, kb)
