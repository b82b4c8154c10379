"""Drives the channel-neutral dispatcher the way a channel would, with a hand-moved clock."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from bot.app import handler_settings, make_router
from bot.config import AppConfig, load_config
from bot.i18n import Catalog
from domain.messages import Button, ChatType, Inbound, InboundKind, Reply
from domain.models import Photo, Role
from runtime.dispatcher import Dispatcher
from runtime.ingress import Ingress
from storage import org, outbox
from storage.db import Database, is_url
from storage.sqlite import SqliteBackend, _marker
from usecases.access import OPERATOR
from usecases.invites import create_invite

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
TZ = dt.timezone(dt.timedelta(hours=7))


class FakeClock:
    """Time that only moves when a test says so."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ)

    def now(self) -> dt.datetime:
        return self.current.astimezone(dt.UTC)

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


_keys = itertools.count(1)


@functools.cache
def example_config() -> AppConfig:
    """config.example.toml, read once per process (it is frozen: no test can change it)."""
    return load_config(EXAMPLE)


_template: bytes | None = None


async def from_template(where: str) -> None:
    """A new SQLite file starts as a copy of an empty database migrated once per process,
    instead of running every migration again for every test. Only where nothing was ever
    created (no file, no marker beside it): a test that reopens or loses a database sees
    exactly what it would without the copy. A copy is a file of its own: isolation holds."""
    global _template
    if not _never_created(where):
        return
    if _template is None:
        with tempfile.TemporaryDirectory(prefix="thidua-template-") as folder:
            made = Path(folder) / "template.sqlite3"
            async with Database(made):
                pass  # migrated at open, checkpointed into the one file at close
            _template = _read(made)
    _write(where, _template)


def _never_created(where: str) -> bool:
    if where == ":memory:" or is_url(where):
        return False
    return not Path(where).exists() and not _marker(where).exists()


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _write(where: str, data: bytes) -> None:
    Path(where).write_bytes(data)


@dataclass
class Sent:
    """A reply as the person sees it, with the platform message id it got."""

    chat_id: str
    reply: Reply
    message_id: str

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def buttons(self) -> list[Button]:
        return self.reply.choice_buttons


@dataclass
class Harness:
    db: Database
    dispatcher: Dispatcher
    clock: FakeClock
    config: AppConfig
    catalog: Catalog
    channel: str = "test"
    delivered: list[Sent] = field(default_factory=list)
    _last_id: int = 0
    _ingress: Ingress | None = None

    @classmethod
    async def create(
        cls,
        tmp_path: Path,
        clock: FakeClock | None = None,
        config: AppConfig | None = None,
        database: str | None = None,
    ) -> Harness:
        config = config or example_config()
        where = database or str(tmp_path / "test.sqlite3")
        await from_template(where)
        db = Database(where)
        await db.open()
        async with db.transaction() as tx:
            await org.sync(tx, config.units, config.clusters)
        clock = clock or FakeClock()
        catalog = Catalog()
        settings = handler_settings(config)
        dispatcher = Dispatcher(db, settings, catalog, clock, router=make_router())
        return cls(db, dispatcher, clock, config, catalog)

    async def close(self) -> None:
        await self.db.close()

    async def invite(
        self,
        unit: str = "hoan_kiem",
        role: Role = Role.OFFICER,
        uses: int = 1,
        expires: dt.timedelta | None = None,
    ) -> str:
        async with self.db.transaction() as tx:
            issued = await create_invite(
                tx,
                OPERATOR,
                unit_code=unit,
                role=role,
                uses=uses,
                expires_in=expires,
                now=self.clock.now(),
            )
        return issued.shown

    async def person(self, user_id: int, unit: str, role: Role = Role.OFFICER) -> User:
        """A person registered by an invite for `unit` and `role`, welcomed."""
        user = self.user(user_id, f"Người {user_id}")
        assert "Chào mừng" in (await user.register(await self.invite(unit, role)))[0].text
        return user

    @property
    def ingress(self) -> Ingress:
        """The one way in, as a channel uses it: record in the inbox, then handle."""
        if self._ingress is None or self._ingress.dispatcher is not self.dispatcher:
            self._ingress = Ingress(self.dispatcher)
        return self._ingress

    def user(self, user_id: int, name: str = "Nguyễn Văn An", channel: str = "") -> User:
        return User(self, str(user_id), name, channel=channel or self.channel)

    async def collect(self) -> list[Sent]:
        """Every outbox row written since the last call, marked delivered."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT id, chat_id, payload_json FROM outbox WHERE id > ? ORDER BY id",
                (self._last_id,),
            )
            # acknowledged the way the outbox sender does (a secret shown once is masked)
            now = self.clock.now()
            await outbox.mark_sent_many(tx, [(r["id"], now, str(r["id"])) for r in rows])
        sent = [Sent(r["chat_id"], Reply.from_json(r["payload_json"]), str(r["id"])) for r in rows]
        if rows:
            self._last_id = rows[-1]["id"]
        self.delivered.extend(sent)
        return sent

    async def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        async with self.db.transaction() as tx:
            return [tuple(r) for r in await tx.fetch_all(sql, params)]

    async def scalar(self, sql: str, *params: object) -> object:
        async with self.db.transaction() as tx:
            return await tx.fetch_value(sql, params)


@dataclass
class User:
    h: Harness
    id: str
    name: str
    chat_id: str = ""
    chat_type: ChatType = ChatType.PRIVATE
    last_with_buttons: Sent | None = None
    channel: str = "test"

    def __post_init__(self) -> None:
        self.chat_id = self.chat_id or self.id

    def inbound(self, kind: InboundKind, **fields: object) -> Inbound:
        return Inbound(
            channel=self.channel,
            key=f"test:{next(_keys)}",
            chat_id=self.chat_id,
            chat_type=self.chat_type,
            sender_id=self.id,
            sender_name=self.name,
            kind=kind,
            received_at=self.h.clock.now(),
            **fields,  # type: ignore[arg-type]
        )

    async def deliver(self, inbound: Inbound) -> list[Sent]:
        await self.h.ingress.submit(inbound)
        replies = await self.h.collect()
        mine = [r for r in replies if r.chat_id == self.chat_id]
        for r in mine:
            if r.buttons:
                self.last_with_buttons = r
        return mine

    async def send(self, text: str) -> list[Sent]:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return await self.deliver(
                self.inbound(
                    InboundKind.COMMAND, text=text, command=name.lower(), args=args.strip()
                )
            )
        return await self.deliver(self.inbound(InboundKind.TEXT, text=text))

    def button(self, label: str) -> tuple[Sent, Button]:
        sent = self.last_with_buttons
        assert sent is not None, "no message with buttons yet"
        for b in sent.buttons:
            if label in b.label:
                return sent, b
        raise AssertionError(f"no button {label!r} in {[b.label for b in sent.buttons]}")

    async def press(self, label: str) -> list[Sent]:
        sent, button = self.button(label)
        return await self.press_data(button.data, sent.message_id)

    async def press_data(self, data: str, message_ref: str = "1") -> list[Sent]:
        return await self.deliver(
            self.inbound(InboundKind.CHOICE, choice=data, message_ref=message_ref)
        )

    async def photo(self, n: int = 1, caption: str = "") -> list[Sent]:
        photo = Photo(self.h.channel, f"file-{self.id}-{n}", f"u{n}", 50_000 + n)
        return await self.deliver(self.inbound(InboundKind.PHOTO, photos=(photo,), text=caption))

    async def other(self, kind: InboundKind, text: str = "") -> list[Sent]:
        return await self.deliver(self.inbound(kind, text=text))

    async def register(self, code: str) -> list[Sent]:
        return await self.send(f"/start {code}")


def sqlite_conn(db: Database) -> aiosqlite.Connection:
    """The SQLite connection under a database, for tests of SQLite's own failures."""
    assert isinstance(db.backend, SqliteBackend)
    return db.backend.conn


async def founded(user: User, unions: int) -> None:
    """One saved quick report: `unions` grassroots unions founded on 10/12."""
    await user.send(f"thành lập {unions} công đoàn cơ sở ngày 10/12")
    await user.press("Lưu")
