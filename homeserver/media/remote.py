"""The extension point for media of other servers.

Spec: Client-Server API, "Content repository": content of another server is downloaded
through the user's own homeserver, which fetches it over federation
(`GET /_matrix/federation/v1/media/download/{mediaId}`) and caches it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RemoteMedia:
    """Content fetched from another server, streamed once into the local cache."""

    content_type: str | None
    upload_name: str | None
    chunks: AsyncIterator[bytes]


class RemoteMediaFetcher(Protocol):
    """Fetches `mxc://server_name/media_id` from its origin server.

    Returns None when the origin reports that the media does not exist. The repository
    streams the chunks into storage, caps them at `media.max_upload_size` and records
    the
    result as cached remote media (the row's `user_id` stays NULL).
    """

    async def fetch(
        self, server_name: str, media_id: str, max_size: int, timeout_ms: int
    ) -> RemoteMedia | None: ...
