"""A real PostgreSQL for the tests, started once per test session.

`THIDUA_TEST_DATABASE_URL` names a server to use instead; otherwise pgserver (a
PostgreSQL installed by pip, in the test extra) starts one in a temporary folder.
Each test gets a schema of its own, so tests never see one another's rows.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

_server: Any = None
_folder: Path | None = None
_url: str | None = None
_numbers = itertools.count(1)


def server_url() -> str:
    """The server's URL, starting it at the first call."""
    global _server, _folder, _url
    if _url is None:
        given = os.environ.get("THIDUA_TEST_DATABASE_URL")
        if given:
            _url = given
        else:
            import pgserver

            _folder = Path(tempfile.mkdtemp(prefix="thidua-pg-"))
            _folder.chmod(0o755)  # run as root, the server runs as its own user
            _server = pgserver.get_server(_folder / "data", cleanup_mode=None)
            _url = _server.get_uri()
    return _url


def stop() -> None:
    """At the end of the session: stop the server this session started."""
    global _server, _folder, _url
    if _server is not None:
        _server.cleanup()
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
    _server = _folder = _url = None


def with_params(url: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


async def fresh_url() -> str:
    """A URL on an empty schema of its own (PostgreSQL's `search_path`)."""
    base = server_url()
    name = f"t{os.getpid()}_{next(_numbers)}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    return with_params(base, search_path=name)


def fresh_url_sync() -> str:
    """`fresh_url` outside an event loop (for tests that start processes)."""
    return asyncio.run(fresh_url())
