"""Account data, room tags and read markers routes.

Spec: Client-Server API, "Client Config", "Room Tagging" and "Read and unread markers".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route, require_own_user, require_room_id
from homeserver.account_data import AccountDataStore
from homeserver.auth import Requester
from homeserver.errors import BadJSON, NotFound

bp = Blueprint("account_data", __name__)


@client_route(bp, "/user/<user_id>/account_data/<data_type>", ["PUT"])
@authenticated
async def put_global(requester: Requester, user_id: str, data_type: str) -> Any:
    """PUT /user/{userId}/account_data/{type}"""
    require_own_user(requester, user_id, "add account data")
    content = await read_json_body()
    await services().account_data.set_by_client(user_id, data_type, content)
    return json_response({})


@client_route(bp, "/user/<user_id>/account_data/<data_type>", ["GET"])
@authenticated
async def get_global(requester: Requester, user_id: str, data_type: str) -> Any:
    """GET /user/{userId}/account_data/{type}"""
    require_own_user(requester, user_id, "read account data")
    content = await services().account_data.get(user_id, data_type)
    if content is None:
        raise NotFound(f"No account data of type {data_type!r}")
    return json_response(content)


@client_route(bp, "/user/<user_id>/rooms/<room_id>/account_data/<data_type>", ["PUT"])
@authenticated
async def put_room(
    requester: Requester, user_id: str, room_id: str, data_type: str
) -> Any:
    """PUT /user/{userId}/rooms/{roomId}/account_data/{type}"""
    require_own_user(requester, user_id, "add account data")
    require_room_id(room_id)
    content = await read_json_body()
    await services().account_data.set_by_client(user_id, data_type, content, room_id)
    return json_response({})


@client_route(bp, "/user/<user_id>/rooms/<room_id>/account_data/<data_type>", ["GET"])
@authenticated
async def get_room(
    requester: Requester, user_id: str, room_id: str, data_type: str
) -> Any:
    """GET /user/{userId}/rooms/{roomId}/account_data/{type}"""
    require_own_user(requester, user_id, "read account data")
    require_room_id(room_id)
    content = await services().account_data.get(user_id, data_type, room_id)
    if content is None:
        raise NotFound(f"No account data of type {data_type!r} in room {room_id}")
    return json_response(content)


@client_route(bp, "/user/<user_id>/rooms/<room_id>/tags", ["GET"])
@authenticated
async def get_tags(requester: Requester, user_id: str, room_id: str) -> Any:
    """GET /user/{userId}/rooms/{roomId}/tags"""
    require_own_user(requester, user_id, "read tags")
    tags = await services().account_data.get_tags(user_id, room_id)
    return json_response({"tags": tags})


@client_route(bp, "/user/<user_id>/rooms/<room_id>/tags/<tag>", ["PUT"])
@authenticated
async def put_tag(requester: Requester, user_id: str, room_id: str, tag: str) -> Any:
    """PUT /user/{userId}/rooms/{roomId}/tags/{tag}"""
    require_own_user(requester, user_id, "add tags")
    require_room_id(room_id)
    content = await read_json_body()
    order = content.get("order")
    if order is not None and (
        isinstance(order, bool) or not isinstance(order, (int, float))
    ):
        raise BadJSON("Tag field 'order' must be a number")
    await services().account_data.set_tag(user_id, room_id, tag, content)
    return json_response({})


@client_route(bp, "/user/<user_id>/rooms/<room_id>/tags/<tag>", ["DELETE"])
@authenticated
async def delete_tag(requester: Requester, user_id: str, room_id: str, tag: str) -> Any:
    """DELETE /user/{userId}/rooms/{roomId}/tags/{tag}

    Removing a tag the room does not have succeeds without a change.
    """
    require_own_user(requester, user_id, "remove tags")
    await services().account_data.remove_tag(user_id, room_id, tag)
    return json_response({})


@client_route(bp, "/rooms/<room_id>/read_markers", ["POST"])
@authenticated
async def read_markers(requester: Requester, room_id: str) -> Any:
    """POST /rooms/{roomId}/read_markers"""
    body = await read_json_body(allow_empty=True)
    markers: dict[str, str] = {}
    for key in ("m.fully_read", "m.read", "m.read.private"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.startswith("$"):
            raise BadJSON(f"Field {key!r} must be an event ID")
        markers[key] = value
    await services().receipts.set_read_markers(room_id, requester.user_id, markers)
    return json_response({})


def install(app: Quart, services_: Any) -> None:
    push_rules = services_.components["push_rules"]
    store = AccountDataStore(
        services_.db, services_.notifier, push_rules_for=push_rules.rules_content
    )
    services_.components["account_data"] = store
    app.extensions["startup_hooks"].append(store.load_position)
    app.register_blueprint(bp)
