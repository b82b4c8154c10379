"""Evidence photos as kept by the bot: their states, their content hashes, and when two
photos count as the same picture (pure: no file, no clock).

A photo arrives as a platform reference (`models.Photo`); the bot downloads it into a
content-addressed store (SHA-256 of the bytes) and remembers a 64-bit difference hash
(dHash) of the picture, so a copy re-saved or re-compressed elsewhere is still recognised:
its dHash differs in a few bits at most, where two different pictures differ in about 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class PhotoState(StrEnum):
    """Where a photo's download stands. Only PENDING is ever retried."""

    PENDING = "pending"  # not downloaded yet (or a retry is scheduled)
    STORED = "stored"  # in the store, by its hash, with a thumbnail
    TOO_LARGE = "too_large"  # refused: larger than [evidence] max_photo_mb
    NOT_IMAGE = "not_image"  # refused: the bytes are not a picture
    FAILED = "failed"  # the platform would not give it (gone, or every retry failed)


#: The dHash is cut into this many bands of 16 bits; two hashes within BANDS - 1 bits of
#: each other share at least one band exactly (pigeonhole), which an index finds.
BANDS: Final = 4
MAX_SIMILAR_DISTANCE: Final = BANDS - 1


def bands(dhash: int) -> tuple[int, ...]:
    """The 16-bit bands of a 64-bit hash, lowest first (what the store indexes)."""
    return tuple((dhash >> (16 * n)) & 0xFFFF for n in range(BANDS))


def hamming(a: int, b: int) -> int:
    """How many bits differ between two hashes."""
    return (a ^ b).bit_count()


class Likeness(StrEnum):
    SAME = "same"  # the very same bytes (SHA-256)
    SIMILAR = "similar"  # the same picture re-saved (dHash within the distance)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Another report carrying this photo (or a copy of it): shown to the reviewer."""

    likeness: Likeness
    report_id: int
    unit_code: str
    distance: int = 0


@dataclass(frozen=True, slots=True)
class EvidencePhoto:
    """One photo of a report as reviewers and the dashboard see it."""

    photo_id: int
    position: int  # 1-based, in the order the officer sent them
    state: PhotoState
    sha256: str | None
    content_type: str | None
    width: int | None
    height: int | None
    size: int | None
    error: str | None  # why it is not stored (refused or failed), for the operator
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.duplicates)


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    """A report's photos, in the order sent, and the unit it is of."""

    report_id: int
    unit_code: str
    photos: tuple[EvidencePhoto, ...]

    @property
    def album(self) -> tuple[str, ...]:
        """The hashes of the photos kept, to show them (`Reply.album`)."""
        return tuple(p.sha256 for p in self.photos if p.state is PhotoState.STORED and p.sha256)
