"""Choices for channels without buttons (console, Zalo): numbered text out, numbers or names in.

What a typed "1" means is the list of choices this chat was last shown, decided by
:func:`after` for every message the bot sends there, in order:

* a message with choices: its choices become the list;
* a message without choices that ``keeps_choices`` (a chart after the standings text of the
  same answer, an error asking again, a scheduled post): the list stays as it was;
* any other message without choices (a new answer such as /help, a receipt): the list is
  cleared, so a stale "1" is text the handler explains, never silently "✅ Lưu".

:class:`ChoiceMemory` keeps the list per chat in memory and, when a chat is not there (after a
restart), rebuilds it from the chat's newest outbox rows with :func:`from_history`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence

from domain.messages import Button, Reply
from domain.text import fold

_NOT_WORD = re.compile(r"[^\w\s/]")


def _name(label: str) -> str:
    return _NOT_WORD.sub("", fold(label)).strip()


def numbered(reply: Reply) -> list[Button]:
    return [b for b in reply.choice_buttons if not b.nav]


def render(reply: Reply) -> str:
    """The message text followed by "1. Tặng quà  2. Sự kiện …" and the words to type."""
    lines = [reply.text]
    options = numbered(reply)
    if options:
        lines.append("  ".join(f"{n}. {b.label}" for n, b in enumerate(options, start=1)))
    nav = [b.label for b in reply.choice_buttons if b.nav]
    if nav:
        lines.append("(" + " · ".join(nav) + ")")
    return "\n".join(lines)


def resolve(text: str, buttons: Sequence[Button]) -> Button | None:
    """The button a typed answer means: its number, or its name without diacritics.

    A number beyond the list or a name shared by two buttons resolves to
    nothing, and the text goes to the handler as typed, which explains.
    """
    if not buttons:
        return None
    options = [b for b in buttons if not b.nav]
    typed = _name(text)
    if typed.isdigit():
        index = int(typed) - 1
        return options[index] if 0 <= index < len(options) else None
    matches = [b for b in buttons if _name(b.label) == typed and typed]
    return matches[0] if len(matches) == 1 else None


def after(current: list[Button] | None, reply: Reply) -> list[Button] | None:
    """The list a typed number means once `reply` is on screen (None: not known yet)."""
    if reply.action is not None:
        return current  # an indicator is not a message
    if reply.choice_buttons:
        return reply.choice_buttons
    return current if reply.keeps_choices else []


def from_history(newest_first: Iterable[Reply]) -> list[Button]:
    """The list a chat's messages leave on screen, reading back from the newest one."""
    for reply in newest_first:
        if reply.action is not None or (reply.keeps_choices and not reply.choice_buttons):
            continue
        return reply.choice_buttons
    return []


Loader = Callable[[str], Awaitable[list[Button]]]


class ChoiceMemory:
    """Per chat, the choices a typed number means; rebuilt by `load` when not in memory."""

    def __init__(self, load: Loader | None = None, max_chats: int = 10_000) -> None:
        self.load = load
        self.max_chats = max_chats
        self._lists: OrderedDict[str, list[Button]] = OrderedDict()

    async def current(self, chat_id: str) -> list[Button]:
        """The choices on the person's screen: memory first, else the outbox (via `load`)."""
        remembered = self._lists.get(chat_id)
        if remembered is not None:
            self._lists.move_to_end(chat_id)
            return remembered
        loaded = await self.load(chat_id) if self.load is not None else []
        self._put(chat_id, loaded)
        return loaded

    def peek(self, chat_id: str) -> list[Button]:
        """The remembered list without loading (empty when not known)."""
        return self._lists.get(chat_id, [])

    def shown(self, chat_id: str, reply: Reply) -> None:
        """`reply` is going to this chat: update its list by :func:`after`.

        A message that keeps the list of a chat not in memory changes nothing: the next
        :meth:`current` reads the history, this message included.
        """
        updated = after(self._lists.get(chat_id), reply)
        if updated is not None:
            self._put(chat_id, updated)

    def _put(self, chat_id: str, buttons: list[Button]) -> None:
        self._lists[chat_id] = buttons
        self._lists.move_to_end(chat_id)
        while len(self._lists) > self.max_chats:
            self._lists.popitem(last=False)
