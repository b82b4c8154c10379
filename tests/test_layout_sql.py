"""No SQL outside storage/: every statement lives behind the storage port.

Each string constant (f-string parts too) of every module outside storage/ and
tests/ is read for the shape of a statement. bench/ is left out as tests/ is: it
checks the database from outside, the way an operator would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = ("storage", "tests", "bench")
SKIP = {".venv", "build", ".git", "node_modules"}

STATEMENT = re.compile(
    r"\bSELECT\b[\s\S]+\bFROM\b"
    r"|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b"
    r"|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|DROP)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bALTER\s+TABLE\b"
    r"|\bPRAGMA\s+\w+"
    r"|\bBEGIN\s+(?:IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION)\b"
    r"|^\s*(?:BEGIN|COMMIT|ROLLBACK)\s*;?\s*$"
    r"|\b(?:ROLLBACK\s+TO|RELEASE)\s+SAVEPOINT\b|^\s*SAVEPOINT\s+\w+"
    r"|\bVACUUM\b|\bON\s+CONFLICT\b"
)


def modules() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in OUTSIDE or SKIP & set(parts):
            continue
        found.append(path)
    return found


def sql_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:60]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and STATEMENT.search(node.value)
    ]


def test_the_scan_finds_statements() -> None:
    """The pattern itself: what the repositories write is found, prose is not."""
    found = [
        "SELECT id, payload_json FROM inbox WHERE status = 'pending'",
        "INSERT INTO outbox (channel) VALUES (?)",
        "UPDATE people SET active = 0 WHERE id = ?",
        "DELETE FROM conversations WHERE channel = ?",
        "ROLLBACK TO SAVEPOINT handler",
        "SAVEPOINT handler",
        "PRAGMA busy_timeout = 20",
        "COMMIT",
    ]
    prose = [
        "Select a unit from the list",
        "Chọn đơn vị từ danh sách",
        "update the settings, then delete from memory",
        "Commit your report",
    ]
    assert all(STATEMENT.search(s) for s in found)
    assert not any(STATEMENT.search(s) for s in prose)
    storage = ROOT / "storage" / "inbox.py"
    assert sql_in(storage)  # the scan does see SQL where it belongs


def test_no_sql_outside_storage() -> None:
    scanned = modules()
    assert any(p.parts[-2:] == ("runtime", "dispatcher.py") for p in scanned)
    hits = [hit for path in scanned for hit in sql_in(path)]
    assert not hits, "SQL outside storage/:\n" + "\n".join(hits)


DRIVERS = {"aiosqlite", "sqlite3", "asyncpg"}


def test_no_database_driver_outside_storage() -> None:
    """Above storage/ the transaction is `storage.port.Tx`, never a driver's connection."""
    hits = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            hits += [
                f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in DRIVERS
            ]
    assert not hits, "database drivers imported outside storage/:\n" + "\n".join(hits)
