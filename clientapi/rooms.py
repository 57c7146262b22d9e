"""Room routes: creation, membership, state, sending, reading and aliases."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart, request

from clientapi.common import (
    authenticated,
    json_response,
    query_int,
    read_json_body,
    require_str,
    services,
)
from homeserver.auth import Requester
from homeserver.client_json import parse_client_json
from homeserver.errors import BadJSON, Forbidden, InvalidParam, NotFound
from homeserver.filters import RoomEventFilter
from homeserver.identifiers import is_valid_user_id
from homeserver.rooms.aliases import AliasDirectory
from homeserver.rooms.creation import CreateRoomRequest, RoomCreator
from homeserver.rooms.membership import DatabaseProfiles, MembershipHandler
from homeserver.rooms.reading import RoomReader
from homeserver.rooms.serialize import client_event
from homeserver.rooms.service import RoomService

bp = Blueprint("rooms", __name__, url_prefix="/_matrix/client/v3")

_MAX_MESSAGES_LIMIT = 1000


def rooms() -> RoomService:
    return services().rooms


def _reason(body: dict[str, Any]) -> str | None:
    return require_str(body, "reason", optional=True)


def _room_id(room_id: str) -> str:
    if not room_id.startswith("!"):
        raise InvalidParam(f"Invalid room ID {room_id!r}")
    return room_id


def _target_user(body: dict[str, Any]) -> str:
    user_id = require_str(body, "user_id")
    assert user_id is not None
    if not is_valid_user_id(user_id):
        raise InvalidParam(f"Invalid user ID {user_id!r}")
    return user_id


@bp.route("/createRoom", methods=["POST"])
@authenticated
async def create_room(requester: Requester) -> Any:
    """POST /_matrix/client/v3/createRoom"""
    body = await read_json_body()
    create_request = CreateRoomRequest.from_body(body)
    room_id = await rooms().creator.create_room(requester.user_id, create_request)
    return json_response({"room_id": room_id})


@bp.route("/join/<path:room_id_or_alias>", methods=["POST"])
@authenticated
async def join_by_id_or_alias(requester: Requester, room_id_or_alias: str) -> Any:
    """POST /_matrix/client/v3/join/{roomIdOrAlias}"""
    body = await read_json_body(allow_empty=True)
    room_id = await rooms().resolve_room(room_id_or_alias)
    await rooms().membership.join(requester.user_id, room_id, _reason(body))
    return json_response({"room_id": room_id})


@bp.route("/rooms/<room_id>/join", methods=["POST"])
@authenticated
async def join_room(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/join"""
    body = await read_json_body(allow_empty=True)
    await rooms().membership.join(requester.user_id, _room_id(room_id), _reason(body))
    return json_response({"room_id": room_id})


@bp.route("/rooms/<room_id>/invite", methods=["POST"])
@authenticated
async def invite(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/invite"""
    body = await read_json_body()
    target = _target_user(body)
    await rooms().membership.invite(
        requester.user_id, _room_id(room_id), target, _reason(body)
    )
    return json_response({})


@bp.route("/rooms/<room_id>/leave", methods=["POST"])
@authenticated
async def leave(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/leave"""
    body = await read_json_body(allow_empty=True)
    room_id = _room_id(room_id)
    if await rooms().rooms.get(room_id) is None:
        raise NotFound(f"Unknown room {room_id}")
    await rooms().membership.leave(requester.user_id, room_id, _reason(body))
    return json_response({})


@bp.route("/rooms/<room_id>/forget", methods=["POST"])
@authenticated
async def forget(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/forget"""
    await read_json_body(allow_empty=True)
    await rooms().membership.forget(requester.user_id, _room_id(room_id))
    return json_response({})


@bp.route("/rooms/<room_id>/kick", methods=["POST"])
@authenticated
async def kick(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/kick"""
    body = await read_json_body()
    await rooms().membership.set_membership_of(
        requester.user_id, _room_id(room_id), _target_user(body), "leave", _reason(body)
    )
    return json_response({})


@bp.route("/rooms/<room_id>/ban", methods=["POST"])
@authenticated
async def ban(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/ban"""
    body = await read_json_body()
    await rooms().membership.set_membership_of(
        requester.user_id, _room_id(room_id), _target_user(body), "ban", _reason(body)
    )
    return json_response({})


@bp.route("/rooms/<room_id>/unban", methods=["POST"])
@authenticated
async def unban(requester: Requester, room_id: str) -> Any:
    """POST /_matrix/client/v3/rooms/{roomId}/unban"""
    body = await read_json_body()
    await rooms().membership.unban(
        requester.user_id, _room_id(room_id), _target_user(body), _reason(body)
    )
    return json_response({})


@bp.route("/joined_rooms", methods=["GET"])
@authenticated
async def joined_rooms(requester: Requester) -> Any:
    """GET /_matrix/client/v3/joined_rooms"""
    return json_response(
        {"joined_rooms": await rooms().reader.joined_rooms(requester.user_id)}
    )


@bp.route("/rooms/<room_id>/members", methods=["GET"])
@authenticated
async def members(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/members"""
    chunk = await rooms().reader.members(
        requester.user_id,
        _room_id(room_id),
        request.args.get("membership"),
        request.args.get("not_membership"),
    )
    return json_response({"chunk": chunk})


@bp.route("/rooms/<room_id>/joined_members", methods=["GET"])
@authenticated
async def joined_members(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
    return json_response(
        await rooms().reader.joined_members(requester.user_id, _room_id(room_id))
    )


@bp.route("/rooms/<room_id>/state", methods=["GET"])
@authenticated
async def get_state(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/state"""
    state = await rooms().reader.state_for_user(requester.user_id, _room_id(room_id))
    items = await rooms().events.get_many(event.event_id for event in state.values())
    return json_response([client_event(item) for item in items.values()])


@bp.route("/rooms/<room_id>/state/<event_type>", methods=["GET"])
@bp.route("/rooms/<room_id>/state/<event_type>/", methods=["GET"])
@bp.route("/rooms/<room_id>/state/<event_type>/<path:state_key>", methods=["GET"])
@authenticated
async def get_state_event(
    requester: Requester, room_id: str, event_type: str, state_key: str = ""
) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    state = await rooms().reader.state_for_user(requester.user_id, _room_id(room_id))
    event = state.get((event_type, state_key))
    if event is None:
        raise NotFound(f"No {event_type} state with key {state_key!r} in {room_id}")
    if request.args.get("format") == "event":
        item = await rooms().events.get(event.event_id)
        if item is None:
            raise NotFound("State event not found")
        return json_response(client_event(item))
    return json_response(event.content)


@bp.route("/rooms/<room_id>/state/<event_type>", methods=["PUT"])
@bp.route("/rooms/<room_id>/state/<event_type>/", methods=["PUT"])
@bp.route("/rooms/<room_id>/state/<event_type>/<path:state_key>", methods=["PUT"])
@authenticated
async def put_state_event(
    requester: Requester, room_id: str, event_type: str, state_key: str = ""
) -> Any:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    content = await read_json_body(allow_empty=False)
    services().limiters["message"].check(requester.user_id)
    item = await rooms().send_state(
        requester.user_id,
        requester.device_id,
        _room_id(room_id),
        event_type,
        state_key,
        content,
    )
    return json_response({"event_id": item.event.event_id})


@bp.route("/rooms/<room_id>/send/<event_type>/<txn_id>", methods=["PUT"])
@authenticated
async def send_message(
    requester: Requester, room_id: str, event_type: str, txn_id: str
) -> Any:
    """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"""
    content = await read_json_body(allow_empty=False)
    services().limiters["message"].check(requester.user_id)
    item = await rooms().send_message(
        requester.user_id,
        requester.device_id,
        _room_id(room_id),
        event_type,
        content,
        txn_id,
    )
    return json_response({"event_id": item.event.event_id})


@bp.route("/rooms/<room_id>/redact/<event_id>/<txn_id>", methods=["PUT"])
@authenticated
async def redact(requester: Requester, room_id: str, event_id: str, txn_id: str) -> Any:
    """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
    body = await read_json_body(allow_empty=True)
    content: dict[str, Any] = {}
    reason = _reason(body)
    if reason is not None:
        content["reason"] = reason
    services().limiters["message"].check(requester.user_id)
    item = await rooms().redact(
        requester.user_id,
        requester.device_id,
        _room_id(room_id),
        event_id,
        content,
        txn_id,
    )
    return json_response({"event_id": item.event.event_id})


@bp.route("/rooms/<room_id>/event/<event_id>", methods=["GET"])
@authenticated
async def get_event(requester: Requester, room_id: str, event_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
    return json_response(
        await rooms().reader.get_event(
            requester.user_id, requester.device_id, _room_id(room_id), event_id
        )
    )


def _room_event_filter() -> tuple[Any, bool]:
    """Parse the `filter` query parameter (a JSON RoomEventFilter).

    Returns (predicate or None, lazy_load_members).
    """
    raw = request.args.get("filter")
    if not raw:
        return None, False
    data = parse_client_json(raw, "filter")
    if not isinstance(data, dict):
        raise BadJSON("filter must be a JSON object")
    room_filter = RoomEventFilter.parse(data)
    return room_filter.matches, room_filter.lazy_load_members


@bp.route("/rooms/<room_id>/messages", methods=["GET"])
@authenticated
async def messages(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/messages"""
    direction = request.args.get("dir", "b")
    if direction not in ("b", "f"):
        raise InvalidParam("dir must be 'b' or 'f'")
    limit = query_int("limit", 10, minimum=0, maximum=_MAX_MESSAGES_LIMIT)
    matches, lazy = _room_event_filter()
    body = await rooms().reader.messages(
        requester.user_id,
        requester.device_id,
        _room_id(room_id),
        request.args.get("from"),
        request.args.get("to"),
        direction,
        limit,
        matches,
        lazy,
    )
    return json_response(body)


@bp.route("/rooms/<room_id>/context/<event_id>", methods=["GET"])
@authenticated
async def context(requester: Requester, room_id: str, event_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
    limit = query_int("limit", 10, minimum=0, maximum=100)
    matches, lazy = _room_event_filter()
    body = await rooms().reader.context(
        requester.user_id,
        requester.device_id,
        _room_id(room_id),
        event_id,
        limit,
        matches,
        lazy,
    )
    return json_response(body)


@bp.route("/directory/room/<path:alias>", methods=["GET"])
async def resolve_alias(alias: str) -> Any:
    """GET /_matrix/client/v3/directory/room/{roomAlias}"""
    room_id, servers = await rooms().aliases.resolve(alias)
    return json_response({"room_id": room_id, "servers": servers})


@bp.route("/directory/room/<path:alias>", methods=["PUT"])
@authenticated
async def create_alias(requester: Requester, alias: str) -> Any:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
    body = await read_json_body()
    room_id = require_str(body, "room_id")
    assert room_id is not None
    snapshot = await rooms().rooms.get(room_id)
    if snapshot is None:
        raise NotFound(f"Unknown room {room_id}")
    if requester.user_id not in snapshot.joined and not requester.is_admin:
        raise Forbidden("You must be in the room to give it an alias")
    await rooms().aliases.create_alias(alias, room_id, requester.user_id)
    return json_response({})


@bp.route("/directory/room/<path:alias>", methods=["DELETE"])
@authenticated
async def delete_alias(requester: Requester, alias: str) -> Any:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
    await rooms().aliases.delete_alias(alias, requester.user_id, requester.is_admin)
    return json_response({})


@bp.route("/rooms/<room_id>/aliases", methods=["GET"])
@authenticated
async def room_aliases(requester: Requester, room_id: str) -> Any:
    """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
    await rooms().reader.state_for_user(requester.user_id, _room_id(room_id))
    return json_response({"aliases": await rooms().aliases.aliases_of_room(room_id)})


@bp.route("/directory/list/room/<room_id>", methods=["GET"])
async def get_room_visibility(room_id: str) -> Any:
    """GET /_matrix/client/v3/directory/list/room/{roomId}"""
    visibility = await rooms().aliases.get_visibility(room_id)
    return json_response({"visibility": visibility})


@bp.route("/directory/list/room/<room_id>", methods=["PUT"])
@authenticated
async def set_room_visibility(requester: Requester, room_id: str) -> Any:
    """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
    body = await read_json_body()
    visibility = body.get("visibility", "public")
    if not isinstance(visibility, str):
        raise BadJSON("visibility must be a string")
    await rooms().aliases.set_visibility(
        room_id, requester.user_id, requester.is_admin, visibility
    )
    return json_response({})


@bp.route("/publicRooms", methods=["GET"])
async def public_rooms() -> Any:
    """GET /_matrix/client/v3/publicRooms"""
    limit = query_int("limit", 0, minimum=0)
    body = await rooms().aliases.public_rooms(
        limit or None, request.args.get("since"), None
    )
    return json_response(body)


@bp.route("/publicRooms", methods=["POST"])
@authenticated
async def search_public_rooms(requester: Requester) -> Any:
    """POST /_matrix/client/v3/publicRooms"""
    body = await read_json_body(allow_empty=True)
    limit = body.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise BadJSON("limit must be a non-negative integer")
    since = body.get("since")
    if since is not None and not isinstance(since, str):
        raise BadJSON("since must be a string")
    search = body.get("filter", {})
    if not isinstance(search, dict):
        raise BadJSON("filter must be an object")
    term = search.get("generic_search_term")
    if term is not None and not isinstance(term, str):
        raise BadJSON("generic_search_term must be a string")
    return json_response(await rooms().aliases.public_rooms(limit, since, term))


def install(app: Quart, services_: Any) -> None:
    aliases = AliasDirectory(services_.db, services_.room_cache, services_.config.server_name)
    membership = MembershipHandler(
        services_.db,
        services_.pipeline,
        services_.room_cache,
        DatabaseProfiles(services_.db),
        services_.config.server_name,
        services_.user_rooms,
    )
    creator = RoomCreator(
        services_.pipeline,
        services_.config.server_name,
        services_.config.default_room_version,
        aliases,
        membership,
    )
    reader = RoomReader(
        services_.db,
        services_.events,
        services_.state,
        services_.room_cache,
        services_.notifier,
    )
    room_service = RoomService(
        services_.pipeline,
        services_.room_cache,
        services_.events,
        creator,
        membership,
        aliases,
        reader,
    )
    e2ee = services_.components.get("e2ee")
    if e2ee is not None:
        # Room encryption, once on, may not be turned off or changed.
        room_service.state_checks.append(e2ee.check_state_event)
    services_.components["rooms"] = room_service
    app.register_blueprint(bp)
