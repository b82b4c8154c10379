"""A worker process for drawing: charts are CPU work that would hold the GIL.

Drawn in a thread, a chart still holds the interpreter for most of its 0.1–0.7 s,
and every other officer's answer waits. One worker process (forkserver: no
threads of this process are copied into it) draws instead; if it cannot be had
or dies, the drawing falls back to a thread rather than failing the answer.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


def _executor() -> Executor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("forkserver")
        )
    return _pool


async def draw(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in the drawing process (picklable function and arguments)."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), fn, *args)
    except BrokenProcessPool:
        log.warning("the drawing process died; drawing in a thread instead")
        _pool = None
        return await asyncio.to_thread(fn, *args)
