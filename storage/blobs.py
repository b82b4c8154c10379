"""The evidence store: photo files in a folder, named by the SHA-256 of their bytes.

Content-addressed, so the same photo sent twice is kept once and a file can never be
changed without its name changing. Paths are sharded by the first bytes of the hash
(`ab/cd/abcd…`) so no folder grows too large; thumbnails live beside the originals under
`thumbs/`. Writes go to a temporary file in the same folder, are flushed to disk, then
renamed into place: a crash leaves either the whole file or none. Plain file I/O, called
from a thread (`asyncio.to_thread`) by the fetcher.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Final

_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, digest: str) -> Path:
        """Where the original with this hash is (or would be) kept."""
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"not a SHA-256: {digest!r}")
        return self.folder / digest[:2] / digest[2:4] / digest

    def thumbnail_path(self, digest: str) -> Path:
        original = self.path(digest)
        return self.folder / "thumbs" / digest[:2] / digest[2:4] / f"{original.name}.jpg"

    def put(self, data: bytes, thumbnail: bytes) -> str:
        """Keep the bytes and their thumbnail; returns the hash. Idempotent."""
        digest = sha256(data)
        _write_once(self.path(digest), data)
        _write_once(self.thumbnail_path(digest), thumbnail)
        return digest

    def read(self, digest: str) -> bytes | None:
        """The original, checked against its name; None when it is absent or damaged."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            return None
        return data if sha256(data) == digest else None

    def read_thumbnail(self, digest: str) -> bytes | None:
        try:
            return self.thumbnail_path(digest).read_bytes()
        except FileNotFoundError:
            return None


def _write_once(path: Path, data: bytes) -> None:
    if path.exists() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
