"""Operations: one `thidua run` per SQLite file, and backups that can be restored.

Real SQLite files, real subprocesses for the lock (flock is per open file, so a
second process is what a second `thidua run` would be), no mocks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Secrets, load_config
from domain.models import Language, Role, Unit
from storage import backup as backups
from storage import org, people, reports
from storage.db import Database
from storage.lock import DatabaseInUse, holder
from tests.harness import EXAMPLE, ROOT, FakeClock
from tests.test_cli import thidua

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def config_file(tmp_path: Path, extra: str = "") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'database = "thidua.sqlite3"', f'database = "{tmp_path / "db.sqlite3"}"'
    )
    text = text.replace('folder = "backups"', f'folder = "{tmp_path / "backups"}"')
    path = tmp_path / "c.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def holder_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's lock, as a running `thidua run` does."""
    code = (
        "import sys, datetime as dt\n"
        "from storage.lock import ProcessLock\n"
        "lock = ProcessLock(sys.argv[1])\n"
        "lock.acquire(dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC))\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "db.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    proc.communicate("", timeout=30)


async def test_a_second_app_on_the_same_file_refuses_and_names_the_first(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    first = App(config, Secrets(), clock=FakeClock())
    await first.start()
    second = App(config, Secrets(), clock=FakeClock())
    try:
        with pytest.raises(DatabaseInUse) as refused:
            await second.start()
        assert f"pid {os.getpid()}" in refused.value.holder
        assert holder(first.db.path) == refused.value.holder
    finally:
        await first.stop()
    assert holder(first.db.path) is None  # released at stop: a restart takes it again
    await second.start()
    await second.stop()


def test_thidua_run_beside_a_running_one_is_one_clear_line(
    tmp_path: Path, holder_process: subprocess.Popen[str]
) -> None:
    config = config_file(tmp_path)
    result = thidua("run", "--config", str(config), env={"TELEGRAM_BOT_TOKEN": "1:unused"})
    assert result.returncode == 1
    assert f"pid {holder_process.pid}" in result.stderr
    assert "đang được một tiến trình thidua khác dùng" in result.stderr
    assert "Traceback" not in result.stderr
    # Read-only commands and backups still work beside the running process.
    assert thidua("outbox", "--config", str(config)).returncode == 0
    backup = thidua("backup", "--config", str(config))
    assert backup.returncode == 0, backup.stderr
    assert "Đã sao lưu" in backup.stdout


def test_restore_refuses_while_the_bot_runs(
    tmp_path: Path, holder_process: subprocess.Popen[str]
) -> None:
    config = config_file(tmp_path)
    assert thidua("migrate", "--config", str(config)).returncode == 0
    made = thidua("backup", "--config", str(config), "--out", str(tmp_path / "copy.sqlite3"))
    assert made.returncode == 0, made.stderr
    result = thidua("restore", str(tmp_path / "copy.sqlite3"), "--config", str(config))
    assert result.returncode == 1
    assert "Dừng bot trước" in result.stderr and f"pid {holder_process.pid}" in result.stderr


async def _officer(db: Database, name: str, platform_id: str) -> int:
    """An officer of Hoàn Kiếm, registered on the console."""
    async with db.transaction() as tx:
        person = await people.create(
            tx,
            name=name,
            unit_code="hoan_kiem",
            role=Role.OFFICER,
            language=Language.VI,
            channel="console",
            platform_id=platform_id,
            now=NOW,
        )
    return person.id


async def _seed(db: Database) -> int:
    async with db.transaction() as tx:
        await org.sync(tx, (Unit(code="hoan_kiem", name="LĐLĐ quận Hoàn Kiếm"),), ())
    return await _officer(db, "An", "1")


async def _write(db: Database, person_id: int, n: int) -> int:
    async with db.transaction() as tx:
        report, _ = await reports.create(
            tx,
            unit_code="hoan_kiem",
            person_id=person_id,
            indicator="new_members",
            values={"members": n},
            occurred_on=NOW.date(),
            photos=(),
            source_key=f"burst:{n}",
            now=NOW,
        )
    return report.id


async def test_a_backup_during_a_burst_of_writes_restores_every_confirmed_report(
    tmp_path: Path,
) -> None:
    source = tmp_path / "live.sqlite3"
    async with Database(source) as db:
        person_id = await _seed(db)
        confirmed = [await _write(db, person_id, n) for n in range(200)]  # "Đã lưu" for these
        stop = asyncio.Event()

        async def burst() -> int:
            n = 1000
            while not stop.is_set():
                await _write(db, person_id, n)
                n += 1
            return n - 1000

        writer = asyncio.create_task(burst())
        await asyncio.sleep(0)  # the burst is under way before the backup begins
        result = await asyncio.to_thread(backups.backup, source, tmp_path / "b" / "x.sqlite3")
        stop.set()
        written_during = await writer
        async with db.transaction() as tx:
            live_total = int(await tx.fetch_value("SELECT COUNT(*) FROM reports"))

    assert live_total == 200 + written_during
    restored = tmp_path / "restored.sqlite3"
    counts, kept = backups.restore(result.path, restored, tmp_path / "previous.sqlite3")
    assert not kept and counts == result.tables
    async with Database(restored) as db, db.transaction() as tx:
        ids = [int(r[0]) for r in await tx.fetch_all("SELECT id FROM reports ORDER BY id")]
        # Every report confirmed before the backup began is there; what is there is whole:
        # each report has its values row (one snapshot, never half a transaction).
        assert set(confirmed) <= set(ids)
        assert ids == list(range(1, len(ids) + 1))
        row = await tx.fetch_one(
            "SELECT COUNT(*) FROM reports r WHERE NOT EXISTS "
            "(SELECT 1 FROM report_values v WHERE v.report_id = r.id)"
        )
        assert row is not None and row[0] == 0
    assert result.tables["reports"] == len(ids)


def test_a_copy_that_does_not_verify_is_refused_and_partial_copies_never_count(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "garbage.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(backups.BackupError):
        backups.verify(bad)
    empty = tmp_path / "other.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(backups.BackupError, match="not a thidua database"):
        backups.verify(empty)
    # A backup killed half-way leaves only a .partial file: never listed, pruned later.
    folder = tmp_path / "backups"
    folder.mkdir()
    database = tmp_path / "db.sqlite3"
    (folder / "db-20260504-023000.sqlite3.partial").write_bytes(b"half")
    assert backups.backups_in(folder, database) == []
    assert backups.prune(folder, database, 7, 12) == [folder / "db-20260504-023000.sqlite3.partial"]


def test_retention_keeps_the_newest_of_each_recent_day_and_month() -> None:
    stamps = [
        dt.datetime(2026, m, d, h, 30) for m in (1, 2, 3) for d in (1, 15, 28) for h in (2, 14)
    ]
    keep = backups.to_keep(stamps, daily=2, monthly=2)
    assert keep == {
        dt.datetime(2026, 3, 28, 14, 30),  # newest day (and newest of March)
        dt.datetime(2026, 3, 15, 14, 30),  # second newest day
        dt.datetime(2026, 2, 28, 14, 30),  # newest of February
    }
    assert backups.to_keep(stamps, daily=1, monthly=0) == {dt.datetime(2026, 3, 28, 14, 30)}


async def test_restore_puts_a_backup_back_and_keeps_the_current_copy(tmp_path: Path) -> None:
    config_path = config_file(tmp_path)
    config = load_config(config_path)
    app = App(config, Secrets(), clock=FakeClock())
    await app.open()
    await _officer(app.db, "An", "1")
    result = await app.backup_now()
    await _officer(app.db, "Bình", "2")
    await app.db.close()

    restored = thidua("restore", str(result.path), "--config", str(config_path))
    assert restored.returncode == 0, restored.stderr
    assert "Đã khôi phục" in restored.stdout
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM people ORDER BY id")]
    assert names == ["An"]
    kept = await asyncio.to_thread(lambda: list(tmp_path.glob("db.sqlite3.before-restore-*")))
    assert len(kept) == 1
    with sqlite3.connect(kept[0]) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM people ORDER BY id")] == ["An", "Bình"]


def test_a_backup_killed_midway_leaves_the_earlier_ones_intact_and_the_next_succeeds(
    tmp_path: Path,
) -> None:
    """SIGKILL while `thidua backup` copies: the copy was only ever a `.partial` file, so
    the earlier backup is untouched and still verifies, no half file is listed as a
    backup, the database itself is whole, and the next backup succeeds and sweeps the
    leftover away. (The database is made big, about 200 MB, so the copy takes a while;
    the kill waits for the partial file to appear, whatever the machine's speed.)"""
    import hashlib
    import signal
    import time

    config = config_file(tmp_path)
    assert thidua("migrate", "--config", str(config)).returncode == 0
    db = tmp_path / "db.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE filler (b BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(1048576))", [()] * 200)
    folder = tmp_path / "backups"
    first = thidua("backup", "--config", str(config))
    assert first.returncode == 0, first.stderr
    [(_, earlier)] = backups.backups_in(folder, db)
    digest = hashlib.sha256(earlier.read_bytes()).hexdigest()

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "backup", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not list(folder.glob("*.partial")):  # polled: the copy has begun
        assert proc.poll() is None, "the backup ended before the kill could land"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert list(folder.glob("*.partial"))  # killed midway: the half copy is there …
    assert [path for _, path in backups.backups_in(folder, db)] == [earlier]
    assert hashlib.sha256(earlier.read_bytes()).hexdigest() == digest  # … the earlier is not
    assert backups.verify(earlier)["filler"] == 200
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    after = thidua("backup", "--config", str(config))
    assert after.returncode == 0, after.stderr
    assert not list(folder.glob("*.partial"))  # the leftover swept away
    listed = backups.backups_in(folder, db)
    assert listed and all(backups.verify(path)["filler"] == 200 for _, path in listed)
