"""The retention job: deletes media that is no longer used, so storage stays bounded.

Each run deletes, in batches:
- local media not downloaded for `media.local_media_lifetime_seconds` (counted from the
  upload when it was never downloaded); off when the setting is unset;
- cached remote media fetched more than `media.remote_media_lifetime_seconds` ago;
- pending asynchronous-upload IDs whose `unused_expires_at` has passed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from homeserver.media import store
from homeserver.media.repository import MediaRepository
from homeserver.media.store import now_ms
from homeserver.storage.database import Transaction

logger = logging.getLogger(__name__)

_BATCH_SIZE = 100


@dataclass
class PurgeCounts:
    local: int = 0
    remote: int = 0
    expired_pending: int = 0


class RetentionJob:
    """Runs `purge_once` every `media.retention_interval_seconds` until cancelled."""

    def __init__(self, repository: MediaRepository) -> None:
        self._repository = repository
        self._config = repository.config
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        logger.info(
            "Media retention started (every %.1f s)",
            self._config.retention_interval_seconds,
        )

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        logger.info("Media retention stopped")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._config.retention_interval_seconds)
            try:
                counts = await self.purge_once()
            except Exception:
                logger.exception("Media retention run failed; retrying next interval")
                continue
            if counts.local or counts.remote or counts.expired_pending:
                logger.info(
                    "Media retention deleted %d local, %d remote and %d expired"
                    " pending media",
                    counts.local,
                    counts.remote,
                    counts.expired_pending,
                )

    async def purge_once(self) -> PurgeCounts:
        """Run one retention pass now and return how many media rows it deleted."""
        repository = self._repository
        await repository.flush_access()
        now = now_ms()
        counts = PurgeCounts()
        local = self._config.local_media_lifetime_seconds
        if local is not None:
            counts.local = await self._purge(
                "SELECT server_name, media_id FROM media WHERE server_name = ?"
                " AND uploaded_ts IS NOT NULL"
                " AND COALESCE(last_access_ts, uploaded_ts) < ? LIMIT ?",
                (repository.server_name, now - local * 1000),
            )
        remote = self._config.remote_media_lifetime_seconds
        if remote is not None:
            counts.remote = await self._purge(
                "SELECT server_name, media_id FROM media WHERE server_name != ?"
                " AND created_ts < ? LIMIT ?",
                (repository.server_name, now - remote * 1000),
            )
        counts.expired_pending = await self._purge(
            "SELECT server_name, media_id FROM media WHERE uploaded_ts IS NULL"
            " AND unused_expires_at < ? LIMIT ?",
            (now,),
        )
        return counts

    async def _purge(self, select_sql: str, params: tuple) -> int:
        deleted = 0
        while True:
            rows = await self._repository.db.fetchall(
                select_sql, params + (_BATCH_SIZE,)
            )
            if not rows:
                return deleted
            keys = [(row[0], row[1]) for row in rows]

            async def delete_rows(
                txn: Transaction, keys: list[tuple[str, str]] = keys
            ) -> list[str]:
                digests: list[str] = []
                for server_name, media_id in keys:
                    digests.extend(
                        await store.delete_media_rows(txn, server_name, media_id)
                    )
                return digests

            await self._repository.content.remove("media_retention", delete_rows)
            deleted += len(keys)
            if len(rows) < _BATCH_SIZE:
                return deleted
