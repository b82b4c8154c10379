"""The `thidua` command as a newcomer and federation staff use it (real subprocesses)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from storage.migrations import MIGRATIONS
from tests.harness import EXAMPLE, ROOT


def thidua(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "THIDUA_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        cwd=cwd,
    )


def test_check_config_accepts_the_example() -> None:
    result = thidua("check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert re.match(r"OK: \d+ cụm .*12 đơn vị, 8 chỉ số", result.stdout)


def test_check_config_names_every_problem_by_toml_path(tmp_path: Path) -> None:
    bad = EXAMPLE.read_text(encoding="utf-8").replace("max = 1000000", "max = -5", 1)
    bad = bad.replace('unit = "dong_da"', 'unit = "dong_daa"', 1)
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    result = thidua("--lang", "en", "check-config", str(path))
    assert result.returncode == 1
    assert "indicators[0].fields[0].max: must be ≥ min" in result.stdout
    assert re.search(
        r"clusters\[\d+\]\.members\[\d+\]\.unit: unknown unit 'dong_daa'", result.stdout
    )


def test_invite_prints_a_code_that_registers(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            '# bot_username = "your_federation_bot"', 'bot_username = "thidua_hanoi_bot"'
        ),
        encoding="utf-8",
    )
    result = thidua(
        "invite",
        "--config",
        str(config),
        "--unit",
        "long_bien",
        "--role",
        "chair",
        "--uses",
        "3",
        "--expires",
        "7d",
    )
    assert result.returncode == 0, result.stderr
    code = re.search(r"Mã mời: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", result.stdout)
    assert code is not None
    assert "LĐLĐ quận Long Biên" in result.stdout and "số lượt dùng: 3" in result.stdout
    assert f"https://t.me/thidua_hanoi_bot?start={code.group(1).replace('-', '')}" in result.stdout
    refused = thidua("invite", "--config", str(config), "--unit", "nowhere", "--role", "officer")
    assert refused.returncode == 1 and "nowhere" in refused.stderr


def test_migrate_reports_the_schema_version(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = thidua("migrate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"cơ sở dữ liệu ở phiên bản {len(MIGRATIONS)}" in result.stdout


async def test_demo_runs_a_whole_report_in_the_terminal_without_a_token() -> None:
    """README's start command with no token: the console demo, driven like a newcomer would."""
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "THIDUA_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    banner = ""
    async with asyncio.timeout(60):
        while (code := re.search(r"/start ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", banner)) is None:
            line = await proc.stdout.readline()
            assert line, f"demo ended before printing a code: {banner}"
            banner += line.decode()
    lines = [
        "/report",
        f"/start {code.group(1)}",
        "/report",
        "1",
        "20",
        "500k",
        "bỏ qua",
        "2",
        "hôm nay",
        "/photo",
        "xong",
        "1",
        "/myreports",
    ]
    out, err = await asyncio.wait_for(proc.communicate(("\n".join(lines) + "\n").encode()), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "chưa đăng ký" in text  # /report before /start is refused politely
    assert "Chào mừng" in text and "LĐLĐ quận Hoàn Kiếm" in text
    assert "1. 🎁 Tặng quà" in text  # numbered choices on a text channel
    assert "1. ✅ Lưu  2. ✏️ Sửa  3. ❌ Hủy" in text
    saved = re.search(r"✅ Đã lưu báo cáo #(\d+): 🎁 Tặng quà · 20 suất · 500.000 đ", text)
    assert saved is not None  # after the demo's sample reports
    assert f"#{saved.group(1)} 🎁 Tặng quà" in text.split("/myreports")[-1]


async def test_reminders_preview_and_outbox_listing(tmp_path: Path) -> None:
    import datetime as dt

    from bot.app import App
    from bot.config import Secrets, load_config
    from domain.messages import Reply
    from domain.models import Language, Role
    from storage import outbox, people

    config_path = tmp_path / "c.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    config_path.write_text(
        text.replace('database = "thidua.sqlite3"', f'database = "{tmp_path / "db.sqlite3"}"'),
        encoding="utf-8",
    )
    app = App(load_config(config_path), Secrets())
    await app.open()
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    async with app.db.transaction() as tx:
        await people.create(
            tx,
            name="Nguyễn Văn An",
            unit_code="hoan_kiem",
            role=Role.OFFICER,
            language=Language.VI,
            channel="telegram",
            platform_id="111",
            now=now,
        )
        row = await outbox.enqueue(tx, "telegram", "222", Reply("xin chào"), now)
        assert row is not None
        await outbox.mark_failed(tx, row, now, "403: Forbidden: bot was blocked by the user")
    await app.db.close()

    preview = thidua("reminders", "preview", "--date", "2026-06-27", "--config", str(config_path))
    assert preview.returncode == 0, preview.stderr
    assert "08:30  Nguyễn Văn An (hoan_kiem, officer) [before] ⏰ Nhắc báo cáo" in preview.stdout
    listing = thidua("outbox", "--config", str(config_path))
    assert "failed" in listing.stdout and "bot was blocked by the user" in listing.stdout


def test_export_and_targets_template_import_round_trip(tmp_path: Path) -> None:

    import openpyxl

    config_path = tmp_path / "c.toml"
    config_path.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            'database = "thidua.sqlite3"', f'database = "{tmp_path / "db.sqlite3"}"'
        ),
        encoding="utf-8",
    )
    out = tmp_path / "cum1.xlsx"
    exported = thidua(
        "export",
        "--period",
        "2025",
        "--cluster",
        "cum1",
        "--out",
        str(out),
        "--config",
        str(config_path),
    )
    # A fresh database has no reports: nothing to file, said so, non-zero exit, no file.
    assert exported.returncode == 1
    assert "Không có số liệu thi đua của Cụm thi đua số 1 trong cả năm 2025" in exported.stderr
    assert not out.exists()

    template = tmp_path / "targets.xlsx"
    made = thidua(
        "targets",
        "template",
        "--period",
        "2027",
        "--out",
        str(template),
        "--config",
        str(config_path),
    )
    assert made.returncode == 0, made.stderr
    sheet_book = openpyxl.load_workbook(template)
    sheet = sheet_book["Chỉ tiêu"]
    header_row = next(r for r in range(1, 10) if sheet.cell(row=r, column=1).value == "Mã đơn vị")
    headers = [c.value for c in sheet[header_row]]
    value_col = headers.index("Chỉ tiêu") + 1
    for row in range(header_row + 1, sheet.max_row + 1):
        sheet.cell(row=row, column=value_col, value=10)
    sheet_book.save(template)
    imported = thidua("targets", "import", str(template), "--config", str(config_path))
    assert imported.returncode == 0, imported.stderr
    assert "Đã nhập" in imported.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "unit,measure,period,value\nlong_bien,new_unions,2027,-3\nnowhere,new_unions,2027,5\n",
        encoding="utf-8",
    )
    refused = thidua("targets", "import", str(bad), "--config", str(config_path))
    assert refused.returncode == 1
    assert "Dòng 2" in refused.stderr and "Dòng 3" in refused.stderr
