"""Telegram's command menu per role and language, through the real PTB stack (issue 8).

Commands are declared once, with who sees them, in the router's table; the
Telegram channel sets the guests' menu per app language at start, and each
registered person's own menu (their role, their language) in their chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import BadRequest

from bot.app import App, make_router
from bot.config import Secrets, load_config
from bot.i18n import Catalog
from domain.access import Actor, ActorRole, may_ever
from domain.models import Role
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE, FakeClock
from tests.tg import TgUser
from usecases.access import OPERATOR
from usecases.invites import create_invite

HEADS_ONLY = {"standings", "missing", "export"}


@pytest.fixture
async def tg(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegramAPI, App]]:
    async with FakeTelegramAPI() as fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url
        )
        config = load_config(EXAMPLE).with_secrets(secrets)
        app = App(config, secrets, clock=FakeClock(), database=str(tmp_path / "menu.sqlite3"))
        app.add_channel(app.build_channel("telegram"))
        await app.start()
        try:
            yield fake, app
        finally:
            await app.stop()


async def register(fake: FakeTelegramAPI, app: App, user_id: int, role: Role, unit: str) -> TgUser:
    async with app.db.transaction() as tx:
        issued = await create_invite(
            tx, OPERATOR, unit_code=unit, role=role, uses=1, expires_in=None, now=app.clock.now()
        )
    person = TgUser(fake, fake.user(user_id, "An"))
    await person.say(f"/start {issued.shown}", "Chào mừng")
    return person


def names(commands: list[dict[str, str]]) -> list[str]:
    return [c["command"] for c in commands]


async def test_a_cluster_heads_chat_lists_head_commands_and_an_officers_does_not(tg) -> None:
    fake, app = tg
    head = await register(fake, app, 2001, Role.CLUSTER_HEAD, "long_bien")
    officer = await register(fake, app, 2002, Role.OFFICER, "hoan_kiem")
    head_menu = names(fake.commands_seen(head.chat_id, "vi"))
    officer_menu = names(fake.commands_seen(officer.chat_id, "vi"))
    assert set(head_menu) >= HEADS_ONLY
    assert not HEADS_ONLY & set(officer_menu)
    assert {"report", "myreports", "help"} <= set(officer_menu) & set(head_menu)
    assert "start" not in officer_menu  # registered: no invite code to type any more
    # the chat's own menu wins over the app language: the person chose Vietnamese
    assert fake.commands_seen(officer.chat_id, "en") == fake.commands_seen(officer.chat_id, "vi")
    described = {c["command"]: c["description"] for c in fake.commands_seen(officer.chat_id)}
    assert described["report"] == "Báo cáo hoạt động"


async def test_the_menu_follows_the_persons_language(tg) -> None:
    fake, app = tg
    officer = await register(fake, app, 2003, Role.OFFICER, "hoan_kiem")
    await officer.say("/lang en", "English")
    described = {c["command"]: c["description"] for c in fake.commands_seen(officer.chat_id)}
    assert described["report"] == "Report an activity"


async def test_people_not_registered_see_the_guest_menu_in_their_app_language(tg) -> None:
    fake, _ = tg
    stranger = 2999
    assert names(fake.commands_seen(stranger, "vi")) == ["start", "help", "lang"]
    english = fake.commands_seen(stranger, "en")
    assert names(english) == ["start", "help", "lang"]
    assert english[0]["description"] == "Register with an invite code"
    assert fake.commands_seen(stranger, "fr")[0]["description"] == "Đăng ký bằng mã mời"


def test_every_menu_command_is_described_and_allowed_by_the_policy() -> None:
    """A menu never offers what the access policy would refuse (heads: this year's)."""
    catalog = Catalog()
    router = make_router()
    led = frozenset({"cum1"})
    actors = [
        Actor(ActorRole.UNREGISTERED),
        Actor(ActorRole.OFFICER),
        Actor(ActorRole.CHAIR),
        Actor(ActorRole.ADMIN),
        Actor(ActorRole.OFFICER, heads=led),
        Actor(ActorRole.OFFICER, deputises=led),
    ]
    for actor in actors:
        for lang in ("vi", "en"):
            for name, description in router.menu_commands(actor.roles, lang, catalog):
                assert may_ever(actor, router.commands[name].action).allowed, (actor.roles, name)
                assert description != f"cmd.{name}" and 1 <= len(description) <= 256
    admin = [name for name, _ in router.menu_commands(frozenset({ActorRole.ADMIN}), "vi", catalog)]
    assert admin[0] == "target" and admin[-2:] == ["help", "lang"]  # specific first
    deputy = {name for name, _ in router.menu_commands(actors[-1].roles, "vi", catalog)}
    assert {"standings", "missing", "export"} <= deputy


async def test_the_fake_keeps_commands_per_scope_and_language() -> None:
    async with (
        FakeTelegramAPI() as fake,
        Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot,
    ):
        await bot.set_my_commands([BotCommand("help", "Hướng dẫn")])
        await bot.set_my_commands([BotCommand("help", "Help")], language_code="en")
        chat = BotCommandScopeChat(42)
        await bot.set_my_commands([BotCommand("export", "Excel")], scope=chat)
        assert names(fake.commands_seen(42)) == ["export"]
        assert names(fake.commands_seen(42, "en")) == ["export"]  # the chat's scope comes first
        assert fake.commands_seen(43, "en")[0]["description"] == "Help"
        assert fake.commands_seen(43, "vi")[0]["description"] == "Hướng dẫn"
        with pytest.raises(BadRequest, match="language code"):
            await bot.set_my_commands([BotCommand("help", "x")], language_code="english")
