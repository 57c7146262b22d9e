"""The media repository component: uploads, lookups for download, admin actions.

Spec: Client-Server API, "Content repository". Routes parse HTTP and call this class,
which never receives a request object. Bytes go through `ContentStore` (blob plus
reference count),
metadata through the SQL in `homeserver.media.store`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterable, Coroutine

from homeserver.config import MediaConfig
from homeserver.errors import Forbidden, LimitExceeded, NotFound, TooLarge
from homeserver.media import store
from homeserver.media.errors import CannotOverwriteMedia, NotYetUploaded
from homeserver.media.ids import check_media_id, new_media_id
from homeserver.media.remote import RemoteMediaFetcher
from homeserver.media.storage import ContentTooLarge, MediaStorage, StagedContent
from homeserver.media.store import ContentStore, MediaRecord, now_ms
from homeserver.media.thumbnailer import Thumbnailer
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

# The spec's default wait for a pending upload is 20 s; longer requests are capped.
DEFAULT_DOWNLOAD_TIMEOUT_MS = 20_000
MAX_DOWNLOAD_TIMEOUT_MS = 120_000


class MediaRepository:
    """Stores and looks up media of this server and cached media of others."""

    def __init__(
        self,
        db: Database,
        storage: MediaStorage,
        config: MediaConfig,
        server_name: str,
        remote: RemoteMediaFetcher | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.server_name = server_name
        self.content = ContentStore(db, storage)
        self.thumbnailer = Thumbnailer(self.content, config)
        # NOTE: federation supplies the fetcher. Until it does, remote media that is not
        # already cached gets 404 M_NOT_FOUND.
        self.remote = remote
        self._upload_events: dict[str, asyncio.Event] = {}
        self._background: set[asyncio.Task[None]] = set()
        # Download times collected in memory and written in batches by `flush_access`.
        self._accessed: dict[tuple[str, str], int] = {}

    @property
    def storage(self) -> MediaStorage:
        return self.content.storage

    # Uploads -------------------------------------------------------------------------

    async def upload(
        self,
        user_id: str,
        stream: AsyncIterable[bytes],
        content_type: str,
        upload_name: str | None,
    ) -> str:
        """Store a new upload and return its media ID."""
        staged = await self._stage(stream)
        media_id = new_media_id()

        async def insert(txn: Transaction) -> None:
            await store.insert_media(
                txn,
                self.server_name,
                media_id,
                user_id,
                content_type,
                upload_name,
                staged,
            )

        await self.content.commit(staged, "media_upload", insert)
        logger.info(
            "Stored mxc://%s/%s for %s (%d bytes)",
            self.server_name,
            media_id,
            user_id,
            staged.size,
        )
        self._after_upload(media_id)
        return media_id

    async def create_pending(self, user_id: str) -> tuple[str, int]:
        """Reserve a media ID for a later upload; return it and its expiry time (ms).

        Raises `LimitExceeded` when the user already has `max_pending_uploads` pending.
        """
        now = now_ms()
        count, earliest = await store.count_pending(self.db, user_id, now)
        if count >= self.config.max_pending_uploads:
            wait = (earliest or now) - now
            raise LimitExceeded(retry_after_ms=max(1, wait))
        media_id = new_media_id()
        expires_at = now + self.config.unused_expiry_seconds * 1000
        async with self.db.transaction("media_create_pending") as txn:
            await txn.execute(
                "INSERT INTO media (server_name, media_id, user_id, created_ts,"
                " unused_expires_at) VALUES (?, ?, ?, ?, ?)",
                (self.server_name, media_id, user_id, now, expires_at),
            )
        return media_id, expires_at

    async def check_pending(
        self, user_id: str, server_name: str, media_id: str
    ) -> None:
        """Raise unless `user_id` may upload to this pending media ID right now."""
        check_media_id(server_name, media_id)
        if server_name != self.server_name:
            raise NotFound(
                f"Media ID mxc://{server_name}/{media_id} was not created here"
            )
        record = await store.get_media(self.db, server_name, media_id)
        self._check_pending_record(record, user_id, media_id)

    def _check_pending_record(
        self, record: MediaRecord | None, user_id: str, media_id: str
    ) -> None:
        if record is None:
            raise NotFound(f"Unknown media ID {media_id!r}")
        if record.user_id != user_id:
            raise Forbidden("This media ID was created by another user")
        if not record.is_pending:
            raise CannotOverwriteMedia(f"Media {media_id!r} has already been uploaded")
        if record.unused_expires_at is not None and record.unused_expires_at < now_ms():
            raise NotFound(f"Media ID {media_id!r} has expired")

    async def upload_pending(
        self,
        user_id: str,
        media_id: str,
        stream: AsyncIterable[bytes],
        content_type: str,
        upload_name: str | None,
    ) -> None:
        """Store the content of a media ID created by `create_pending`."""
        await self.check_pending(user_id, self.server_name, media_id)
        staged = await self._stage(stream)

        async def fill(txn: Transaction) -> None:
            # Checked again inside the transaction: a concurrent PUT may have won.
            record = await store.get_media_txn(txn, self.server_name, media_id)
            self._check_pending_record(record, user_id, media_id)
            await txn.execute(
                "UPDATE media SET uploaded_ts = ?, content_type = ?, upload_name = ?,"
                " size = ?, sha256 = ?, unused_expires_at = NULL"
                " WHERE server_name = ? AND media_id = ?",
                (
                    now_ms(),
                    content_type,
                    upload_name,
                    staged.size,
                    staged.sha256,
                    self.server_name,
                    media_id,
                ),
            )

        await self.content.commit(staged, "media_upload_pending", fill)
        logger.info(
            "Stored pending mxc://%s/%s for %s (%d bytes)",
            self.server_name,
            media_id,
            user_id,
            staged.size,
        )
        event = self._upload_events.pop(media_id, None)
        if event is not None:
            event.set()
        self._after_upload(media_id)

    async def _stage(self, stream: AsyncIterable[bytes]) -> StagedContent:
        limit = self.config.max_upload_size
        try:
            return await self.storage.stage(stream, limit)
        except ContentTooLarge as exc:
            raise TooLarge(f"Cannot upload files larger than {limit} bytes") from exc

    def _after_upload(self, media_id: str) -> None:
        if self.config.thumbnail_sizes:
            self.spawn(self._pregenerate(media_id))

    async def _pregenerate(self, media_id: str) -> None:
        record = await store.get_media(self.db, self.server_name, media_id)
        if record is not None and record.sha256 is not None:
            await self.thumbnailer.pregenerate(record)

    # Lookups -------------------------------------------------------------------------

    async def get_for_download(
        self,
        server_name: str,
        media_id: str,
        timeout_ms: int = DEFAULT_DOWNLOAD_TIMEOUT_MS,
        allow_remote: bool = True,
    ) -> MediaRecord:
        """Return the uploaded media, waiting up to `timeout_ms` for a pending upload.

        Raises `InvalidParam` for a malformed ID, `NotFound` for unknown, expired or
        quarantined media and `NotYetUploaded` when the wait ends without content.
        """
        check_media_id(server_name, media_id)
        record = await store.get_media(self.db, server_name, media_id)
        if record is None and server_name != self.server_name:
            record = await self._fetch_remote(
                server_name, media_id, allow_remote, timeout_ms
            )
        if record is None:
            raise NotFound(f"Media mxc://{server_name}/{media_id} not found")
        if record.quarantined_by is not None:
            raise NotFound(f"Media mxc://{server_name}/{media_id} not found")
        if record.is_pending:
            record = await self._wait_for_upload(record, timeout_ms)
        return record

    async def _wait_for_upload(
        self, record: MediaRecord, timeout_ms: int
    ) -> MediaRecord:
        if record.unused_expires_at is not None and record.unused_expires_at < now_ms():
            raise NotFound(f"Media ID {record.media_id!r} has expired")
        timeout = min(max(timeout_ms, 0), MAX_DOWNLOAD_TIMEOUT_MS) / 1000
        event = self._upload_events.setdefault(record.media_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        fresh = await store.get_media(self.db, record.server_name, record.media_id)
        if fresh is None or fresh.quarantined_by is not None:
            raise NotFound(
                f"Media mxc://{record.server_name}/{record.media_id} not found"
            )
        if fresh.is_pending:
            raise NotYetUploaded()
        return fresh

    async def _fetch_remote(
        self, server_name: str, media_id: str, allow_remote: bool, timeout_ms: int
    ) -> MediaRecord | None:
        if self.remote is None or not allow_remote:
            return None
        remote = await self.remote.fetch(
            server_name, media_id, self.config.max_upload_size, timeout_ms
        )
        if remote is None:
            return None
        staged = await self._stage(remote.chunks)

        async def insert(txn: Transaction) -> None:
            await store.insert_media(
                txn,
                server_name,
                media_id,
                None,
                remote.content_type,
                remote.upload_name,
                staged,
            )

        try:
            await self.content.commit(staged, "media_cache_remote", insert)
        except sqlite3.IntegrityError:
            pass  # A concurrent request cached the same media first.
        return await store.get_media(self.db, server_name, media_id)

    def record_access(self, record: MediaRecord) -> None:
        self._accessed[(record.server_name, record.media_id)] = now_ms()

    async def flush_access(self) -> None:
        """Write the download times collected since the last flush."""
        if not self._accessed:
            return
        accessed, self._accessed = self._accessed, {}
        async with self.db.transaction("media_record_access") as txn:
            await txn.executemany(
                "UPDATE media SET last_access_ts = MAX(COALESCE(last_access_ts, 0), ?)"
                " WHERE server_name = ? AND media_id = ?",
                [(ts, server, media_id) for (server, media_id), ts in accessed.items()],
            )

    # Admin ---------------------------------------------------------------------------

    async def quarantine(self, server_name: str, media_id: str, admin_id: str) -> None:
        check_media_id(server_name, media_id)
        async with self.db.transaction("media_quarantine") as txn:
            count = await txn.execute_rowcount(
                "UPDATE media SET quarantined_by = ?"
                " WHERE server_name = ? AND media_id = ?",
                (admin_id, server_name, media_id),
            )
        if count == 0:
            raise NotFound(f"Media mxc://{server_name}/{media_id} not found")
        logger.info("Quarantined mxc://%s/%s by %s", server_name, media_id, admin_id)

    async def delete(self, server_name: str, media_id: str) -> None:
        """Delete one media item and its thumbnails; `NotFound` if it does not exist."""
        check_media_id(server_name, media_id)
        found = False

        async def delete_rows(txn: Transaction) -> list[str]:
            nonlocal found
            found = await store.get_media_txn(txn, server_name, media_id) is not None
            return await store.delete_media_rows(txn, server_name, media_id)

        await self.content.remove("media_delete", delete_rows)
        if not found:
            raise NotFound(f"Media mxc://{server_name}/{media_id} not found")
        self._upload_events.pop(media_id, None)
        logger.info("Deleted mxc://%s/%s", server_name, media_id)

    async def list_user_media(
        self, user_id: str, offset: int, limit: int
    ) -> tuple[list[MediaRecord], int]:
        return await store.list_user_media(self.db, user_id, offset, limit)

    # Background tasks ----------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        """Run a background task that `stop` cancels; its errors are logged."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Media background task failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.flush_access()
