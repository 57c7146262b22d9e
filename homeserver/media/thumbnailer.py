"""Choosing, generating and caching thumbnails.

Spec: Client-Server API, "Thumbnails". The configured sizes (`media.thumbnail_sizes`)
are generated in the background after an image upload. A "scale" request is served from
the smallest configured size that is at least as large as the request. A "crop" request
needs an exact match. Anything else is generated for the exact request and then cached
like the configured sizes.
"""

from __future__ import annotations

import asyncio
import logging

from homeserver.config import MediaConfig
from homeserver.errors import TooLarge
from homeserver.media import store, thumbnails
from homeserver.media.errors import CannotThumbnail
from homeserver.media.store import ContentStore, MediaRecord, ThumbnailRecord
from homeserver.storage.database import Transaction

logger = logging.getLogger(__name__)


async def _single_chunk(data: bytes):  # type: ignore[no-untyped-def]
    yield data


class Thumbnailer:
    """Serves thumbnails of stored media, generating them on demand."""

    def __init__(self, content: ContentStore, config: MediaConfig) -> None:
        self._content = content
        self._config = config
        # One generation per (media, size) at a time; concurrent requests wait for it.
        self._in_flight: dict[tuple, asyncio.Future[ThumbnailRecord]] = {}

    def choose_size(self, width: int, height: int, method: str) -> tuple[int, int]:
        """Return the box to generate or look up for a request of width x height."""
        if method == "crop":
            # Only the exact size keeps the requested aspect ratio, and a configured
            # crop size of that box is cached under the same key.
            return width, height
        larger = [
            (w, h)
            for (w, h, m) in self._config.thumbnail_sizes
            if m == "scale" and w >= width and h >= height
        ]
        if larger:
            return min(larger, key=lambda size: (size[0] * size[1], size))
        return width, height

    async def get(
        self, media: MediaRecord, width: int, height: int, method: str, animated: bool
    ) -> ThumbnailRecord:
        """Return a cached or new thumbnail; raise `CannotThumbnail` or `TooLarge`."""
        box = self.choose_size(width, height, method)
        existing = await self._find(media, box, method, animated)
        if existing is not None:
            return existing
        key = (media.server_name, media.media_id, box, method, animated)
        in_flight = self._in_flight.get(key)
        if in_flight is not None:
            return await asyncio.shield(in_flight)
        future: asyncio.Future[ThumbnailRecord] = (
            asyncio.get_running_loop().create_future()
        )
        self._in_flight[key] = future
        try:
            record = await self._generate(media, box, method, animated)
        except Exception as exc:
            future.set_exception(exc)
            # Mark the exception as retrieved in case no other request waited for it.
            future.exception()
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._in_flight[key]
        future.set_result(record)
        return record

    async def pregenerate(self, media: MediaRecord) -> None:
        """Generate every configured size of an image; skip non-images quietly."""
        try:
            await asyncio.to_thread(self._probe, media)
        except (
            thumbnails.NotAnImage,
            thumbnails.ImageTooLarge,
            thumbnails.CorruptImage,
        ):
            return
        for width, height, method in self._config.thumbnail_sizes:
            try:
                await self.get(media, width, height, method, animated=False)
            except (CannotThumbnail, TooLarge) as exc:
                logger.info(
                    "No %dx%d %s thumbnail for mxc://%s/%s: %s",
                    width,
                    height,
                    method,
                    media.server_name,
                    media.media_id,
                    exc,
                )
                return

    def _probe(self, media: MediaRecord) -> thumbnails.ImageInfo:
        assert media.sha256 is not None
        with self._content.storage.open(media.sha256) as file:
            return thumbnails.probe(file, self._config.max_image_pixels)

    async def _find(
        self, media: MediaRecord, box: tuple[int, int], method: str, animated: bool
    ) -> ThumbnailRecord | None:
        for record in await store.get_thumbnails(
            self._content.db, media.server_name, media.media_id
        ):
            if (record.width, record.height, record.method, record.animated) == (
                box[0],
                box[1],
                method,
                animated,
            ):
                return record
        return None

    async def _generate(
        self, media: MediaRecord, box: tuple[int, int], method: str, animated: bool
    ) -> ThumbnailRecord:
        assert media.sha256 is not None
        try:
            result = await asyncio.to_thread(
                self._render, media.sha256, box, method, animated
            )
        except thumbnails.NotAnImage as exc:
            raise CannotThumbnail(
                "Cannot generate a thumbnail: the content"
                f" ({media.content_type or 'unknown type'}) is not an image in a"
                f" supported format ({', '.join(thumbnails.ALLOWED_FORMATS)})"
            ) from exc
        except thumbnails.CorruptImage as exc:
            raise CannotThumbnail(f"Cannot generate a thumbnail: {exc}") from exc
        except thumbnails.ImageTooLarge as exc:
            raise TooLarge(f"Content is too large to thumbnail: {exc}") from exc

        staged = await self._content.storage.stage(
            _single_chunk(result.data), max_size=len(result.data)
        )
        # `animated` is part of the cache key as requested: a single-frame source gives
        # a static thumbnail for animated=true too, and that row shares the same blob.
        record = ThumbnailRecord(
            width=box[0],
            height=box[1],
            method=method,
            animated=animated,
            content_type=result.content_type,
            actual_width=result.width,
            actual_height=result.height,
            size=len(result.data),
            sha256=staged.sha256,
        )

        async def write_row(txn: Transaction) -> None:
            count = await txn.execute_rowcount(
                "INSERT OR IGNORE INTO media_thumbnails (server_name, media_id, width,"
                " height, method, animated, content_type, actual_width, actual_height,"
                " size, sha256, created_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    media.server_name,
                    media.media_id,
                    record.width,
                    record.height,
                    record.method,
                    int(record.animated),
                    record.content_type,
                    record.actual_width,
                    record.actual_height,
                    record.size,
                    record.sha256,
                    store.now_ms(),
                ),
            )
            if count != 1:
                raise _AlreadyCached()

        try:
            await self._content.commit(staged, "store_thumbnail", write_row)
        except _AlreadyCached:
            return await self._find(media, box, method, animated) or record
        return record

    def _render(
        self, sha256: str, box: tuple[int, int], method: str, animated: bool
    ) -> thumbnails.Thumbnail:
        with self._content.storage.open(sha256) as file:
            return thumbnails.make_thumbnail(
                file, box, method, animated, self._config.max_image_pixels
            )


class _AlreadyCached(Exception):
    """A concurrent request stored the same thumbnail first; roll back and reuse it."""
