"""Admin routes of the media repository, under the Synapse-compatible admin prefix.

Only server admins (`Requester.is_admin`) may call them; others get 403 M_FORBIDDEN.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from clientapi.common import authenticated, json_response, query_int
from clientapi.media import media
from homeserver.auth import Requester
from homeserver.errors import Forbidden, InvalidParam
from homeserver.identifiers import is_valid_user_id
from homeserver.media.store import MediaRecord

bp = Blueprint("media_admin", __name__)

_MAX_PAGE = 1000


def _require_admin(requester: Requester) -> None:
    if not requester.is_admin:
        raise Forbidden("You are not a server admin")


@bp.route(
    "/_synapse/admin/v1/media/quarantine/<server_name>/<media_id>", methods=["POST"]
)
@authenticated
async def quarantine(requester: Requester, server_name: str, media_id: str) -> Any:
    """POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}

    Quarantined media is never served again; its rows and bytes stay for review.
    """
    _require_admin(requester)
    await media().quarantine(server_name, media_id, requester.user_id)
    return json_response({})


@bp.route("/_synapse/admin/v1/media/<server_name>/<media_id>", methods=["DELETE"])
@authenticated
async def delete(requester: Requester, server_name: str, media_id: str) -> Any:
    """DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}"""
    _require_admin(requester)
    await media().delete(server_name, media_id)
    return json_response({"deleted_media": [media_id], "total": 1})


@bp.route("/_synapse/admin/v1/users/<user_id>/media", methods=["GET"])
@authenticated
async def user_media(requester: Requester, user_id: str) -> Any:
    """GET /_synapse/admin/v1/users/{userId}/media?from=&limit="""
    _require_admin(requester)
    if not is_valid_user_id(user_id):
        raise InvalidParam(f"Invalid user ID {user_id!r}")
    offset = query_int("from", 0)
    limit = query_int("limit", 100, minimum=1, maximum=_MAX_PAGE)
    records, total = await media().list_user_media(user_id, offset, limit)
    body: dict[str, Any] = {"media": [_describe(r) for r in records], "total": total}
    if offset + len(records) < total:
        body["next_token"] = offset + len(records)
    return json_response(body)


def _describe(record: MediaRecord) -> dict[str, Any]:
    return {
        "media_id": record.media_id,
        "media_type": record.content_type,
        "media_length": record.size,
        "upload_name": record.upload_name,
        "created_ts": record.created_ts,
        "last_access_ts": record.last_access_ts,
        "quarantined_by": record.quarantined_by,
        "pending": record.is_pending,
        "sha256": record.sha256,
    }
