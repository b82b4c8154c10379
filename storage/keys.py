"""Keys the bot makes for itself and keeps in its database (never in a file, never logged)."""

from __future__ import annotations

import secrets

from storage._codec import fetch_one
from storage.db import Tx

BUTTONS = "buttons"  # signs the data of reminder buttons


async def key(tx: Tx, name: str) -> bytes:
    """The named key, made on first use (the same for every process sharing the database)."""
    await tx.execute(
        "INSERT INTO app_keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, secrets.token_hex(32)),
    )
    row = await fetch_one(tx, "SELECT value FROM app_keys WHERE name = ?", (name,))
    assert row is not None
    return bytes.fromhex(row["value"])
