"""Evidence photos in the database: each `report_photos` row is also its own download job
(state, attempts, next attempt, last error), and `evidence_blobs` describes each stored
file once, by its SHA-256 (size, type, dimensions, difference hash in 16-bit bands so that
near copies are found through an index instead of by reading every hash).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from domain.evidence import (
    BANDS,
    Duplicate,
    EvidencePhoto,
    Likeness,
    PhotoState,
    bands,
    hamming,
)
from storage._codec import fetch_all, fetch_one, parse_ts, ts
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class PendingPhoto:
    """A photo still to download, with what is needed to fetch it and to tell its sender."""

    id: int
    report_id: int
    position: int  # 1-based among its report's photos
    channel: str
    file_ref: str
    attempts: int
    person_id: int
    added_at: dt.datetime


_PENDING = (
    "SELECT p.id, p.report_id, p.channel, p.file_ref, p.attempts, p.added_at, r.person_id, "
    "(SELECT COUNT(*) FROM report_photos q WHERE q.report_id = p.report_id AND q.id <= p.id) "
    "AS position FROM report_photos p JOIN reports r ON r.id = p.report_id "
    "WHERE p.state = 'pending' "
)


def _pending(row: Any) -> PendingPhoto:
    return PendingPhoto(
        id=row["id"],
        report_id=row["report_id"],
        position=row["position"],
        channel=row["channel"],
        file_ref=row["file_ref"],
        attempts=row["attempts"],
        person_id=row["person_id"],
        added_at=parse_ts(row["added_at"]),
    )


def _channels(channels: Collection[str]) -> tuple[str, list[str]]:
    names = sorted(channels)
    return ",".join("?" * len(names)), names


async def due(
    tx: Tx, channels: Collection[str], now: dt.datetime, limit: int = 20
) -> list[PendingPhoto]:
    """Photos of these channels whose (next) download is due, oldest first."""
    if not channels:
        return []
    marks, names = _channels(channels)
    rows = await fetch_all(
        tx,
        f"{_PENDING}AND p.channel IN ({marks}) "
        "AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= ?) ORDER BY p.id LIMIT ?",
        (*names, ts(now), limit),
    )
    return [_pending(r) for r in rows]


async def next_due_at(tx: Tx, channels: Collection[str]) -> dt.datetime | None:
    """When the earliest scheduled retry of these channels is due (None: nothing waits)."""
    if not channels:
        return None
    marks, names = _channels(channels)
    row = await fetch_one(
        tx,
        "SELECT MIN(next_attempt_at) FROM report_photos "
        f"WHERE state = 'pending' AND channel IN ({marks}) AND next_attempt_at IS NOT NULL",
        names,
    )
    return parse_ts(row[0]) if row is not None and row[0] is not None else None


async def mark_stored(
    tx: Tx,
    photo_id: int,
    *,
    digest: str,
    size: int,
    content_type: str,
    width: int,
    height: int,
    dhash: int,
    now: dt.datetime,
) -> None:
    """The photo is in the store: describe the file (once) and point the row at it."""
    await tx.execute(
        "INSERT INTO evidence_blobs (sha256, size, content_type, width, height, dhash, "
        "band0, band1, band2, band3, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (sha256) DO NOTHING",
        (digest, size, content_type, width, height, f"{dhash:016x}", *bands(dhash), ts(now)),
    )
    await tx.execute(
        "UPDATE report_photos SET state = 'stored', sha256 = ?, attempts = attempts + 1, "
        "next_attempt_at = NULL, last_error = NULL WHERE id = ?",
        (digest, photo_id),
    )


async def mark_retry(tx: Tx, photo_id: int, next_attempt_at: dt.datetime, error: str) -> None:
    await tx.execute(
        "UPDATE report_photos SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
        "WHERE id = ? AND state = 'pending'",
        (ts(next_attempt_at), error[:500], photo_id),
    )


async def mark_refused(tx: Tx, photo_id: int, state: PhotoState, error: str) -> bool:
    """A final state other than stored; False when another process got there first."""
    changed = await tx.execute(
        "UPDATE report_photos SET state = ?, attempts = attempts + 1, next_attempt_at = NULL, "
        "last_error = ? WHERE id = ? AND state = 'pending'",
        (state.value, error[:500], photo_id),
    )
    return changed > 0


async def of_report(tx: Tx, report_id: int, similar_distance: int) -> list[EvidencePhoto]:
    """A report's photos in the order sent, each with the other reports carrying the same
    picture: the same bytes, or (within `similar_distance` bits of dHash) a re-saved copy."""
    rows = await fetch_all(
        tx,
        "SELECT p.id, p.state, p.sha256, p.last_error, b.size, b.content_type, b.width, "
        "b.height, b.dhash FROM report_photos p LEFT JOIN evidence_blobs b "
        "ON b.sha256 = p.sha256 WHERE p.report_id = ? ORDER BY p.id",
        (report_id,),
    )
    photos: list[EvidencePhoto] = []
    for position, r in enumerate(rows, start=1):
        duplicates: tuple[Duplicate, ...] = ()
        if r["sha256"] is not None and r["dhash"] is not None:
            duplicates = await _duplicates(
                tx, report_id, r["sha256"], int(r["dhash"], 16), similar_distance
            )
        photos.append(
            EvidencePhoto(
                photo_id=r["id"],
                position=position,
                state=PhotoState(r["state"]),
                sha256=r["sha256"],
                content_type=r["content_type"],
                width=r["width"],
                height=r["height"],
                size=r["size"],
                error=r["last_error"],
                duplicates=duplicates,
            )
        )
    return photos


async def _duplicates(
    tx: Tx, report_id: int, digest: str, dhash: int, distance: int
) -> tuple[Duplicate, ...]:
    distance = min(distance, BANDS - 1)  # beyond it, the band index could miss a copy
    near: dict[str, int] = {digest: 0}
    if distance > 0:
        any_band = " OR ".join(f"band{n} = ?" for n in range(BANDS))
        for row in await fetch_all(
            tx,
            f"SELECT sha256, dhash FROM evidence_blobs WHERE ({any_band}) AND sha256 <> ?",
            (*bands(dhash), digest),
        ):
            bits = hamming(dhash, int(row["dhash"], 16))
            if bits <= distance:
                near[row["sha256"]] = bits
    marks = ",".join("?" * len(near))
    rows = await fetch_all(
        tx,
        "SELECT DISTINCT p.sha256, p.report_id, r.unit_code FROM report_photos p "
        f"JOIN reports r ON r.id = p.report_id WHERE p.sha256 IN ({marks}) "
        "AND p.report_id <> ? ORDER BY p.report_id",
        (*near, report_id),
    )
    found: dict[int, Duplicate] = {}
    for row in rows:
        bits = near[row["sha256"]]
        likeness = Likeness.SAME if row["sha256"] == digest else Likeness.SIMILAR
        seen = found.get(row["report_id"])
        if seen is None or (seen.likeness is Likeness.SIMILAR and likeness is Likeness.SAME):
            found[row["report_id"]] = Duplicate(likeness, row["report_id"], row["unit_code"], bits)
    return tuple(found.values())
