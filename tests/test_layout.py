"""The rooms of the house keep their import direction (README "Layout").

The contracts are in pyproject.toml ([tool.importlinter]); this runs them, so an
import pointing the wrong way (a handler reaching the storage, a use case
importing the chat runtime, the domain importing anything) fails the suite.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application import use_cases

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_contracts_are_all_there() -> None:
    """Nobody drops a contract to make an import pass."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    ids = {c["id"] for c in config["contracts"]}
    assert ids == {
        "layers",
        "handlers-no-storage",
        "web-no-storage",
        "documents-alone",
        "domain-pure",
    }
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    assert layers == [
        "bot",
        "handlers | web",
        "runtime",
        "usecases",
        "documents | storage",
        "domain",
    ]


def test_imports_follow_the_layers(capsys: pytest.CaptureFixture[str]) -> None:
    configuration.configure()
    kept = use_cases.lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out
