"""Media blob storage: the `MediaStorage` protocol and its local-disk implementation.

Content is addressed by its SHA-256 digest, so identical uploads share one file. The
database counts the references (see `homeserver.media.store`); this layer only stores,
opens and deletes blobs. An object store can implement the same protocol without any
change to the routes.

Local layout under `media.store_path`:

    content/ab/cd/abcd...  one file per distinct content, named by its hex SHA-256
    tmp/                   uploads in progress, renamed into content/ when complete
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

logger = logging.getLogger(__name__)

_TEMP_MAX_AGE_SECONDS = 24 * 3600
_WRITE_BATCH_BYTES = 256 * 1024


class ContentTooLarge(Exception):
    """The stream passed the size limit; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"content is larger than {limit} bytes")
        self.limit = limit


@dataclass
class StagedContent:
    """Bytes received and hashed but not yet visible under their digest."""

    sha256: str
    size: int
    temp_path: str


class MediaStorage(Protocol):
    """A blob store keyed by hex SHA-256 digests.

    `stage` receives a stream and `commit` makes it visible. The caller holds its own
    lock between `commit` and the database write, so a concurrent `delete` of the same
    digest cannot remove a blob that a new row is about to reference.
    """

    async def stage(self, stream: AsyncIterable[bytes], max_size: int) -> StagedContent:
        """Store the stream in a temp file; raise `ContentTooLarge` past `max_size`.

        On any error, including cancellation, nothing is left behind.
        """
        ...

    async def commit(self, staged: StagedContent) -> None:
        """Make staged content readable under its digest; a no-op copy if it exists."""
        ...

    async def discard(self, staged: StagedContent) -> None: ...

    def open(self, sha256: str) -> BinaryIO:
        """Open the content for reading. Blocking: call it in a worker thread."""
        ...

    async def delete(self, sha256: str) -> None: ...

    async def exists(self, sha256: str) -> bool: ...


class LocalMediaStorage:
    """`MediaStorage` on the local file system, with atomic renames."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._content_dir = os.path.join(root, "content")
        self._temp_dir = os.path.join(root, "tmp")
        os.makedirs(self._content_dir, exist_ok=True)
        os.makedirs(self._temp_dir, exist_ok=True)

    def path_of(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"invalid SHA-256 hex digest {sha256!r}")
        return os.path.join(self._content_dir, sha256[:2], sha256[2:4], sha256)

    async def stage(self, stream: AsyncIterable[bytes], max_size: int) -> StagedContent:
        temp_path = os.path.join(self._temp_dir, secrets.token_hex(16))
        digest = hashlib.sha256()
        size = 0
        # Small network chunks are batched so that each worker-thread write is large.
        pending = bytearray()
        file = await asyncio.to_thread(open, temp_path, "xb")
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > max_size:
                    raise ContentTooLarge(max_size)
                digest.update(chunk)
                pending.extend(chunk)
                if len(pending) >= _WRITE_BATCH_BYTES:
                    await asyncio.to_thread(file.write, bytes(pending))
                    pending.clear()
            if pending:
                await asyncio.to_thread(file.write, bytes(pending))
            await asyncio.to_thread(_flush_and_sync, file)
        except BaseException:
            file.close()
            _remove_quietly(temp_path)
            raise
        file.close()
        return StagedContent(sha256=digest.hexdigest(), size=size, temp_path=temp_path)

    async def commit(self, staged: StagedContent) -> None:
        await asyncio.to_thread(self._commit_sync, staged)

    def _commit_sync(self, staged: StagedContent) -> None:
        final_path = self.path_of(staged.sha256)
        if os.path.exists(final_path):
            _remove_quietly(staged.temp_path)
            return
        os.makedirs(os.path.dirname(final_path), exist_ok=True)
        # Same file system, so the rename is atomic: readers see no file or all of it.
        os.replace(staged.temp_path, final_path)

    async def discard(self, staged: StagedContent) -> None:
        await asyncio.to_thread(_remove_quietly, staged.temp_path)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_of(sha256), "rb")

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(_remove_quietly, self.path_of(sha256))

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(os.path.exists, self.path_of(sha256))

    def remove_stale_temp_files(
        self, max_age_seconds: float = _TEMP_MAX_AGE_SECONDS
    ) -> int:
        """Delete temp files left by a crash; return how many were removed.

        At startup no upload is in progress, so `max_age_seconds=0` removes them all.
        """
        cutoff = time.time() - max_age_seconds
        removed = 0
        for entry in os.scandir(self._temp_dir):
            if entry.is_file() and entry.stat().st_mtime <= cutoff:
                _remove_quietly(entry.path)
                removed += 1
        return removed


def _flush_and_sync(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("Could not remove media file %s: %s", path, exc)
