"""`thidua export`: a federation's year of reports into one workbook, old path against new.

Why: federation staff export the year to file it; at a million reports the old
path (every report loaded as an object, a look-up per sender, openpyxl's
write-only mode, the whole file in memory, all inside a write transaction)
took minutes and over half a gigabyte. The new path streams: one join read
from a read-only snapshot, rows written as they come with XlsxWriter's
constant-memory mode, straight to the file.

A generated federation (2,000 units in 350 clusters, 1,000,000 reports in
2025 over the 8 indicators of config.example.toml, about 2% retracted, 10%
with evidence photos, targets for every unit) is written into a SQLite file
with a matching configuration. Each round runs the whole command,
`python -m bot.cli export --period 2025`, in a child process twice: from
the tree of the old revision (`git archive`, default the last commit before
streaming) and from this tree, one after the other, old first on odd rounds
and new first on even ones. The child's wall time and its peak memory (max
RSS, from wait4) are recorded; figures are the median over rounds with the
spread (min–max), and the ratio is the median of per-round ratios.

    python -m bench.export            # 1,000,000 reports (~20 minutes on 2 cores)
    python -m bench.export --quick    # 300 units, 50 clusters, 20,000 reports
    python -m bench.export --rounds 5 --old <rev>
    python -m bench.export --writers 50000   # openpyxl write-only vs XlsxWriter alone
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.standings import MIX, _values
from domain.models import ReportStatus
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
YEAR = 2025
OLD = "8ae5bc7"  # main before the streaming export
PHOTO_SHARE = 0.10
RETRACTED_SHARE = 0.02
MEMORY_TARGET = 150 * 2**20
TIME_TARGET = 0.5


@dataclass(frozen=True)
class Size:
    units: int
    clusters: int
    reports: int


FULL = Size(units=2_000, clusters=350, reports=1_000_000)
QUICK = Size(units=300, clusters=50, reports=20_000)


def _codes(size: Size) -> list[str]:
    return [f"u{n:04d}" for n in range(size.units)]


def _clusters(size: Size) -> list[list[str]]:
    codes = _codes(size)
    base, extra = divmod(len(codes), size.clusters)
    out, at = [], 0
    for n in range(size.clusters):
        width = base + (1 if n < extra else 0)
        out.append(codes[at : at + width])
        at += width
    return out


def write_config(path: Path, database: Path, size: Size) -> None:
    """config.example.toml with the generated units and clusters (and no example targets)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head = text[: text.index("\n[[units]]\n") + 1]
    body = text[text.index("# [[indicators]]") - 80 :]
    body = body[body.index("\n") + 1 :]
    if "[[targets]]" in body:
        body = body[: body.index("[[targets]]")]
    head = head.replace('database = "thidua.sqlite3"', f'database = "{database}"')
    units = "".join(f'[[units]]\ncode = "{c}"\nname = "Công đoàn {c}"\n\n' for c in _codes(size))
    clusters = []
    for n, members in enumerate(_clusters(size), start=1):
        listed = ", ".join(
            f'{{ unit = "{u}", role = "head" }}' if i == 0 else f'{{ unit = "{u}" }}'
            for i, u in enumerate(members)
        )
        clusters.append(
            f'[[clusters]]\ncode = "cum{n}"\nyear = {YEAR}\nname = "Cụm thi đua số {n}"\n'
            f"members = [{listed}]\n\n"
        )
    path.write_text(head + units + "".join(clusters) + body, encoding="utf-8")


def generate(database: Path, size: Size, seed: int = 2025) -> None:
    """Reports, values, photos and targets written with executemany (not through the bot);
    units, people and clusters as the configuration has them."""
    asyncio.run(_migrate(database))
    rng = random.Random(seed)
    codes = _codes(size)
    weights = [rng.uniform(0.4, 1.6) for _ in codes]
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA synchronous = OFF")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('reports', 'report_values', 'report_photos')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    created = "2025-01-01T00:00:00+00:00"
    conn.executemany(
        "INSERT INTO units (code, name, kind, active) VALUES (?, ?, 'ldld', 1)",
        [(c, f"Công đoàn {c}") for c in codes],
    )
    conn.executemany(
        "INSERT INTO people (id, name, unit_code, role, language, active, created_at) "
        "VALUES (?, ?, ?, 'officer', 'vi', 1, ?)",
        [(n + 1, f"Cán bộ {c}", c, created) for n, c in enumerate(codes)],
    )
    person = {c: n + 1 for n, c in enumerate(codes)}
    conn.executemany(
        "INSERT INTO targets (unit_code, measure, period_key, value, source, updated_at) "
        "VALUES (?, ?, ?, ?, 'import', ?)",
        [
            (c, measure, str(YEAR), value, created)
            for c in codes
            for measure, value in (
                ("new_unions", rng.randint(5, 25)),
                ("new_members", rng.randrange(500, 3000, 50)),
            )
        ],
    )
    indicators, shares = list(MIX), list(MIX.values())
    first = dt.date(YEAR, 1, 1)
    days = sorted(rng.randrange(365) for _ in range(size.reports))
    reports: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    photos: list[tuple[Any, ...]] = []
    for report_id, offset in enumerate(days, start=1):
        unit = rng.choices(codes, weights)[0]
        indicator = rng.choices(indicators, shares)[0]
        iso = (first + dt.timedelta(days=offset)).isoformat()
        v = _values(rng, indicator, iso)
        status = ReportStatus.RETRACTED if rng.random() < RETRACTED_SHARE else ReportStatus.ACTIVE
        at = f"{iso}T{rng.randrange(1, 15):02d}:{rng.randrange(60):02d}:00+00:00"
        reports.append(
            (
                report_id,
                unit,
                person[unit],
                indicator,
                json.dumps(v, ensure_ascii=False, sort_keys=True),
                iso,
                at,
                status.value,
                f"gen:{report_id}",
            )
        )
        for field, x in v.items():
            number = isinstance(x, int | float)
            values.append((report_id, field, x if number else None, None if number else x))
        if rng.random() < PHOTO_SHARE:
            for n in range(rng.randint(1, 3)):
                photos.append((report_id, "telegram", f"f{report_id}-{n}", f"u{report_id}", 1, at))
        if len(reports) >= 50_000:
            _flush(conn, reports, values, photos)
    _flush(conn, reports, values, photos)
    for _, sql in indexes:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _flush(
    conn: sqlite3.Connection, reports: list[Any], values: list[Any], photos: list[Any]
) -> None:
    conn.executemany(
        "INSERT INTO reports (id, unit_code, person_id, indicator, values_json, occurred_on, "
        "created_at, status, version, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        reports,
    )
    conn.executemany(
        "INSERT INTO report_values (report_id, field, num, text) VALUES (?, ?, ?, ?)", values
    )
    conn.executemany(
        "INSERT INTO report_photos (report_id, channel, file_ref, file_unique_id, size, "
        "added_at) VALUES (?, ?, ?, ?, ?, ?)",
        photos,
    )
    reports.clear()
    values.clear()
    photos.clear()


async def _migrate(database: Path) -> None:
    async with Database(database):
        pass


# --- what is measured ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the child: steadier than wall time on a busy machine
    peak: int  # bytes


def run(tree: Path, config: Path, out: Path) -> Run:
    """The whole `thidua export` from `tree`, in a child process: wall time and max RSS."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "export",
        "--period",
        str(YEAR),
        "--out",
        str(out),
        "--config",
        str(config),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"export from {tree} failed:\n{errors.decode(errors='replace')}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


# --- the writers alone ----------------------------------------------------------------

_ROW = (
    12345,
    dt.date(2025, 3, 4),
    "Công đoàn u0042",
    "Cán bộ u0042",
    "Tặng quà",
    "Có hiệu lực",
    dt.datetime(2025, 3, 4, 10, 5),
    None,
    1,
    2,
    20,
    1_500_000,
    "đoàn viên nữ có hoàn cảnh khó khăn",
    None,
    3.5,
)
_FORMATS = {1: "dd/mm/yyyy", 6: "dd/mm/yyyy hh:mm", 11: "#,##0"}


def openpyxl_rows(n: int) -> int:
    """`n` report-like rows with openpyxl's write-only mode, one styled cell reused per
    formatted column (its fastest way, as the old workbook wrote them)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Báo cáo")
    cells = {}
    for column, number_format in _FORMATS.items():
        cells[column] = WriteOnlyCell(sheet)
        cells[column].number_format = number_format
    for _ in range(n):
        row: list[Any] = list(_ROW)
        for column, cell in cells.items():
            cell.value = row[column]
            row[column] = cell
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return len(buffer.getvalue())


def xlsxwriter_rows(n: int) -> int:
    """The same rows with XlsxWriter's constant-memory mode, a format per column."""
    from xlsxwriter import Workbook

    buffer = io.BytesIO()
    book = Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("Báo cáo")
    formats = {c: book.add_format({"num_format": f}) for c, f in _FORMATS.items()}
    for r in range(n):
        for c, value in enumerate(_ROW):
            if value is not None:
                sheet.write(r, c, value, formats.get(c))
    book.close()
    return len(buffer.getvalue())


def writers(n: int, rounds: int) -> None:
    """The two libraries alone, interleaved, each in a fresh child process per round."""
    import concurrent.futures
    import multiprocessing

    times: dict[str, list[float]] = {"openpyxl": [], "xlsxwriter": []}
    spawn = multiprocessing.get_context("spawn")
    for n_round in range(rounds):
        order = [("openpyxl", openpyxl_rows), ("xlsxwriter", xlsxwriter_rows)]
        if n_round % 2:
            order.reverse()
        for name, write in order:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
                pool.submit(int, 0).result()  # started before the clock
                started = time.perf_counter()
                pool.submit(write, n).result()
                times[name].append(time.perf_counter() - started)
    ratios = [x / o for o, x in zip(times["openpyxl"], times["xlsxwriter"], strict=True)]
    for name, seconds in times.items():
        print(f"{name}: {_spread(seconds, lambda s: f'{s:.2f} s')} for {n:,} rows")
    print(
        f"xlsxwriter/openpyxl: {statistics.median(ratios):.2f}× "
        f"({min(ratios):.2f}–{max(ratios):.2f}), {rounds} rounds"
    )


def _rows(path: Path) -> int:
    """Report rows in the file (every "Báo cáo…" sheet), read from its XML, not loaded."""
    count = 0
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        names = [part.split('"')[0] for part in workbook.split('<sheet name="')[1:]]
        for name, sheet in zip(names, sorted(sheets, key=_sheet_number), strict=False):
            if name.startswith("Báo cáo"):
                count += _count(archive, sheet, b"<row ") - 1  # less the header
    return count


def _count(archive: zipfile.ZipFile, name: str, needle: bytes) -> int:
    """Occurrences of `needle` in an entry, read a megabyte at a time."""
    count, tail = 0, b""
    with archive.open(name) as entry:
        while chunk := entry.read(1 << 20):
            data = tail + chunk
            count += data.count(needle)
            tail = data[-(len(needle) - 1) :]  # too short to hold a whole match again
    return count


def _sheet_number(name: str) -> int:
    return int(name.removeprefix("xl/worksheets/sheet").removesuffix(".xml"))


def old_tree(repo: Path, revision: str, into: Path) -> Path:
    """The old revision's source, unpacked from git (nothing of this tree mixed in)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _spread(values: Sequence[float], show: Any) -> str:
    return f"{show(statistics.median(values))} ({show(min(values))}–{show(max(values))})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.reports:,} reports")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old", default=OLD, help="the old revision (git)")
    parser.add_argument("--repo", default=str(ROOT), help="the git repository holding it")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument(
        "--writers", type=int, metavar="ROWS", help="only the two libraries, ROWS rows each"
    )
    args = parser.parse_args(argv)
    if args.writers:
        writers(args.writers, args.rounds)
        return 0
    size = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="thidua-export-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / f"export-{size.reports}.sqlite3"
        config = folder / f"export-{size.reports}.toml"
        started = time.perf_counter()
        write_config(config, database, size)
        if not database.exists():
            generate(database, size)
        print(
            f"federation: {size.units:,} units in {size.clusters} clusters, "
            f"{size.reports:,} reports in {YEAR} ({PHOTO_SHARE:.0%} with photos); "
            f"ready in {time.perf_counter() - started:.0f} s"
        )
        old = old_tree(Path(args.repo), args.old, Path(tmp) / "old")
        runs: dict[str, list[Run]] = {"old": [], "new": []}
        for n in range(args.rounds):
            order = [("old", old), ("new", ROOT)]
            if n % 2:
                order.reverse()
            for name, tree in order:
                out = Path(tmp) / f"{name}.xlsx"
                runs[name].append(run(tree, config, out))
                done = runs[name][-1]
                print(
                    f"  round {n + 1} {name}: {done.seconds:.1f} s wall, {done.cpu:.1f} s CPU, "
                    f"{_mib(done.peak)}",
                    flush=True,
                )
        rows = {name: _rows(Path(tmp) / f"{name}.xlsx") for name in runs}
        ratios = [
            new.seconds / old_run.seconds
            for old_run, new in zip(runs["old"], runs["new"], strict=True)
        ]
        cpu_ratios = [
            new.cpu / old_run.cpu for old_run, new in zip(runs["old"], runs["new"], strict=True)
        ]
        memory = [run.peak for run in runs["new"]]
        print(f"revision old = {args.old}, new = this tree; {args.rounds} rounds, median (min–max)")
        for name in ("old", "new"):
            seconds = [r.seconds for r in runs[name]]
            cpu = [r.cpu for r in runs[name]]
            peaks = [float(r.peak) for r in runs[name]]
            print(
                f"{name}: {_spread(seconds, lambda s: f'{s:.1f} s')} wall, "
                f"{_spread(cpu, lambda s: f'{s:.1f} s')} CPU, peak memory "
                f"{_spread(peaks, _mib)}, {rows[name]:,} report rows"
            )
        ratio = statistics.median(ratios)
        print(
            f"new/old time: {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}); "
            f"target ≤ {TIME_TARGET}×"
        )
        print(
            f"new/old CPU time: {statistics.median(cpu_ratios):.2f}× "
            f"({min(cpu_ratios):.2f}–{max(cpu_ratios):.2f})"
        )
        print(f"new peak memory: {_mib(statistics.median(memory))}; target ≤ {_mib(MEMORY_TARGET)}")
        ok = rows["old"] == rows["new"] == size.reports
        ok = ok and ratio <= TIME_TARGET and statistics.median(memory) <= MEMORY_TARGET
    sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
