"""One person, three messengers: channel rigs that run the real App end to end.

Each rig starts a real ``bot.app.App`` (database, dispatcher, outbox sender, scheduler) with
one channel and hands out a :class:`Person` whose four verbs read the same everywhere:

* ``say(text, expect)``: type a line; returns the bot's next message containing ``expect``.
* ``choose(label, expect)``: pick a choice. On Telegram the inline button whose text contains
  ``label`` is pressed; on Zalo and the console its NUMBER is typed, read from the rendered
  "1. …  2. …" line of the last message with choices (a navigation choice such as "Bỏ qua",
  rendered as "(Bỏ qua · ❌ Hủy)", has no number and is typed by name).
* ``send_photo(expect)``: send a picture.
* ``expect(fragment)``: the next message containing ``fragment``.

Every verb waits on an event, never on time: the fake server's ``wait_for`` (Telegram,
Zalo) or the console sender's ``wait_idle``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.config import AppConfig, Secrets
from tests.fakes.telegram_api import Call as TgCall
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser
from tests.fakes.zalo_api import FakeZaloAPI, FakeZaloUser
from tests.harness import FakeClock, example_config, from_template

CHANNELS = ("telegram", "zalo", "console")
WAIT = 10.0  # seconds an expected reply may take before the test fails

_NUMBERED = re.compile(r"(?:^|\s{2})(\d+)\. ")


class Person(Protocol):
    channel: str
    numbered: bool  # choices are typed numbers (Zalo, console), not buttons (Telegram)

    @property
    def messages(self) -> list[str]:
        """Every message the bot sent this person so far, in order."""
        ...

    async def say(self, text: str, expect: str) -> str: ...

    async def choose(self, label: str, expect: str) -> str: ...

    async def send_photo(self, expect: str) -> str: ...

    async def expect(self, fragment: str) -> str: ...


def choices_of(message: str) -> tuple[dict[str, str], list[str]]:
    """The numbered choices (label → number) and the navigation words under a message."""
    lines = message.split("\n")
    nav: list[str] = []
    if len(lines) > 1 and lines[-1].startswith("(") and lines[-1].endswith(")"):
        nav = [w.strip() for w in lines.pop()[1:-1].split(" · ")]
    numbered: dict[str, str] = {}
    if len(lines) > 1 and lines[-1].startswith("1. "):
        parts = _NUMBERED.split(lines[-1])[1:]
        numbered = {label.strip(): n for n, label in zip(parts[::2], parts[1::2], strict=True)}
    return numbered, nav


def what_to_type(messages: list[str], label: str) -> str:
    """The number (or navigation word) of `label` in the last message that offers choices."""
    for message in reversed(messages):
        numbered, nav = choices_of(message)
        if not numbered and not nav:
            continue
        hits = [n for text, n in numbered.items() if label in text]
        if len(hits) == 1:
            return hits[0]
        words = [w for w in nav if label in w]
        if not hits and len(words) == 1:
            return words[0]
        raise AssertionError(f"{label!r} is not one clear choice in:\n{message}")
    raise AssertionError(f"no message with choices yet; looking for {label!r}")


@dataclass
class _Reader:
    """The part every person shares: a list of messages and a cursor over them."""

    seen: int = 0

    @property
    def messages(self) -> list[str]:
        raise NotImplementedError

    def _find(self, fragment: str) -> int | None:
        new = self.messages[self.seen :]
        return next((i for i, text in enumerate(new) if fragment in text), None)

    def _take(self, fragment: str) -> str:
        index = self._find(fragment)
        if index is None:
            shown = "\n---\n".join(self.messages[self.seen :]) or "(nothing new)"
            raise AssertionError(f"no message containing {fragment!r}; the bot said:\n{shown}")
        message = self.messages[self.seen + index]
        self.seen += index + 1
        return message


# ---- Telegram -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class TelegramPerson(_Reader):
    fake: FakeTelegramAPI
    user: FakeUser
    channel: str = "telegram"
    numbered: bool = False
    photos: int = 0

    def _calls(self) -> list[TgCall]:
        return self.fake.sent(chat_id=self.user.id)

    @property
    def messages(self) -> list[str]:
        return [c.text or "" for c in self._calls()]

    async def expect(self, fragment: str) -> str:
        await self.fake.wait_for(
            lambda _: self._find(fragment) is not None,
            timeout=WAIT,
            what=f"a reply containing {fragment!r}",
        )
        return self._take(fragment)

    async def say(self, text: str, expect: str) -> str:
        self.user.send(text)
        return await self.expect(expect)

    async def choose(self, label: str, expect: str) -> str:
        for call in reversed(self._calls()[: self.seen]):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button.get("text", "") and "callback_data" in button:
                        self.user.press(call, button["callback_data"], check=False)
                        return await self.expect(expect)
        raise AssertionError(f"no button {label!r} on screen")

    async def send_photo(self, expect: str) -> str:
        self.photos += 1
        n = self.photos
        self.user.send_photo(file_id=f"AgACphoto{n}", file_unique_id=f"uniq{n}", file_size=81234)
        return await self.expect(expect)


# ---- Zalo ---------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ZaloPerson(_Reader):
    fake: FakeZaloAPI
    user: FakeZaloUser
    channel: str = "zalo"
    numbered: bool = True
    photos: int = 0

    @property
    def messages(self) -> list[str]:
        return self.fake.texts(self.user.id)

    async def expect(self, fragment: str) -> str:
        await self.fake.wait_for(
            lambda _: self._find(fragment) is not None,
            WAIT,
            what=f"a message containing {fragment!r}",
        )
        return self._take(fragment)

    async def say(self, text: str, expect: str) -> str:
        self.user.send(text)
        return await self.expect(expect)

    async def choose(self, label: str, expect: str) -> str:
        return await self.say(what_to_type(self.messages[: self.seen], label), expect)

    async def send_photo(self, expect: str) -> str:
        self.photos += 1
        self.user.send_image(self.fake.host_image(f"{self.user.id}-{self.photos}.jpg"))
        return await self.expect(expect)


# ---- console ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ConsolePerson(_Reader):
    app: App
    console: ConsoleChannel
    channel: str = "console"
    numbered: bool = True
    lines: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [line for line in self.lines if line]

    async def _type(self, line: str) -> None:
        await self.app.ingress.submit(self.console.to_inbound(line))
        await self.app.senders["console"].wait_idle(WAIT)

    async def expect(self, fragment: str) -> str:
        await self.app.senders["console"].wait_idle(WAIT)
        return self._take(fragment)

    async def say(self, text: str, expect: str) -> str:
        await self._type(text)
        return self._take(expect)

    async def choose(self, label: str, expect: str) -> str:
        return await self.say(what_to_type(self.messages[: self.seen], label), expect)

    async def send_photo(self, expect: str) -> str:
        return await self.say("/photo", expect)


# ---- rigs ---------------------------------------------------------------------------------


@dataclass
class Rig:
    """A running App with one channel, and the people who talk to it there."""

    channel: str
    app: App
    make_person: Callable[[int, str], Person]
    people: list[Person] = field(default_factory=list)
    #: Stops the App and starts a new one on the same database (a new process): whatever the
    #: channel kept in memory is gone.
    restarter: Callable[[], Awaitable[App]] | None = None

    async def restart(self) -> None:
        assert self.restarter is not None
        await self.app.senders[self.channel].wait_idle(WAIT)
        self.app = await self.restarter()

    def person(self, user_id: int, name: str) -> Person:
        made = self.make_person(user_id, name)
        self.people.append(made)
        return made

    async def check_settled(self) -> None:
        """Everything received was handled, and every reply went out once, on this channel."""
        await self.app.senders[self.channel].wait_idle(WAIT)
        assert await self.count("SELECT COUNT(*) FROM inbox WHERE status != 'done'") == 0
        assert await self.count("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0
        assert await self.count("SELECT COUNT(*) FROM outbox WHERE channel != ?", self.channel) == 0
        assert (
            await self.count("SELECT COUNT(*) FROM inbox WHERE key NOT LIKE ?", f"{self.channel}:%")
            == 0
        )
        rows = await self.count("SELECT COUNT(*) FROM outbox")
        if self.channel == "telegram":  # evidence photos go before their text, as an album
            rows += await self.count(
                "SELECT COUNT(*) FROM outbox WHERE payload_json LIKE ?", '%"album": ["%'
            )
        assert sum(len(p.messages) for p in self.people) == rows  # none lost, none doubled

    async def scalar(self, sql: str, *params: object) -> object:
        async with self.app.db.transaction() as tx:
            return await tx.fetch_value(sql, params)

    async def count(self, sql: str, *params: object) -> int:
        return int(str(await self.scalar(sql, *params)))

    async def invite(self, unit: str = "hoan_kiem", role: str = "officer", uses: int = 5) -> str:
        from domain.models import Role
        from usecases.access import OPERATOR
        from usecases.invites import create_invite

        async with self.app.db.transaction() as tx:
            issued = await create_invite(
                tx,
                OPERATOR,
                unit_code=unit,
                role=Role(role),
                uses=uses,
                expires_in=None,
                now=self.app.clock.now(),
            )
        return issued.shown

    async def enrol(self, user_id: int, name: str, unit: str, role: str) -> Person:
        """A person registered through an invite of their own, as `role` of `unit`."""
        code = await self.invite(unit, role, uses=1)
        person = self.person(user_id, name)
        await person.say(f"/start {code}", "Chào mừng")
        return person


Configure = Callable[[AppConfig], AppConfig]


def _app(
    tmp_path: Path,
    secrets: Secrets,
    clock: FakeClock | None = None,
    configure: Configure | None = None,
) -> App:
    config = example_config().with_secrets(secrets)
    if configure is not None:
        config = configure(config)
    return App(config, secrets, clock=clock or FakeClock(), database=str(tmp_path / "bot.sqlite3"))


@asynccontextmanager
async def _running(
    channel: str, make: Callable[[FakeClock | None], App], person: Callable[[int, str], Person]
) -> AsyncIterator[Rig]:
    """The rig, with `restart`: stop the App, start a new one on the same database."""
    app = make(None)
    await app.start()

    async def restart() -> App:
        await rig.app.stop()
        clock = rig.app.clock
        assert isinstance(clock, FakeClock)
        fresh = make(clock)
        await fresh.start()
        return fresh

    rig = Rig(channel, app, person, restarter=restart)
    try:
        yield rig
    finally:
        await rig.app.stop()


@asynccontextmanager
async def _telegram(tmp_path: Path, configure: Configure | None = None) -> AsyncIterator[Rig]:
    async with FakeTelegramAPI() as fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url
        )

        def make(clock: FakeClock | None) -> App:
            app = _app(tmp_path, secrets, clock, configure)
            app.add_channel(app.build_channel("telegram"))
            return app

        def person(user_id: int, name: str) -> Person:
            return TelegramPerson(fake=fake, user=fake.user(user_id, name))

        async with _running("telegram", make, person) as rig:
            yield rig


@asynccontextmanager
async def _zalo(tmp_path: Path, configure: Configure | None = None) -> AsyncIterator[Rig]:
    from bot.channels.zalo import ZaloChannel
    from bot.channels.zalo_api import ZaloBotAPI

    async with FakeZaloAPI() as fake, ZaloBotAPI(fake.token, base_url=fake.base_url) as api:

        def make(clock: FakeClock | None) -> App:
            app = _app(tmp_path, Secrets(), clock, configure)
            app.add_channel(ZaloChannel(api, app.db, app.clock, poll_timeout=1))
            return app

        def person(user_id: int, name: str) -> Person:
            return ZaloPerson(fake=fake, user=fake.user(f"u{user_id}", name))

        async with _running("zalo", make, person) as rig:
            yield rig
        assert not fake.errors, fake.errors


@asynccontextmanager
async def _console(tmp_path: Path, configure: Configure | None = None) -> AsyncIterator[Rig]:
    lines: list[str] = []
    people: list[ConsolePerson] = []

    def make(clock: FakeClock | None) -> App:
        app = _app(tmp_path, Secrets(), clock, configure)
        console = ConsoleChannel(app.clock, write=lines.append, db=app.db)
        app.add_channel(console)
        for someone in people:  # the same terminal, now talking to the new process
            someone.app, someone.console = app, console
        return app

    def person(user_id: int, name: str) -> Person:
        # The console is one terminal: one person, whose id and name the channel holds.
        assert not people, "the console rig has room for one person"
        app = rig.app
        console = app.channels["console"]
        assert isinstance(console, ConsoleChannel)
        people.append(ConsolePerson(app=app, console=console, lines=lines))
        return people[0]

    async with _running("console", make, person) as rig:
        yield rig


RIGS = {"telegram": _telegram, "zalo": _zalo, "console": _console}


@asynccontextmanager
async def rig(
    channel: str, tmp_path: Path, configure: Configure | None = None
) -> AsyncIterator[Rig]:
    """A running App on `channel`; `configure` changes the example configuration first."""
    await from_template(str(tmp_path / "bot.sqlite3"))
    async with RIGS[channel](tmp_path, configure) as running:
        yield running
