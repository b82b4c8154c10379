"""Helpers for end-to-end tests: a simulated Telegram user who waits for the bot's answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fakes.telegram_api import Call, FakeTelegramAPI, FakeUser


@dataclass
class TgUser:
    fake: FakeTelegramAPI
    user: FakeUser
    chat_id: int = 0
    seen: int = 0
    history: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chat_id = self.chat_id or self.user.id

    def _new(self) -> list[Call]:
        return self.fake.sent(chat_id=self.chat_id)[self.seen :]

    async def expect(self, fragment: str, limit: float = 15.0) -> Call:
        """The next message (or edit) in this chat that contains `fragment`."""

        def found(fake: FakeTelegramAPI) -> bool:
            return any(fragment in (c.text or "") for c in self._new())

        await self.fake.wait_for(found, timeout=limit, what=f"a reply containing {fragment!r}")
        new = self._new()
        index = next(i for i, c in enumerate(new) if fragment in (c.text or ""))
        self.history.extend(new[: index + 1])
        self.seen += index + 1
        return new[index]

    async def say(self, text: str, expect: str) -> Call:
        self.user.send(text, chat_id=self.chat_id if self.chat_id < 0 else None)
        return await self.expect(expect)

    def button(self, label: str) -> tuple[Call, str]:
        for call in reversed(self.fake.sent(chat_id=self.chat_id)):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if label in b.get("text", "") and "callback_data" in b:
                        return call, b["callback_data"]
        raise AssertionError(f"no button {label!r} in chat {self.chat_id}")

    async def press(self, label: str, expect: str) -> Call:
        call, data = self.button(label)
        self.user.press(call, data, check=False)
        return await self.expect(expect)
