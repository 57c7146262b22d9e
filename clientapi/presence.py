"""Presence routes.

Spec: Client-Server API, "Presence".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import (
    authenticated,
    json_response,
    read_json_body,
    require_str,
    services,
)
from clientapi.routing import client_route, require_own_user
from homeserver.auth import Requester
from homeserver.errors import InvalidParam
from homeserver.presence import PRESENCE_STATES, PresenceTracker

bp = Blueprint("presence", __name__)


@client_route(bp, "/presence/<user_id>/status", ["PUT"])
@authenticated
async def put_status(requester: Requester, user_id: str) -> Any:
    """PUT /presence/{userId}/status"""
    require_own_user(requester, user_id, "set presence")
    body = await read_json_body()
    state = require_str(body, "presence")
    if state not in PRESENCE_STATES:
        raise InvalidParam(
            f"Field 'presence' must be one of {', '.join(PRESENCE_STATES)},"
            f" got {state!r}"
        )
    status_msg = require_str(body, "status_msg", optional=True)
    await services().presence.set_status(user_id, state, status_msg)
    return json_response({})


@client_route(bp, "/presence/<user_id>/status", ["GET"])
@authenticated
async def get_status(requester: Requester, user_id: str) -> Any:
    """GET /presence/{userId}/status"""
    content = await services().presence.get(requester.user_id, user_id)
    return json_response(content)


def install(app: Quart, services_: Any) -> None:
    config = services_.config
    tracker = PresenceTracker(
        services_.db,
        services_.notifier,
        config.server_name,
        enabled=config.presence_enabled,
    )
    services_.components["presence"] = tracker
    app.extensions["startup_hooks"].append(tracker.start)

    async def stop_timers() -> None:
        tracker.close()

    app.extensions["shutdown_hooks"].append(stop_timers)
    app.register_blueprint(bp)
