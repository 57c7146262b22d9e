"""Typing notification route.

Spec: Client-Server API, "Typing Notifications".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route, require_own_user
from homeserver.auth import Requester
from homeserver.errors import BadJSON, MissingParam
from homeserver.typing import TypingTracker

bp = Blueprint("typing", __name__)


@client_route(bp, "/rooms/<room_id>/typing/<user_id>", ["PUT"])
@authenticated
async def put_typing(requester: Requester, room_id: str, user_id: str) -> Any:
    """PUT /rooms/{roomId}/typing/{userId}"""
    require_own_user(requester, user_id, "set typing state")
    body = await read_json_body()
    typing = body.get("typing")
    if typing is None:
        raise MissingParam("Missing required field 'typing'")
    if not isinstance(typing, bool):
        raise BadJSON("Field 'typing' must be a boolean")
    timeout = body.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int)
    ):
        raise BadJSON("Field 'timeout' must be an integer number of milliseconds")
    await services().typing.set_typing(room_id, user_id, typing, timeout)
    return json_response({})


def install(app: Quart, services_: Any) -> None:
    room_cache = services_.room_cache

    async def joined_users(room_id: str) -> set[str] | None:
        snapshot = await room_cache.get(room_id)
        return None if snapshot is None else set(snapshot.joined)

    tracker = TypingTracker(services_.notifier, joined_users)
    services_.components["typing"] = tracker

    def stop_typing_on_departure(items: list[Any]) -> None:
        for item in items:
            event = item.event
            if event.type == "m.room.member" and event.membership != "join":
                tracker.stop(event.room_id, event.state_key)

    services_.pipeline.listeners.append(stop_typing_on_departure)

    async def stop_timers() -> None:
        tracker.close()

    app.extensions["shutdown_hooks"].append(stop_timers)
    app.register_blueprint(bp)
