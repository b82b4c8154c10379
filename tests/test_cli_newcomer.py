"""The command line as a newcomer meets it: one language, help on typos, plain errors, and
`thidua run` that says it runs only when it does (real subprocesses, a fake Bot API)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import EXAMPLE, ROOT
from tests.test_cli import thidua

HEAVY = ("matplotlib", "openpyxl", "aiohttp", "telegram")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            'database = "thidua.sqlite3"', f'database = "{tmp_path / "db.sqlite3"}"'
        ),
        encoding="utf-8",
    )
    return path


def _loaded_after(*args: str) -> set[str]:
    """The heavy libraries in sys.modules after `thidua ARGS` ran in a fresh interpreter."""
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', *sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "THIDUA_LANG")}
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("LOADED"))
    return set(line.split()[1:])


def test_help_and_check_config_load_no_chart_excel_web_or_telegram_library() -> None:
    assert _loaded_after("--help") == set()
    assert _loaded_after("invite", "--help") == set()
    assert _loaded_after("check-config", str(EXAMPLE)) == set()


def test_typos_in_the_config_and_invite_get_did_you_mean(tmp_path: Path) -> None:
    bad = EXAMPLE.read_text(encoding="utf-8").replace(
        "edit_window_hours = ", "edit_window_hour = ", 1
    )
    bad = bad.replace('{ unit = "dong_da", role = "head" }', '{ unit = "dong_daa", role = "head" }')
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    checked = thidua("check-config", str(path))
    assert checked.returncode == 1
    assert "reporting.edit_window_hour: " in checked.stdout
    assert "Bạn có muốn nói: edit_window_hours?" in checked.stdout
    assert "không có đơn vị 'dong_daa'. Bạn có muốn nói: dong_da?" in checked.stdout
    assert "—" not in checked.stdout

    config = _config(tmp_path)
    unit = thidua("invite", "--config", str(config), "--unit", "long_bein", "--role", "chair")
    assert unit.returncode == 1
    assert "Không có đơn vị “long_bein”. Bạn có muốn nói: long_bien (LĐLĐ quận Long Biên)?" in (
        unit.stderr
    )
    by_name = thidua("invite", "--config", str(config), "--unit", "Long Bien", "--role", "chair")
    assert "Bạn có muốn nói: long_bien" in by_name.stderr
    role = thidua("invite", "--config", str(config), "--unit", "long_bien", "--role", "chiar")
    assert role.returncode == 2
    assert "Bạn có muốn nói: chair?" in role.stderr
    nothing = thidua("invite", "--config", str(config), "--unit", "zzzzzz", "--role", "chair")
    assert nothing.returncode == 1
    assert "Không có đơn vị “zzzzzz”." in nothing.stderr and "—" not in nothing.stderr


def test_dates_are_day_first_or_iso_and_refused_in_plain_words(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    iso = thidua("reminders", "preview", "--date", "2026-06-27", "--config", config)
    day_first = thidua("reminders", "preview", "--date", "27/06/2026", "--config", config)
    assert iso.returncode == 0 and day_first.returncode == 0, day_first.stderr
    assert iso.stdout == day_first.stdout
    assert "Lời nhắc ngày 27/06/2026" in day_first.stdout
    for wrong in ("31/02/2026", "2026-13-01", "ngày mai", "27/06"):
        refused = thidua("reminders", "preview", "--date", wrong, "--config", config)
        assert refused.returncode == 2
        assert f"“{wrong}” không phải là một ngày" in refused.stderr
        assert "ví dụ 28/06/2025" in refused.stderr
        assert "isoformat" not in refused.stderr and "invalid" not in refused.stderr


def test_one_language_vietnamese_by_default_english_by_flag_or_environment(tmp_path: Path) -> None:
    vi = thidua("--help")
    assert "cách dùng: thidua" in vi.stdout and "tạo mã mời" in vi.stdout
    assert "usage:" not in vi.stdout and "show this help" not in vi.stdout
    for en in (thidua("--lang", "en", "--help"), thidua("--help", env={"THIDUA_LANG": "en"})):
        assert "usage: thidua" in en.stdout and "create an invite code" in en.stdout
        assert "tạo mã mời" not in en.stdout
    missing = thidua("invite", "--unit", "long_bien")
    assert "thiếu tham số bắt buộc: --role" in missing.stderr
    assert "required" not in missing.stderr
    config = str(_config(tmp_path))
    made = thidua("invite", "--config", config, "--unit", "long_bien", "--role", "chair")
    assert "Mã mời:" in made.stdout and "Chủ tịch công đoàn" in made.stdout
    assert "Code" not in made.stdout
    made_en = thidua(
        "invite", "--lang", "en", "--config", config, "--unit", "ba_dinh", "--role", "chair"
    )
    assert "Code:" in made_en.stdout and "role: union chair" in made_en.stdout


async def _start_run(tmp_path: Path, fake: FakeTelegramAPI) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in ("THIDUA_CONFIG", "THIDUA_LANG")}
    env |= {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(_config(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


async def test_run_refused_at_start_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as fake:
        fake.fail_next("getMe", 401, count=1000, description="Unauthorized")
        proc = await _start_run(tmp_path, fake)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert fake.token not in stderr + out.decode()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [
        "Không kết nối được telegram: telegram từ chối token — "
        "kiểm tra TELEGRAM_BOT_TOKEN / ZALO_BOT_TOKEN."
    ]
    assert "đang chạy" not in out.decode()


async def test_run_says_it_is_running_only_after_the_channel_connected(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as fake:
        proc = await _start_run(tmp_path, fake)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        # The moment it says so, Telegram has answered getMe and is being polled.
        assert "✅ thidua đang chạy trên telegram" in line.decode()
        assert any(c.method == "getMe" and c.ok for c in fake.calls)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert out.decode().strip() == "thidua đã dừng."
    assert "Application" not in err.decode()  # no English lines from the Telegram library


def test_config_problems_are_in_the_cli_language(tmp_path: Path) -> None:
    from bot.config import check_config

    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in (
        ("conversation_timeout_minutes = 30", "conversation_timeout_minutes = 0"),
        ('type = "integer"', 'type = "integr"'),
        ('period = "half"', 'period = "halff"'),
        ('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Asia/Hanoi"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    problems, summary = check_config(path, "vi")
    assert "bot.conversation_timeout_minutes: phải lớn hơn hoặc bằng 1" in problems
    assert (
        "indicators[0].fields[0].type: phải là một trong: integer, money, number, text, date, "
        "choice, photo. Bạn có muốn nói: integer?"
    ) in problems
    assert any(
        p.startswith("reporting.period: ") and "Bạn có muốn nói: half?" in p for p in problems
    )
    assert (
        "federation.timezone: không có múi giờ 'Asia/Hanoi' (ví dụ 'Asia/Ho_Chi_Minh')" in problems
    )
    assert summary == f"4 lỗi trong {path}"
    english = ("Input should", "must ", "unknown", "required", " or ")
    assert not [p for p in problems if any(word in p for word in english)]
