"""End to end: the real python-telegram-bot stack against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.config import Secrets, load_config
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE, ROOT, FakeClock
from tests.tg import TgUser


@pytest.fixture
async def tg(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegramAPI, App]]:
    async with FakeTelegramAPI() as fake:
        secrets = Secrets(
            telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url
        )
        config = load_config(EXAMPLE).with_secrets(secrets)
        app = App(config, secrets, clock=FakeClock(), database=str(tmp_path / "e2e.sqlite3"))
        app.add_channel(app.build_channel("telegram"))
        await app.start()
        try:
            yield fake, app
        finally:
            await app.stop()


async def invite(app: App, unit: str = "hoan_kiem") -> str:
    from domain.models import Role
    from usecases.access import OPERATOR
    from usecases.invites import create_invite

    async def make() -> str:
        async with app.db.transaction() as tx:
            issued = await create_invite(
                tx,
                OPERATOR,
                unit_code=unit,
                role=Role.OFFICER,
                uses=5,
                expires_in=None,
                now=app.clock.now(),
            )
        return issued.shown

    return await make()


async def count(app: App, sql: str) -> int:
    async def query() -> int:
        async with app.db.transaction() as tx:
            return int(await tx.fetch_value(sql))

    return await query()


async def test_registration_gifts_report_with_buttons_myreports_and_retract(tg) -> None:
    fake, app = tg
    an = TgUser(fake, fake.user(1001, "An", last_name="Nguyễn"))
    welcome = await an.say(f"/start {await invite(app)}", "Chào mừng")
    assert "LĐLĐ quận Hoàn Kiếm" in (welcome.text or "")
    keyboard = welcome.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["text"] == "📝 Báo cáo"  # the persistent menu

    await an.say("📝 Báo cáo", "Bạn muốn báo cáo hoạt động nào?")
    await an.press("Tặng quà", "Số suất quà")
    await an.say("20", "Giá trị mỗi suất")
    await an.say("500k", "Đối tượng nhận quà")
    await an.press("Bỏ qua", "Dịp tặng quà")
    await an.press("8/3", "Ngày trao")
    await an.say("8/3", "Ảnh minh chứng")
    fake.user(1001, "An").send_photo(file_id="AgACphoto1", file_unique_id="uniq1", file_size=81234)
    await an.expect("Đã nhận 1 ảnh")
    card = await an.press("Xong", "vui lòng kiểm tra lại")
    assert "• Giá trị mỗi suất: 500.000 đ" in (card.text or "")
    saved = await an.press("Lưu", "Đã lưu báo cáo #1")
    assert saved.method == "editMessageText"  # the card turns into the receipt, buttons gone
    assert "reply_markup" not in saved.params or not saved.params["reply_markup"]
    assert await count(app, "SELECT COUNT(*) FROM reports") == 1
    assert await count(app, "SELECT size FROM report_photos WHERE file_ref = 'AgACphoto1'") == 81234
    assert app.evidence is not None  # the photo is downloaded in the background (getFile)
    await app.evidence.run_due()  # whatever the loop has not done yet
    stored = "SELECT COUNT(*) FROM report_photos WHERE state = 'stored' AND sha256 IS NOT NULL"
    assert await count(app, stored) == 1
    assert (
        fake.calls_of("getFile")
        and len(list(Path(app.db.path).parent.glob("evidence/??/??/*"))) == 1
    )
    callbacks = fake.sent(method="answerCallbackQuery")
    assert len(callbacks) >= 5  # every button press stopped its spinner

    listing = await an.say("/myreports", "Báo cáo gần nhất")
    assert "500.000 đ" in (listing.text or "")
    await an.press("🗑 #1", "Rút báo cáo này?")
    await an.press("Rút báo cáo", "Đã rút báo cáo #1")
    assert await count(app, "SELECT COUNT(*) FROM reports WHERE status = 'retracted'") == 1


async def test_quick_report_and_a_redelivered_update_is_handled_once(tg) -> None:
    fake, app = tg
    binh = TgUser(fake, fake.user(2002, "Bình"))
    await binh.say(f"/start {await invite(app, 'long_bien')}", "Chào mừng")
    await binh.say("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3", "kiểm tra lại")
    await binh.press("Lưu", "Đã lưu báo cáo #1")
    await binh.expect("Cảm ơn bạn")

    update_id = binh.user.send("/myreports")
    await binh.expect("Báo cáo gần nhất")
    fake.push_update_again(update_id)  # Telegram delivers the same update again
    await binh.say("/help", "Các lệnh bạn dùng được")
    answers = [c for c in fake.sent(chat_id=2002) if "Báo cáo gần nhất" in (c.text or "")]
    assert len(answers) == 1
    assert await count(app, f"SELECT COUNT(*) FROM inbox WHERE key = 'telegram:{update_id}'") == 1


async def test_group_chat_points_to_private_chat_and_bad_input_is_survived(tg) -> None:
    fake, app = tg
    user = fake.user(3003, "Cường")
    cuong = TgUser(fake, user)
    await cuong.say(f"/start {await invite(app)}", "Chào mừng")
    group = TgUser(fake, user, chat_id=-4001)
    user.send_in_group(-4001, "/report")
    reply = await group.expect("tin nhắn riêng")
    assert "t.me/thidua_test_bot" in (reply.text or "")

    await cuong.say("/report", "Bạn muốn báo cáo")
    await cuong.press("Tặng quà", "Số suất quà")
    user.send_sticker()
    await cuong.expect("chưa đọc được")
    user.edit(user.last_message_id or 1, "25")
    await cuong.expect("chỉnh sửa")
    await cuong.say("x" * 5000, "quá dài")
    await cuong.say("🙂", "không phải là số")
    await cuong.say("20", "Giá trị mỗi suất")
    assert await count(app, "SELECT COUNT(*) FROM inbox WHERE status != 'done'") == 0


def _write_config(tmp_path: Path, fake: FakeTelegramAPI) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('database = "thidua.sqlite3"', f'database = "{tmp_path / "bot.sqlite3"}"')
    text = text.replace("poll_timeout_seconds = 25", "poll_timeout_seconds = 2")
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(fake: FakeTelegramAPI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "THIDUA_CONFIG"}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url)
    return env


async def _start_bot(config: Path, fake: FakeTelegramAPI) -> asyncio.subprocess.Process:
    polls = len(fake.sent(method="getUpdates", include_failed=True))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env=_env(fake),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await fake.wait_for(
        lambda f: (
            len(f.sent(method="getUpdates", include_failed=True)) > polls
            or any(c.method == "getUpdates" and c.status is None for c in f.calls[-5:])
        ),
        timeout=30,
        what="the bot to start polling",
    )
    return proc


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _reports(config_dir: Path) -> int:
    with sqlite3.connect(config_dir / "bot.sqlite3") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0])


async def test_sigkill_between_answers_continues_the_conversation_and_saves_once(
    tmp_path: Path,
) -> None:
    async with FakeTelegramAPI() as fake:
        config = _write_config(tmp_path, fake)
        made = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "invite",
            "--config",
            str(config),
            "--unit",
            "ba_dinh",
            "--role",
            "officer",
            cwd=ROOT,
            env=_env(fake),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(made.communicate(), 60)
        code = re.search(r"Mã mời: (\S+)", out.decode())
        assert code, err.decode()
        user = fake.user(5005, "Dũng")
        dung = TgUser(fake, user)

        bot = await _start_bot(config, fake)
        await dung.say(f"/start {code.group(1)}", "Chào mừng")
        await dung.say("/report", "Bạn muốn báo cáo")
        await dung.press("Tặng quà", "Số suất quà")
        await dung.say("20", "Giá trị mỗi suất")
        await _kill(bot)  # the process dies between two answers

        user.send("500k")  # the officer goes on typing while the bot is down
        bot = await _start_bot(config, fake)
        await dung.expect("Đối tượng nhận quà")  # the conversation continues where it stopped
        await dung.press("Bỏ qua", "Dịp tặng quà")
        await dung.press("Tết", "Ngày trao")
        await dung.say("hôm nay", "Ảnh minh chứng")
        await dung.press("Bỏ qua", "kiểm tra lại")

        _, save = dung.button("Lưu")
        card, _ = dung.button("Lưu")
        update_id = user.press(card, save, check=False)
        await fake.wait_confirmed(
            update_id, timeout=30
        )  # recorded in the inbox, maybe not answered
        await _kill(bot)

        bot = await _start_bot(config, fake)
        await dung.expect("Đã lưu báo cáo #1")
        user.press(card, save, check=False)  # a double tap on the old card after restart
        await dung.expect("đã được lưu rồi")
        await _kill(bot)
        assert _reports(tmp_path) == 1
        receipts = [c for c in fake.sent(chat_id=5005) if "Đã lưu báo cáo" in (c.text or "")]
        assert len(receipts) == 1


async def test_standings_chart_and_export_reach_telegram_as_photo_and_document(tg) -> None:
    import io

    import openpyxl

    from domain.models import Role
    from usecases.access import OPERATOR
    from usecases.invites import create_invite

    fake, app = tg
    async with app.db.transaction() as tx:
        issued = await create_invite(
            tx,
            OPERATOR,
            unit_code="long_bien",
            role=Role.CLUSTER_HEAD,
            uses=1,
            expires_in=None,
            now=app.clock.now(),
        )
    head = TgUser(fake, fake.user(6006, "Cụm trưởng"))
    await head.say(f"/start {issued.shown}", "Chào mừng")
    await head.say("/standings", "🏆 Xếp hạng Cụm thi đua số 1")
    photo = await fake.wait_calls(1, method="sendPhoto", chat_id=6006)
    _, data = photo[0].files["photo"]
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    await head.say("thành lập 3 công đoàn cơ sở ngày 1/3", "kiểm tra lại")
    await head.press("Lưu", "Đã lưu")  # a period without reports has nothing to export
    await head.say("/export", "Bảng tổng hợp")
    document = await fake.wait_calls(1, method="sendDocument", chat_id=6006)
    filename, content = document[0].files["document"]
    assert filename.endswith(".xlsx")
    assert openpyxl.load_workbook(io.BytesIO(content)).sheetnames[:3] == [
        "Xếp hạng",
        "Báo cáo",
        "Chỉ tiêu",
    ]
