from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import workers
from tests.harness import Harness


@pytest.fixture(autouse=True)
def _no_cached_drawings() -> None:
    """Every test draws its own charts (the cache lives as long as the process)."""
    workers.forget()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.create(tmp_path)
    yield harness
    await harness.close()
