"""Routes for server-side key backups.

Spec: Client-Server API, "Server-side key backups": `/room_keys/version[/{version}]`
and `/room_keys/keys[/{roomId}[/{sessionId}]]`.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart, request

from clientapi.common import (
    authenticated,
    json_response,
    read_json_body,
    require_dict,
    require_str,
    services,
)
from clientapi.routing import client_route
from homeserver.auth import Requester
from homeserver.e2ee.key_backup import parse_rooms, parse_session_key
from homeserver.errors import InvalidParam, MissingParam, NotFound

bp = Blueprint("room_keys", __name__)


def _version_param() -> str:
    version = request.args.get("version")
    if not version:
        raise MissingParam("Missing query parameter 'version'")
    return version


# Versions


@client_route(bp, "/room_keys/version", ["POST"])
@authenticated
async def create_version(requester: Requester) -> Any:
    """POST /_matrix/client/v3/room_keys/version"""
    body = await read_json_body()
    algorithm = require_str(body, "algorithm")
    auth_data = require_dict(body, "auth_data")
    assert algorithm is not None and auth_data is not None
    version = await services().e2ee.backup.create_version(
        requester.user_id, algorithm, auth_data
    )
    return json_response({"version": version})


@client_route(bp, "/room_keys/version", ["GET"])
@authenticated
async def get_current_version(requester: Requester) -> Any:
    """GET /_matrix/client/v3/room_keys/version"""
    return json_response(
        await services().e2ee.backup.get_version(requester.user_id, None)
    )


@client_route(bp, "/room_keys/version/<version>", ["GET"])
@authenticated
async def get_version(requester: Requester, version: str) -> Any:
    """GET /_matrix/client/v3/room_keys/version/{version}"""
    backup = services().e2ee.backup
    return json_response(await backup.get_version(requester.user_id, version))


@client_route(bp, "/room_keys/version/<version>", ["PUT"])
@authenticated
async def update_version(requester: Requester, version: str) -> Any:
    """PUT /_matrix/client/v3/room_keys/version/{version}; only auth_data changes."""
    body = await read_json_body()
    algorithm = require_str(body, "algorithm")
    auth_data = require_dict(body, "auth_data")
    assert algorithm is not None and auth_data is not None
    body_version = body.get("version")
    if body_version is not None and body_version != version:
        raise InvalidParam(
            f"The version in the body ({body_version!r}) does not match the path"
        )
    await services().e2ee.backup.update_version(
        requester.user_id, version, algorithm, auth_data
    )
    return json_response({})


@client_route(bp, "/room_keys/version/<version>", ["DELETE"])
@authenticated
async def delete_version(requester: Requester, version: str) -> Any:
    """DELETE /_matrix/client/v3/room_keys/version/{version}"""
    await services().e2ee.backup.delete_version(requester.user_id, version)
    return json_response({})


# Keys


@client_route(bp, "/room_keys/keys", ["PUT"])
@authenticated
async def put_all_keys(requester: Requester) -> Any:
    """PUT /_matrix/client/v3/room_keys/keys?version="""
    version = _version_param()
    body = await read_json_body()
    if "rooms" not in body:
        raise MissingParam("Missing required field 'rooms'")
    rooms = parse_rooms(body["rooms"])
    result = await services().e2ee.backup.put_keys(requester.user_id, version, rooms)
    return json_response(result)


@client_route(bp, "/room_keys/keys/<room_id>", ["PUT"])
@authenticated
async def put_room_keys(requester: Requester, room_id: str) -> Any:
    """PUT /_matrix/client/v3/room_keys/keys/{roomId}?version="""
    version = _version_param()
    body = await read_json_body()
    rooms = parse_rooms({room_id: body})
    result = await services().e2ee.backup.put_keys(requester.user_id, version, rooms)
    return json_response(result)


@client_route(bp, "/room_keys/keys/<room_id>/<path:session_id>", ["PUT"])
@authenticated
async def put_session_key(requester: Requester, room_id: str, session_id: str) -> Any:
    """PUT /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}?version="""
    version = _version_param()
    body = await read_json_body()
    rooms = {room_id: {session_id: parse_session_key(body, "request body")}}
    result = await services().e2ee.backup.put_keys(requester.user_id, version, rooms)
    return json_response(result)


@client_route(bp, "/room_keys/keys", ["GET"])
@authenticated
async def get_all_keys(requester: Requester) -> Any:
    """GET /_matrix/client/v3/room_keys/keys?version="""
    found = await services().e2ee.backup.get_keys(requester.user_id, _version_param())
    rooms = {room_id: {"sessions": sessions} for room_id, sessions in found.items()}
    return json_response({"rooms": rooms})


@client_route(bp, "/room_keys/keys/<room_id>", ["GET"])
@authenticated
async def get_room_keys(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/room_keys/keys/{roomId}?version="""
    found = await services().e2ee.backup.get_keys(
        requester.user_id, _version_param(), room_id
    )
    return json_response({"sessions": found.get(room_id, {})})


@client_route(bp, "/room_keys/keys/<room_id>/<path:session_id>", ["GET"])
@authenticated
async def get_session_key(requester: Requester, room_id: str, session_id: str) -> Any:
    """GET /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}?version="""
    found = await services().e2ee.backup.get_keys(
        requester.user_id, _version_param(), room_id, session_id
    )
    key = found.get(room_id, {}).get(session_id)
    if key is None:
        raise NotFound(f"No key for session {session_id} in room {room_id}")
    return json_response(key)


@client_route(bp, "/room_keys/keys", ["DELETE"])
@authenticated
async def delete_all_keys(requester: Requester) -> Any:
    """DELETE /_matrix/client/v3/room_keys/keys?version="""
    backup = services().e2ee.backup
    return json_response(await backup.delete_keys(requester.user_id, _version_param()))


@client_route(bp, "/room_keys/keys/<room_id>", ["DELETE"])
@authenticated
async def delete_room_keys(requester: Requester, room_id: str) -> Any:
    """DELETE /_matrix/client/v3/room_keys/keys/{roomId}?version="""
    result = await services().e2ee.backup.delete_keys(
        requester.user_id, _version_param(), room_id
    )
    return json_response(result)


@client_route(bp, "/room_keys/keys/<room_id>/<path:session_id>", ["DELETE"])
@authenticated
async def delete_session_key(
    requester: Requester, room_id: str, session_id: str
) -> Any:
    """DELETE /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}?version="""
    result = await services().e2ee.backup.delete_keys(
        requester.user_id, _version_param(), room_id, session_id
    )
    return json_response(result)


def install(app: Quart, services_: Any) -> None:
    """Register the routes; the E2EE component comes from `clientapi.keys`."""
    app.register_blueprint(bp)
