"""`thidua demo`: a year of sample reports, a code for every role, the files it sends kept."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from bot.cli import Say
from bot.config import Secrets, load_config
from bot.demo import run_demo, sample_reports
from tests.harness import EXAMPLE, TZ, FakeClock

CODE = r"([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})"


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)


async def _demo(tmp_path: Path, script: Iterator[str], out: list[str], day: dt.datetime) -> Path:
    files = tmp_path / "files"
    await run_demo(
        load_config(EXAMPLE),
        Secrets(),
        clock=FakeClock(day),
        database=str(tmp_path / "demo.sqlite3"),
        files=files,
        say=Say("vi"),
        write=out.append,
        lines=script,
    )
    return files


async def test_the_cluster_head_code_gets_standings_with_a_chart_saved(tmp_path: Path) -> None:
    out: list[str] = []

    def script() -> Iterator[str]:
        banner = "\n".join(out)  # printed before the first line is read
        head = re.search(rf"Cụm trưởng \((.+)\): /start {CODE}", banner)
        assert head is not None, banner
        assert head.group(1) == "LĐLĐ quận Long Biên"  # head of Cluster 1 in 2026
        yield "/as Cụm trưởng"
        yield f"/start {head.group(2)}"
        yield "/standings"
        yield "/export"

    files = await _demo(tmp_path, script(), out, dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    text = "\n".join(out)
    for role in ("Cán bộ công đoàn", "Chủ tịch công đoàn", "Cụm trưởng", "Quản trị viên"):
        assert re.search(rf"{role} \(.+\): /start {CODE}", text), role
    seeded = re.search(r"Dữ liệu mẫu: (\d+) báo cáo của Cụm thi đua số 1 năm 2026", text)
    assert seeded is not None and int(seeded.group(1)) > 100
    assert f"được lưu vào: {files}" in text
    assert "Bạn đã được đăng ký là Cụm trưởng" in text
    standings = text.split("> /standings")[1]
    assert "🏆 Xếp hạng Cụm thi đua số 1" in standings
    assert "LĐLĐ quận Long Biên" in standings and "điểm" in standings
    assert "Chưa có" not in standings  # the sample year has figures
    chart = re.search(r"📎 Đã lưu: (\S+\.png) \(\d+ KB\)", standings)
    assert chart is not None, standings
    assert Path(chart.group(1)).parent == files
    assert _head(chart.group(1)) == b"\x89PNG"
    workbook = re.search(r"📎 Đã lưu: (\S+\.xlsx)", text.split("> /export")[1])
    assert workbook is not None and _head(workbook.group(1)).startswith(b"PK")
    assert f"vẫn ở: {files}" in out[-1]  # the folder outlives the demo
    assert sorted(p.suffix for p in files.iterdir()) == [".png", ".xlsx"]


async def test_each_role_is_a_different_person(tmp_path: Path) -> None:
    out: list[str] = []

    def script() -> Iterator[str]:
        banner = "\n".join(out)
        officer = re.search(rf"Cán bộ công đoàn \(.+\): /start {CODE}", banner)
        chair = re.search(rf"Chủ tịch công đoàn \(.+\): /start {CODE}", banner)
        assert officer and chair
        yield f"/start {officer.group(1)}"
        yield "/as Chủ tịch"
        yield f"/start {chair.group(1)}"

    await _demo(tmp_path, script(), out, dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ))
    text = "\n".join(out)
    assert "là cán bộ công đoàn của LĐLĐ quận Hoàn Kiếm" in text
    assert "là Chủ tịch công đoàn của LĐLĐ quận Ba Đình" in text


def test_sample_figures_come_from_the_year_and_stop_at_today() -> None:
    config = load_config(EXAMPLE)
    units = ["hoan_kiem", "long_bien"]
    today = dt.date(2026, 6, 30)
    first = sample_reports(2026, today, config.indicators, units)
    again = sample_reports(2026, today, config.indicators, units)
    assert first == again  # the same demo every time on the same year
    assert first != sample_reports(2025, dt.date(2025, 6, 30), config.indicators, units)
    assert all(dt.date(2026, 1, 1) <= r.occurred_on <= today for r in first)
    indicators = {r.indicator for r in first}
    assert {"gifts", "events", "new_members", "new_unions"} <= indicators
    by_code = {i.code: i for i in config.indicators}
    for report in first:
        indicator = by_code[report.indicator]
        for field in indicator.fields:
            value = report.values.get(field.code)
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert field.min is None or value >= field.min
                assert field.max is None or value <= field.max
    whole_year = sample_reports(2026, dt.date(2026, 12, 31), config.indicators, ["long_bien"])
    unions = sum(r.values["unions"] for r in whole_year if r.indicator == "new_unions")
    assert 25 <= unions <= 75  # around Long Biên's reported 49 a year
