from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from runtime import workers
from tests import pg
from tests.harness import Harness

BACKENDS = ("sqlite", "postgresql")

# Property tests explore the same examples on every run, so CI's verdict is the code's, not
# the draw's; THIDUA_HYPOTHESIS=explore draws new examples (to hunt, then pin what it finds
# with @example). The fixed draw keeps no example database: nothing to share between
# pytest-xdist workers, nothing written to the repository.
settings.register_profile("fixed", derandomize=True, print_blob=True, database=None)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("THIDUA_HYPOTHESIS", "fixed"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run the test on SQLite and on PostgreSQL (`database`)"
    )
    config.addinivalue_line("markers", "sqlite_only: tests SQLite itself (file, pragmas, lock)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` that use the `backend` fixture run once per backend.

    THIDUA_TEST_BACKENDS (e.g. "postgresql", or "sqlite,postgresql") runs every test
    that has a database on the backends it names instead: the whole suite on PostgreSQL.
    """
    if "backend" not in metafunc.fixturenames:
        return
    chosen = os.environ.get("THIDUA_TEST_BACKENDS")
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return  # what it tests is SQLite's own (pragmas, the file, its lock)
    if chosen:
        metafunc.parametrize("backend", chosen.split(","), indirect=True)
    elif metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def _no_cached_drawings() -> None:
    """Every test draws its own charts (the cache lives as long as the process)."""
    workers.forget()


@pytest.fixture(scope="session", autouse=True)
def _postgres() -> Iterator[None]:
    """Whatever server the session started stops at its end."""
    yield
    pg.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def database(backend: str, tmp_path: Path, _postgres: None) -> str:
    """Where a test's database lives: an SQLite file, or a PostgreSQL schema of its own."""
    if backend == "postgresql":
        return await pg.fresh_url()
    return str(tmp_path / "test.sqlite3")


@pytest.fixture
async def h(tmp_path: Path, database: str) -> AsyncIterator[Harness]:
    harness = await Harness.create(tmp_path, database=database)
    yield harness
    await harness.close()
