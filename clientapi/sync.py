"""`GET /sync`."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart, request

from clientapi.common import authenticated, json_response, query_bool, query_int, services
from homeserver.auth import Requester
from homeserver.errors import InvalidParam
from homeserver.filters import Filter
from homeserver.notifier import StreamToken
from homeserver.sync import MAX_TIMEOUT_MS, SyncHandler, SyncRequest

bp = Blueprint("sync", __name__, url_prefix="/_matrix/client/v3")

_PRESENCE_STATES = ("online", "offline", "unavailable")


@bp.route("/sync", methods=["GET"])
@authenticated
async def sync(requester: Requester) -> Any:
    """GET /_matrix/client/v3/sync"""
    since_text = request.args.get("since")
    since = StreamToken.parse(since_text) if since_text else None
    timeout_ms = query_int("timeout", 0, minimum=0, maximum=MAX_TIMEOUT_MS)
    set_presence = request.args.get("set_presence")
    if set_presence is not None and set_presence not in _PRESENCE_STATES:
        raise InvalidParam(f"set_presence must be one of {', '.join(_PRESENCE_STATES)}")
    filters = getattr(services(), "filters", None)
    raw_filter = request.args.get("filter")
    if filters is not None:
        sync_filter = await filters.parse_filter_param(raw_filter, requester.user_id)
    else:
        sync_filter = Filter()
    body = await services().sync.sync(
        SyncRequest(
            user_id=requester.user_id,
            device_id=requester.device_id,
            since=since,
            timeout_ms=timeout_ms,
            full_state=query_bool("full_state"),
            filter=sync_filter,
            set_presence=set_presence,
        )
    )
    return json_response(body)


def install(app: Quart, services_: Any) -> None:
    services_.components["sync"] = SyncHandler(
        services_.db,
        services_.events,
        services_.room_cache,
        services_.rooms.reader,
        services_.notifier,
        services_.user_rooms,
        services_,
    )
    app.register_blueprint(bp)
