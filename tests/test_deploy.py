"""The shipped systemd unit starts the real command, restarts on failure, runs unprivileged."""

from __future__ import annotations

import configparser
import shlex

from bot.cli import Say, build_parser
from tests.harness import ROOT

UNIT = ROOT / "deploy" / "thidua.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_the_unit_runs_the_real_command_with_its_real_options() -> None:
    service = unit()["Service"]
    program, *args = shlex.split(service["ExecStart"])
    assert program.endswith("/.venv/bin/thidua")
    parsed = build_parser(Say("vi")).parse_args(args)  # exits (fails the test) on an unknown option
    assert parsed.command == "run"
    assert parsed.config == "/etc/thidua/config.toml"
    entry = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'thidua = "bot.cli:main"' in entry  # the console script ExecStart points at


def test_the_unit_restarts_on_failure_and_runs_hardened_as_its_own_user() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert "EnvironmentFile" in service  # tokens from the environment, never in the unit
    assert "TOKEN=" not in UNIT.read_text(encoding="utf-8")
    assert unit()["Install"]["WantedBy"] == "multi-user.target"
