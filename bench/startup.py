"""Start-up: how long a person waits for `thidua --help`, `thidua check-config` and the demo.

Each command runs as a fresh process, several times, interleaved; printed: the
median wall time with its spread, the median CPU time (user + system, less
disturbed by other work on the machine) and, for reference in the same run,
the bare interpreter (`python -c pass`) and `import bot.cli`. Byte code is cached
as in an installed copy (in a folder of its own, written by the warm-up run), even
where PYTHONDONTWRITEBYTECODE is set. The demo is
timed to its first prompt ("> " on standard output). Also listed: which heavy
libraries each command imported (they should be loaded only where used).
Targets: --help and check-config ≤ 0.6 s, the demo to its first prompt ≤ 1.5 s.

    python -m bench.startup            # 9 runs each
    python -m bench.startup --quick    # 5 runs each
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "numpy", "openpyxl", "telegram", "aiohttp", "httpx", "PIL")
TARGETS = {"thidua --help": 0.6, "thidua check-config": 0.6, "thidua demo (first prompt)": 1.5}

# Reports, after the command, which heavy libraries it imported (to standard error).
_PROBE = (
    "import atexit, sys\n"
    "heavy = set(sys.argv.pop(1).split(','))\n"
    "atexit.register(lambda: sys.stderr.write('HEAVY ' + ' '.join(sorted({m.split('.')[0] "
    "for m in sys.modules} & heavy)) + '\\n'))\n"
    "sys.argv[0] = 'thidua'\n"
    "from bot.cli import main\n"
    "raise SystemExit(main())\n"
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_PYCACHE = tempfile.mkdtemp(prefix="thidua-startup-pycache-")


def _env() -> dict[str, str]:
    """No token (so no command starts the bot), no config override, byte code cached."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    env.pop("THIDUA_CONFIG", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def timed(args: list[str], *, until: bytes | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one run; with `until`, wall time to that output, then it is
    sent end of input (the demo)."""
    env = _env()
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    wall = None
    if until is not None:
        seen = b""
        while until not in seen:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                raise RuntimeError(f"{args} ended before {until!r}: {seen[-500:]!r}")
            seen += chunk
        wall = time.perf_counter() - start
    proc.stdin.close()
    proc.stdout.read()
    proc.wait()
    if wall is None:
        wall = time.perf_counter() - start
    if proc.returncode not in (0, None) and until is None:
        raise RuntimeError(f"{args} failed with {proc.returncode}")
    return wall, _children_cpu() - cpu


def heavy(args: list[str]) -> str:
    """The heavy libraries a thidua command imported."""
    probe = [sys.executable, "-c", _PROBE, ",".join(HEAVY), *args]
    done = subprocess.run(probe, cwd=ROOT, env=_env(), input=b"", capture_output=True, check=False)
    line = next((x for x in done.stderr.decode().splitlines() if x.startswith("HEAVY")), "")
    return line.removeprefix("HEAVY").strip() or "none"


def main(runs: int) -> int:
    py = sys.executable
    example = str(ROOT / "config.example.toml")
    files = tempfile.mkdtemp(prefix="thidua-startup-")
    cases: dict[str, tuple[list[str], bytes | None]] = {
        "python -c pass": ([py, "-c", "pass"], None),
        "import bot.cli": ([py, "-c", "import bot.cli"], None),
        "thidua --help": ([py, "-m", "bot.cli", "--help"], None),
        "thidua check-config": ([py, "-m", "bot.cli", "check-config", example], None),
        "thidua demo (first prompt)": (
            [py, "-m", "bot.cli", "demo", "--config", example, "--files", files],
            b"> ",
        ),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for args, until in cases.values():  # warm-up: page cache, .pyc files
        timed(args, until=until)
    for _ in range(runs):
        for name, (args, until) in cases.items():
            times[name].append(timed(args, until=until))
    print(f"{runs} runs each, interleaved; machine cores: {os.cpu_count()}")
    print(f"{'command':28} {'wall median':>11} {'spread':>13} {'cpu median':>10}  target")
    met = True
    for name, runs_ in times.items():
        walls = [w for w, _ in runs_]
        cpus = [c for _, c in runs_]
        wall = statistics.median(walls)
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = wall <= target
            met &= ok
            verdict = f"≤ {target} s -> {'met' if ok else 'MISSED'}"
        print(
            f"{name:28} {wall:10.3f}s {min(walls):6.3f}–{max(walls):.3f}s "
            f"{statistics.median(cpus):9.3f}s  {verdict}"
        )
    for name, args in (
        ("thidua --help", ["--help"]),
        ("thidua check-config", ["check-config", example]),
        ("thidua demo", ["demo", "--config", example, "--files", files]),
    ):
        print(f"heavy libraries imported by {name}: {heavy(args)}")
    return 0 if met else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="5 runs each")
    args = parser.parse_args()
    raise SystemExit(main(5 if args.quick else args.runs))
