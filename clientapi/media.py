"""Media repository routes: uploads, asynchronous uploads and the media config.

Spec: Client-Server API, "Content repository". Downloads, thumbnails and URL previews
are in `clientapi.media_download`, the admin routes in `clientapi.media_admin`.
`install` builds the `MediaRepository` component and its retention job.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Quart, request

from clientapi.common import authenticated, body_chunks, json_response, services
from homeserver.auth import Requester
from homeserver.errors import InvalidParam, TooLarge
from homeserver.media.http_headers import MAX_FILENAME_LENGTH, normalise_content_type
from homeserver.media.ids import mxc_uri
from homeserver.media.repository import MediaRepository
from homeserver.media.retention import RetentionJob
from homeserver.media.storage import LocalMediaStorage
from homeserver.media.url_preview import UrlPreviewer

logger = logging.getLogger(__name__)

bp = Blueprint("media", __name__)


def media() -> MediaRepository:
    return services().components["media"]


def check_declared_length(limit: int) -> None:
    """Reject a body whose Content-Length is over `limit` before reading any of it."""
    length = request.content_length
    if length is not None and length > limit:
        raise TooLarge(f"Cannot upload files larger than {limit} bytes")


async def request_body_chunks() -> AsyncIterator[bytes]:
    """Yield the request body as it arrives, without buffering all of it."""
    async for chunk in body_chunks():
        yield chunk


def upload_filename() -> str | None:
    """Return the `filename` query parameter, checked; None when absent or empty."""
    name = request.args.get("filename")
    if not name:
        return None
    if len(name) > MAX_FILENAME_LENGTH:
        raise InvalidParam(f"filename is longer than {MAX_FILENAME_LENGTH} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise InvalidParam("filename must not contain control characters")
    return name


@bp.route("/_matrix/media/v3/upload", methods=["POST"])
@bp.route("/_matrix/media/r0/upload", methods=["POST"])
@authenticated
async def upload(requester: Requester) -> Any:
    """POST /_matrix/media/v3/upload"""
    repository = media()
    services().limiters["media_upload"].check(requester.user_id)
    check_declared_length(repository.config.max_upload_size)
    content_type = normalise_content_type(request.headers.get("Content-Type"))
    media_id = await repository.upload(
        requester.user_id, request_body_chunks(), content_type, upload_filename()
    )
    return json_response({"content_uri": mxc_uri(repository.server_name, media_id)})


@bp.route("/_matrix/media/v1/create", methods=["POST"])
@authenticated
async def create(requester: Requester) -> Any:
    """POST /_matrix/media/v1/create"""
    repository = media()
    services().limiters["media_upload"].check(requester.user_id)
    media_id, expires_at = await repository.create_pending(requester.user_id)
    return json_response(
        {
            "content_uri": mxc_uri(repository.server_name, media_id),
            "unused_expires_at": expires_at,
        }
    )


@bp.route("/_matrix/media/v3/upload/<server_name>/<media_id>", methods=["PUT"])
@authenticated
async def upload_to_created(
    requester: Requester, server_name: str, media_id: str
) -> Any:
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
    repository = media()
    services().limiters["media_upload"].check(requester.user_id)
    # Ownership and state are checked before the body is read, and again on commit.
    await repository.check_pending(requester.user_id, server_name, media_id)
    check_declared_length(repository.config.max_upload_size)
    content_type = normalise_content_type(request.headers.get("Content-Type"))
    await repository.upload_pending(
        requester.user_id,
        media_id,
        request_body_chunks(),
        content_type,
        upload_filename(),
    )
    return json_response({})


@bp.route("/_matrix/client/v1/media/config", methods=["GET"])
@bp.route("/_matrix/media/v3/config", methods=["GET"])
@authenticated
async def media_config(requester: Requester) -> Any:
    """GET /_matrix/client/v1/media/config"""
    return json_response({"m.upload.size": media().config.max_upload_size})


def install(app: Quart, services_: Any) -> None:
    from clientapi import media_admin, media_download

    config = services_.config
    storage = LocalMediaStorage(config.media.store_path)
    repository = MediaRepository(
        services_.db, storage, config.media, config.server_name
    )
    services_.components["media"] = repository
    services_.components["url_previews"] = UrlPreviewer(repository)
    retention = RetentionJob(repository)

    async def start_media() -> None:
        # No upload runs before the server starts, so every temp file is stale.
        removed = storage.remove_stale_temp_files(max_age_seconds=0)
        if removed:
            logger.info("Removed %d incomplete uploads from %s", removed, storage.root)
        retention.start()

    async def stop_media() -> None:
        await retention.stop()
        await repository.stop()

    app.extensions["startup_hooks"].append(start_media)
    app.extensions["shutdown_hooks"].append(stop_media)
    app.register_blueprint(bp)
    app.register_blueprint(media_download.bp)
    app.register_blueprint(media_admin.bp)
