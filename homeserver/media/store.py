"""SQL for the media tables of `0010_media.sql`.

`ContentStore` pairs the blob store with the `media_content` reference counts. A blob is
made visible before the row that references it commits, and deleted only after the last
reference is gone. Both steps run under one lock, so an upload and a delete of the same
digest cannot interleave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from homeserver.media.storage import MediaStorage, StagedContent
from homeserver.storage.database import Database, Row, Transaction

logger = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class MediaRecord:
    """One `mxc://` URI and what is known of its content."""

    server_name: str
    media_id: str
    user_id: str | None
    created_ts: int
    unused_expires_at: int | None
    uploaded_ts: int | None
    content_type: str | None
    upload_name: str | None
    size: int | None
    sha256: str | None
    last_access_ts: int | None
    quarantined_by: str | None

    @property
    def is_pending(self) -> bool:
        return self.uploaded_ts is None

    @classmethod
    def from_row(cls, row: Row) -> MediaRecord:
        # Iterating a sqlite3.Row yields values, so the column names need keys().
        return cls(**{name: row[name] for name in row.keys()})  # noqa: SIM118


@dataclass(frozen=True)
class ThumbnailRecord:
    width: int
    height: int
    method: str
    animated: bool
    content_type: str
    actual_width: int
    actual_height: int
    size: int
    sha256: str


_MEDIA_COLUMNS = (
    "server_name, media_id, user_id, created_ts, unused_expires_at, uploaded_ts,"
    " content_type, upload_name, size, sha256, last_access_ts, quarantined_by"
)
_THUMBNAIL_COLUMNS = (
    "width, height, method, animated, content_type, actual_width, actual_height,"
    " size, sha256"
)


async def get_media(
    db: Database, server_name: str, media_id: str
) -> MediaRecord | None:
    row = await db.fetchone(
        f"SELECT {_MEDIA_COLUMNS} FROM media WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    return MediaRecord.from_row(row) if row is not None else None


async def get_media_txn(
    txn: Transaction, server_name: str, media_id: str
) -> MediaRecord | None:
    row = await txn.fetchone(
        f"SELECT {_MEDIA_COLUMNS} FROM media WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    return MediaRecord.from_row(row) if row is not None else None


async def count_pending(db: Database, user_id: str, now: int) -> tuple[int, int | None]:
    """Return the user's unexpired pending uploads and their earliest expiry."""
    row = await db.fetchone(
        "SELECT COUNT(*), MIN(unused_expires_at) FROM media"
        " WHERE user_id = ? AND uploaded_ts IS NULL AND unused_expires_at > ?",
        (user_id, now),
    )
    assert row is not None
    return int(row[0]), row[1]


async def list_user_media(
    db: Database, user_id: str, offset: int, limit: int
) -> tuple[list[MediaRecord], int]:
    rows = await db.fetchall(
        f"SELECT {_MEDIA_COLUMNS} FROM media WHERE user_id = ?"
        " ORDER BY created_ts DESC, media_id LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    total = await db.fetchvalue(
        "SELECT COUNT(*) FROM media WHERE user_id = ?", (user_id,), default=0
    )
    return [MediaRecord.from_row(row) for row in rows], int(total)


async def get_thumbnails(
    db: Database, server_name: str, media_id: str
) -> list[ThumbnailRecord]:
    rows = await db.fetchall(
        f"SELECT {_THUMBNAIL_COLUMNS} FROM media_thumbnails"
        " WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    return [
        ThumbnailRecord(
            width=row["width"],
            height=row["height"],
            method=row["method"],
            animated=bool(row["animated"]),
            content_type=row["content_type"],
            actual_width=row["actual_width"],
            actual_height=row["actual_height"],
            size=row["size"],
            sha256=row["sha256"],
        )
        for row in rows
    ]


async def insert_media(
    txn: Transaction,
    server_name: str,
    media_id: str,
    user_id: str | None,
    content_type: str | None,
    upload_name: str | None,
    staged: StagedContent,
) -> None:
    """Insert an uploaded (not pending) media row for staged content."""
    now = now_ms()
    await txn.execute(
        "INSERT INTO media (server_name, media_id, user_id, created_ts, uploaded_ts,"
        " content_type, upload_name, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            server_name,
            media_id,
            user_id,
            now,
            now,
            content_type,
            upload_name,
            staged.size,
            staged.sha256,
        ),
    )


async def add_reference(txn: Transaction, sha256: str, size: int) -> None:
    await txn.execute(
        "INSERT INTO media_content (sha256, size, ref_count, created_ts)"
        " VALUES (?, ?, 1, ?)"
        " ON CONFLICT (sha256) DO UPDATE SET ref_count = ref_count + 1",
        (sha256, size, now_ms()),
    )


async def release_reference(txn: Transaction, sha256: str) -> bool:
    """Drop one reference; return True when it was the last, so the blob can go."""
    await txn.execute(
        "UPDATE media_content SET ref_count = ref_count - 1 WHERE sha256 = ?", (sha256,)
    )
    remaining = await txn.fetchone(
        "SELECT ref_count FROM media_content WHERE sha256 = ?", (sha256,)
    )
    if remaining is None or remaining[0] > 0:
        return False
    await txn.execute("DELETE FROM media_content WHERE sha256 = ?", (sha256,))
    return True


async def delete_media_rows(
    txn: Transaction, server_name: str, media_id: str
) -> list[str]:
    """Delete one media row and its thumbnails; return the digests they referenced."""
    digests = [
        row[0]
        for row in await txn.fetchall(
            "SELECT sha256 FROM media_thumbnails"
            " WHERE server_name = ? AND media_id = ?",
            (server_name, media_id),
        )
    ]
    row = await txn.fetchone(
        "SELECT sha256 FROM media WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    if row is not None and row[0] is not None:
        digests.append(row[0])
    await txn.execute(
        "DELETE FROM media_thumbnails WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    await txn.execute(
        "DELETE FROM media WHERE server_name = ? AND media_id = ?",
        (server_name, media_id),
    )
    return digests


class ContentStore:
    """The blob store plus reference counting, serialised by one lock."""

    def __init__(self, db: Database, storage: MediaStorage) -> None:
        self.db = db
        self.storage = storage
        self._lock = asyncio.Lock()

    async def commit(
        self,
        staged: StagedContent,
        txn_name: str,
        write_rows: Callable[[Transaction], Awaitable[None]],
    ) -> None:
        """Make `staged` visible, then run `write_rows` and add a reference atomically.

        If `write_rows` raises, the transaction rolls back and the blob is removed again
        unless an older row already references the same digest.
        """
        async with self._lock:
            await self.storage.commit(staged)
            try:
                async with self.db.transaction(txn_name) as txn:
                    # The reference comes first: media rows have a foreign key to it.
                    await add_reference(txn, staged.sha256, staged.size)
                    await write_rows(txn)
            except BaseException:
                await self._delete_if_unreferenced(staged.sha256)
                raise

    async def remove(
        self,
        txn_name: str,
        delete_rows: Callable[[Transaction], Awaitable[Iterable[str]]],
    ) -> int:
        """Run `delete_rows`, which returns the digests it unreferenced; free blobs.

        Returns the number of blobs deleted from storage.
        """
        async with self._lock:
            freed: list[str] = []
            async with self.db.transaction(txn_name) as txn:
                for sha256 in await delete_rows(txn):
                    if await release_reference(txn, sha256):
                        freed.append(sha256)
            for sha256 in freed:
                await self.storage.delete(sha256)
            return len(freed)

    async def _delete_if_unreferenced(self, sha256: str) -> None:
        referenced = await self.db.fetchvalue(
            "SELECT 1 FROM media_content WHERE sha256 = ?", (sha256,)
        )
        if referenced is None:
            await self.storage.delete(sha256)
