"""A worker process for drawing: charts and workbooks are CPU work that would hold the GIL.

Drawn in a thread, a chart still holds the interpreter for most of its 0.1–0.7 s,
and every other officer's answer waits. One worker process (forkserver: no
threads of this process are copied into it) draws instead; if it cannot be had
or dies, the drawing falls back to a thread rather than failing the answer.

`draw_cached` keeps the last drawing per key (a cluster's chart for a period,
in a language) with a digest of what it was drawn from: asked again before
the figures change, the same bytes come back without drawing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import pickle
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

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


_CACHED = 512
"""Drawings kept: a federation's clusters × periods asked for × languages, with room."""
_cache: OrderedDict[Hashable, tuple[bytes, bytes]] = OrderedDict()


async def draw_cached(key: Hashable, fn: Callable[..., bytes], *args: object) -> bytes:
    """`fn(*args)` drawn by `draw`, or the bytes drawn last for `key` if the arguments are the
    same (compared by a digest of their pickle): a chart is drawn again only when its data
    has changed. The least recently used drawings go first past `_CACHED`."""
    digest = hashlib.sha256(pickle.dumps((fn, args), protocol=5)).digest()
    kept = _cache.get(key)
    if kept is not None and kept[0] == digest:
        _cache.move_to_end(key)
        return kept[1]
    made = await draw(fn, *args)
    _cache[key] = (digest, made)
    _cache.move_to_end(key)
    while len(_cache) > _CACHED:
        _cache.popitem(last=False)
    return made


def forget() -> None:
    """Drop every cached drawing (tests start from none)."""
    _cache.clear()
