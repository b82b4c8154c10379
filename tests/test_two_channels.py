"""Telegram and Zalo in one process: one failing to start does not stop the other."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from bot.app import App
from bot.config import Secrets, load_config
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.harness import EXAMPLE, FakeClock
from tests.tg import TgUser


async def test_zalo_down_at_start_does_not_stop_telegram_and_both_serve_one_person(
    tmp_path: Path,
) -> None:
    async with FakeTelegramAPI() as tg_fake, FakeZaloAPI(token="777:zalo-token") as zalo_fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(tg_fake.token),
            telegram_api_base_url=tg_fake.base_url,
            zalo_bot_token=SecretStr("777:zalo-token"),
            zalo_api_base_url=zalo_fake.base_url,
        )
        config = load_config(EXAMPLE).with_secrets(secrets)
        app = App(
            config,
            secrets,
            clock=FakeClock(),
            database=str(tmp_path / "two.sqlite3"),
            channel_retry_delay=0.05,
        )
        zalo_fake.fail_next(
            "getMe", http_status=502, error_code=502, description="Bad Gateway", count=2
        )
        for channel in app.enabled_channels():
            app.add_channel(channel)
        assert sorted(app.channels) == ["telegram", "zalo"]
        await app.start()
        try:
            from domain.models import Role
            from usecases.access import OPERATOR
            from usecases.invites import create_invite

            async with app.db.transaction() as tx:
                issued = await create_invite(
                    tx,
                    OPERATOR,
                    unit_code="ba_dinh",
                    role=Role.OFFICER,
                    uses=1,
                    expires_in=None,
                    now=app.clock.now(),
                )
            an = TgUser(tg_fake, tg_fake.user(4242, "An"))
            await an.say(f"/start {issued.shown}", "Chào mừng")  # Telegram works while Zalo is down
            link = await an.say("/link", "Mã liên kết")
            code = (link.text or "").split("Mã liên kết: ")[1].split(" ")[0]

            # Zalo comes up after two failed getMe calls and links to the same person
            zalo_user = zalo_fake.user("z-1", "An trên Zalo")
            zalo_user.send(f"/link {code}")
            await zalo_fake.wait_for(
                lambda f: any("Đã liên kết tài khoản Zalo" in t for t in f.texts("z-1")), timeout=15
            )
            zalo_user.send("/myreports")
            await zalo_fake.wait_for(
                lambda f: any("chưa có báo cáo nào" in t for t in f.texts("z-1")), timeout=15
            )
        finally:
            await app.stop()


async def test_telegram_by_webhook_records_before_answering_and_checks_the_secret(
    tmp_path: Path,
) -> None:
    import httpx

    async with FakeTelegramAPI() as tg_fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(tg_fake.token),
            telegram_api_base_url=tg_fake.base_url,
            telegram_webhook_secret=SecretStr("s3cret-value-for-tests"),
        )
        base = load_config(EXAMPLE).with_secrets(secrets)
        telegram = base.telegram.model_copy(
            update={"mode": "webhook", "public_base_url": "https://bot.example.vn"}
        )
        webhook = base.webhook.model_copy(update={"host": "127.0.0.1", "port": 0})
        config = base.model_copy(update={"telegram": telegram, "webhook": webhook})
        app = App(config, secrets, clock=FakeClock(), database=str(tmp_path / "wh.sqlite3"))
        for channel in app.enabled_channels():
            app.add_channel(channel)
        await app.start()
        try:
            assert app.server is not None
            set_hook = tg_fake.sent(method="setWebhook")
            assert set_hook[0].params["url"] == "https://bot.example.vn/telegram/webhook"
            assert set_hook[0].params["secret_token"] == "s3cret-value-for-tests"
            update = {
                "update_id": 9001,
                "message": {
                    "message_id": 1,
                    "date": 1767225600,
                    "text": "/help",
                    "chat": {"id": 31, "type": "private"},
                    "from": {"id": 31, "is_bot": False, "first_name": "Lan"},
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }
            async with httpx.AsyncClient(base_url=app.server.url) as http:
                wrong = await http.post(
                    "/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
                )
                assert wrong.status_code == 403
                ok = await http.post(
                    "/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value-for-tests"},
                )
                assert ok.status_code == 200
                async with app.db.transaction() as tx:
                    recorded = await tx.fetch_value(
                        "SELECT COUNT(*) FROM inbox WHERE key = 'telegram:9001'"
                    )
                assert recorded == 1  # recorded before the 200
            await tg_fake.wait_for(lambda f: any("mã mời" in t for t in f.texts(31)), timeout=10)
        finally:
            await app.stop()
