"""A real PostgreSQL for the tests, started once per test session.

`THIDUA_TEST_DATABASE_URL` names a server to use instead; otherwise pgserver (a
PostgreSQL installed by pip, in the test extra) starts one in a temporary folder.
Each test gets a schema of its own, so tests never see one another's rows.

Tests that stop the server or need a role with a password use the server these tests
start themselves (`own`), whatever `THIDUA_TEST_DATABASE_URL` says.

Under pytest-xdist every worker process starts a server of its own (its own temporary
data folder, and a Unix socket in it: no TCP port to share).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

PASSWORD_ROLE = "thidua_pw"
PASSWORD = "right-horse-battery"


@dataclass
class Own:
    """The PostgreSQL these tests started: its URL and what can be done to it."""

    server: Any
    folder: Path

    @property
    def url(self) -> str:
        return str(self.server.get_uri())

    @property
    def data(self) -> Path:
        return Path(self.server.pgdata)

    def ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import

        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        """Down, as a restart takes it: every connection is cut."""
        self.ctl("-m", "fast", "stop")

    def kill(self) -> None:
        """Down without a shutdown checkpoint: its data is thrown away next."""
        self.ctl("-m", "immediate", "stop")

    def start(self) -> None:
        """Up again as pgserver starts it: no TCP, its socket in the data folder."""
        self.ctl("-o", '-h ""', "-o", f"-k {self.data}", "-l", str(self.server.log), "start")


_own: Own | None = None
_numbers = itertools.count(1)


def own() -> Own:
    """Start this session's own server (once)."""
    global _own
    if _own is None:
        from pgserver.postgres_server import get_server

        folder = Path(tempfile.mkdtemp(prefix="thidua-pg-"))
        folder.chmod(0o755)  # run as root, the server runs as a user of its own
        server = get_server(folder / "data", cleanup_mode="stop")
        _own = Own(server, folder)
        _password_role(_own)
        _throwaway(_own)
    return _own


def _throwaway(server: Own) -> None:
    """Tests' data is thrown away: no fsync, no waiting for the WAL at commit (each test's
    migrations cost about 4x less). A clean stop still writes everything, so the restart
    test loses nothing either."""
    server.server.psql(
        "ALTER SYSTEM SET fsync = off;"
        "ALTER SYSTEM SET synchronous_commit = off;"
        "ALTER SYSTEM SET full_page_writes = off;"
        "SELECT pg_reload_conf();"
    )


def _password_role(server: Own) -> None:
    """A role that logs in with a password only (the default role needs none)."""
    hba = server.data / "pg_hba.conf"
    rule = f"local all {PASSWORD_ROLE} scram-sha-256\n"
    hba.write_text(rule + hba.read_text(encoding="utf-8"), encoding="utf-8")
    server.server.psql(
        f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}';"
        f"GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE};"
        "SELECT pg_reload_conf();"
    )


def server_url() -> str:
    return os.environ.get("THIDUA_TEST_DATABASE_URL") or own().url


def stop() -> None:
    """At the end of the session: stop the server this session started."""
    global _own
    if _own is not None:
        with contextlib.suppress(Exception):  # pgserver knows only the first postmaster:
            _own.kill()  # after a restart test, the running one is stopped here
        _own.server.cleanup()
        shutil.rmtree(_own.folder, ignore_errors=True)
        _own = None


def with_params(url: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


async def fresh_url(base: str | None = None) -> str:
    """A URL on an empty schema of its own (PostgreSQL's `search_path`)."""
    base = base or server_url()
    name = f"t{os.getpid()}_{next(_numbers)}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
        await conn.execute(f"GRANT ALL ON SCHEMA {name} TO PUBLIC")
    finally:
        await conn.close()
    return with_params(base, search_path=name)
