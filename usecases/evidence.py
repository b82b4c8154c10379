"""Evidence photos: what reviewers and the dashboard see of a report's photos, and what the
background fetcher records (stored, retry later, refused or lost, the officer told why).

Seeing photos is asked of the access policy (`Action.VIEW_EVIDENCE`: the report's own unit,
the leaders of its cluster, admins). The fetcher's steps are the system's own work, not a
person's: they take no caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from domain.access import Action
from domain.errors import UserInputError
from domain.evidence import MAX_SIMILAR_DISTANCE, EvidencePhoto, PhotoState, ReportEvidence
from domain.messages import OutboxItem, Reply
from storage import evidence as evidence_repo
from storage import org, people
from storage import reports as reports_repo
from storage.blobs import BlobStore
from storage.db import Tx
from storage.evidence import PendingPhoto
from usecases import delivery
from usecases.access import Caller, require

Translate = Callable[..., str]

#: What the officer is told, per final state other than stored.
_TOLD: Final = {
    PhotoState.TOO_LARGE: "evidence.too_large",
    PhotoState.NOT_IMAGE: "evidence.not_image",
    PhotoState.FAILED: "evidence.failed",
}


async def report_photos(
    tx: Tx, caller: Caller, report_id: int, *, similar_distance: int = MAX_SIMILAR_DISTANCE
) -> ReportEvidence:
    """A report's photos (state, hash, size, and other reports carrying the same picture)."""
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise UserInputError("err.no_such_report", id=report_id)
    cluster = await org.cluster_of(tx, report.unit_code, caller.year)
    about = caller.target(
        unit=report.unit_code,
        cluster=cluster.code if cluster else None,
        author=report.person_id,
    )
    require(caller, Action.VIEW_EVIDENCE, about, id=report_id)
    found = await evidence_repo.of_report(tx, report_id, similar_distance)
    return ReportEvidence(report_id, report.unit_code, tuple(found))


def thumbnail(store: BlobStore, photo: EvidencePhoto) -> bytes | None:
    """A stored photo's thumbnail (JPEG), for a photo `report_photos` returned."""
    return store.read_thumbnail(photo.sha256) if photo.sha256 else None


def original(store: BlobStore, photo: EvidencePhoto) -> bytes | None:
    """A stored photo's bytes, checked against its hash (None if absent or damaged)."""
    return store.read(photo.sha256) if photo.sha256 else None


async def due(
    tx: Tx, channels: frozenset[str], now: dt.datetime, limit: int = 20
) -> list[PendingPhoto]:
    return await evidence_repo.due(tx, channels, now, limit)


async def next_due_at(tx: Tx, channels: frozenset[str]) -> dt.datetime | None:
    return await evidence_repo.next_due_at(tx, channels)


async def stored(
    tx: Tx,
    photo: PendingPhoto,
    *,
    digest: str,
    size: int,
    content_type: str,
    width: int,
    height: int,
    dhash: int,
    now: dt.datetime,
) -> None:
    await evidence_repo.mark_stored(
        tx,
        photo.id,
        digest=digest,
        size=size,
        content_type=content_type,
        width=width,
        height=height,
        dhash=dhash,
        now=now,
    )


async def retry_later(tx: Tx, photo: PendingPhoto, at: dt.datetime, error: str) -> None:
    await evidence_repo.mark_retry(tx, photo.id, at, error)


async def refuse(
    tx: Tx,
    photo: PendingPhoto,
    state: PhotoState,
    error: str,
    *,
    translate: Translate,
    limit_mb: float,
    now: dt.datetime,
    tell: bool = True,
) -> OutboxItem | None:
    """Mark the photo refused or lost (never silently) and queue a word to its sender:
    which photo of which report, why, and how to send another (/edit)."""
    if not await evidence_repo.mark_refused(tx, photo.id, state, error):
        return None  # another process recorded it first
    if not tell:
        return None
    chat = await delivery.preferred_chat(tx, photo.person_id)
    if chat is None:
        return None
    person = await people.get(tx, photo.person_id)
    lang = person.language.value if person is not None else "vi"
    text = translate(
        lang,
        _TOLD[state],
        n=photo.position,
        id=photo.report_id,
        mb=f"{limit_mb:g}",
    )
    channel, chat_id = chat
    return await delivery.enqueue(tx, channel, chat_id, Reply(text), now, f"evidence:{photo.id}")
