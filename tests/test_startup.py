"""Start-up stays quick: a command imports only what it uses (issue 10 §5).

Each command runs in a fresh interpreter, which then lists the heavy libraries
it loaded; timing itself is for bench/startup.py, never for the test suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness import EXAMPLE, ROOT

HEAVY = {"matplotlib", "numpy", "openpyxl", "telegram", "aiohttp", "httpx", "PIL"}

_PROBE = """
import atexit, sys
watch = set(sys.argv.pop(1).split(","))
atexit.register(lambda: print("LOADED", *sorted({m.split(".")[0] for m in sys.modules} & watch)))
sys.argv[0] = "thidua"
from bot.cli import main
raise SystemExit(main())
"""


def loaded(*args: str, watch: set[str] = HEAVY) -> set[str]:
    """Which of `watch` a `thidua` command imported by the time it ended."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(sorted(watch)), *args],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED"))
    return set(line.split()[1:])


def test_help_loads_no_heavy_library_nor_the_configuration() -> None:
    assert loaded("--help", watch=HEAVY | {"pydantic", "pydantic_settings"}) == set()


def test_check_config_loads_no_heavy_library() -> None:
    assert loaded("check-config", str(EXAMPLE)) == set()


def test_the_demo_loads_no_messenger_library_before_its_first_prompt(tmp_path: Path) -> None:
    """The demo talks in the terminal: no Telegram, HTTP or chart library to wait for
    (its input ends at once, so it stops at its first prompt)."""
    demo = ("demo", "--config", str(EXAMPLE), "--files", str(tmp_path))
    assert loaded(*demo) == set()
