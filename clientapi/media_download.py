"""Media download, thumbnail and URL preview routes.

Spec: Client-Server API, "Content repository". The authenticated
`/_matrix/client/v1/media` endpoints serve all media. The deprecated `/_matrix/media/v3`
download and thumbnail endpoints serve only media created before
`media.unauthenticated_download_cutoff_ts` (the "freeze" of unauthenticated media) and
return 404 M_NOT_FOUND for anything newer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, request

from clientapi.common import (
    authenticated,
    json_response,
    query_bool,
    query_int,
    services,
)
from clientapi.media import media
from homeserver.auth import Requester
from homeserver.errors import InvalidParam, NotFound
from homeserver.media.http_headers import (
    SECURITY_HEADERS,
    ByteRange,
    RangeNotSatisfiable,
    content_disposition,
    etag_matches,
    parse_range,
)
from homeserver.media.repository import DEFAULT_DOWNLOAD_TIMEOUT_MS
from homeserver.media.storage import MediaStorage
from homeserver.media.store import MediaRecord, ThumbnailRecord

bp = Blueprint("media_download", __name__)

_CHUNK_SIZE = 256 * 1024
_MAX_THUMBNAIL_DIMENSION = 10_000
_THUMBNAIL_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}
# Content and thumbnails never change under a given ETag, so caches may keep them.
_CACHE_CONTROL = "private, max-age=86400, immutable"


# Downloads ---------------------------------------------------------------------------


@bp.route("/_matrix/client/v1/media/download/<server_name>/<media_id>", methods=["GET"])
@bp.route(
    "/_matrix/client/v1/media/download/<server_name>/<media_id>/<path:file_name>",
    methods=["GET"],
)
@authenticated
async def download(
    requester: Requester, server_name: str, media_id: str, file_name: str | None = None
) -> Any:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]"""
    record = await _lookup(server_name, media_id)
    return _content_response(record, file_name)


@bp.route("/_matrix/media/v3/download/<server_name>/<media_id>", methods=["GET"])
@bp.route(
    "/_matrix/media/v3/download/<server_name>/<media_id>/<path:file_name>",
    methods=["GET"],
)
async def download_unauthenticated(
    server_name: str, media_id: str, file_name: str | None = None
) -> Any:
    """GET /_matrix/media/v3/download/{serverName}/{mediaId}[/{fileName}]

    Deprecated since spec v1.11 and frozen for media newer than the configured cutoff.
    """
    record = await _lookup(server_name, media_id)
    _check_not_frozen(record)
    return _content_response(record, file_name)


async def _lookup(server_name: str, media_id: str) -> MediaRecord:
    timeout_ms = query_int("timeout_ms", DEFAULT_DOWNLOAD_TIMEOUT_MS)
    allow_remote = query_bool("allow_remote", True)
    return await media().get_for_download(
        server_name, media_id, timeout_ms, allow_remote
    )


def _check_not_frozen(record: MediaRecord) -> None:
    cutoff = media().config.unauthenticated_download_cutoff_ts
    if record.created_ts >= cutoff:
        raise NotFound(
            "Media uploaded after the unauthenticated media freeze is only available"
            " at /_matrix/client/v1/media/download"
        )


def _content_response(record: MediaRecord, file_name: str | None) -> Response:
    assert record.sha256 is not None and record.size is not None
    media().record_access(record)
    content_type = record.content_type or "application/octet-stream"
    disposition = content_disposition(
        content_type, file_name or record.upload_name, inline=True
    )
    return _file_response(record.sha256, record.size, content_type, disposition)


def _file_response(
    sha256: str, size: int, content_type: str, disposition: str
) -> Response:
    """Serve a stored blob with conditional and range support, streamed from storage."""
    etag = f'"{sha256}"'
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": disposition,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": _CACHE_CONTROL,
    }
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(b"", status=304, headers=headers)

    byte_range: ByteRange | None = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range.strip() == etag:
        try:
            byte_range = parse_range(request.headers.get("Range"), size)
        except RangeNotSatisfiable:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(b"", status=416, headers=headers)

    start, length, status = 0, size, 200
    if byte_range is not None:
        start, length, status = byte_range.start, byte_range.length, 206
        headers["Content-Range"] = byte_range.content_range()
    headers["Content-Length"] = str(length)
    # The generator runs after the handler returns, outside the app context, so it
    # receives the storage object instead of looking it up.
    storage = media().storage
    body = (
        _read_blob(storage, sha256, start, length) if request.method != "HEAD" else b""
    )
    response = Response(body, status=status, headers=headers, content_type=content_type)
    # Quart stops sending a response after RESPONSE_TIMEOUT (60 s); large files on slow
    # links need longer, and Hypercorn's own timeouts still close dead connections.
    response.timeout = None
    return response


async def _read_blob(
    storage: MediaStorage, sha256: str, start: int, length: int
) -> AsyncIterator[bytes]:
    """Yield `length` bytes from `start`, reading one chunk at a time in a thread."""
    file = await asyncio.to_thread(storage.open, sha256)
    try:
        if start:
            await asyncio.to_thread(file.seek, start)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(file.read, min(_CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(file.close)


# Thumbnails --------------------------------------------------------------------------


@bp.route(
    "/_matrix/client/v1/media/thumbnail/<server_name>/<media_id>", methods=["GET"]
)
@authenticated
async def thumbnail(requester: Requester, server_name: str, media_id: str) -> Any:
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
    return await _thumbnail(server_name, media_id, frozen_check=False)


@bp.route("/_matrix/media/v3/thumbnail/<server_name>/<media_id>", methods=["GET"])
async def thumbnail_unauthenticated(server_name: str, media_id: str) -> Any:
    """GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId} (deprecated)"""
    return await _thumbnail(server_name, media_id, frozen_check=True)


async def _thumbnail(
    server_name: str, media_id: str, *, frozen_check: bool
) -> Response:
    width, height = _required_dimension("width"), _required_dimension("height")
    method = request.args.get("method", "scale")
    if method not in ("scale", "crop"):
        raise InvalidParam(f"method must be 'scale' or 'crop', not {method!r}")
    animated = query_bool("animated", False)
    record = await _lookup(server_name, media_id)
    if frozen_check:
        _check_not_frozen(record)
    repository = media()
    result: ThumbnailRecord = await repository.thumbnailer.get(
        record, width, height, method, animated
    )
    repository.record_access(record)
    extension = _THUMBNAIL_EXTENSIONS.get(result.content_type, "bin")
    disposition = f'inline; filename="thumbnail.{extension}"'
    return _file_response(result.sha256, result.size, result.content_type, disposition)


def _required_dimension(name: str) -> int:
    raw = request.args.get(name)
    if raw is None:
        raise InvalidParam(f"Missing required query parameter {name!r}")
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidParam(f"Query parameter {name!r} must be an integer") from exc
    if value < 1:
        raise InvalidParam(f"Query parameter {name!r} must be at least 1")
    # Thumbnails are never upscaled, so a larger box only means "the original size".
    return min(value, _MAX_THUMBNAIL_DIMENSION)


# URL previews ------------------------------------------------------------------------


@bp.route("/_matrix/client/v1/media/preview_url", methods=["GET"])
@bp.route("/_matrix/media/v3/preview_url", methods=["GET"])
@authenticated
async def preview_url(requester: Requester) -> Any:
    """GET /_matrix/client/v1/media/preview_url"""
    if not media().config.url_preview_enabled:
        raise NotFound("URL previews are disabled on this server")
    url = request.args.get("url")
    if not url:
        raise InvalidParam("Missing required query parameter 'url'")
    # `ts` requests a preview as of that time. The spec lets the server return a newer
    # one, so any cached preview will do.
    query_int("ts", 0)
    previewer = services().components["url_previews"]
    return json_response(await previewer.preview(url, requester.user_id))
