"""Room creation: `POST /createRoom` turned into the room's first events.

Spec: Client-Server API, "Creation". The events are sent in the order the spec lists:
create, the creator's join, power levels, canonical alias, the preset's join rules,
history visibility and guest access, `initial_state`, name, topic, then the invites.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from homeserver.errors import BadJSON, InvalidParam, RoomInUse, UnsupportedRoomVersion
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.identifiers import is_valid_user_id
from homeserver.rooms.pipeline import EventPipeline, ExtraWrite
from homeserver.storage.database import Transaction

logger = logging.getLogger(__name__)

PRESETS = ("private_chat", "public_chat", "trusted_private_chat")

# State the createRoom handler sends itself; `initial_state` may not override these.
_RESERVED_INITIAL_STATE = {"m.room.create", "m.room.power_levels", "m.room.member"}


@dataclass
class CreateRoomRequest:
    """A validated `POST /createRoom` body."""

    visibility: str = "private"
    preset: str | None = None
    room_version: str | None = None
    name: str | None = None
    topic: str | None = None
    room_alias_name: str | None = None
    invite: list[str] = field(default_factory=list)
    is_direct: bool = False
    creation_content: dict[str, Any] = field(default_factory=dict)
    initial_state: list[dict[str, Any]] = field(default_factory=list)
    power_level_content_override: dict[str, Any] | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> CreateRoomRequest:
        request = cls()
        visibility = body.get("visibility", "private")
        if visibility not in ("public", "private"):
            raise BadJSON("visibility must be 'public' or 'private'")
        request.visibility = visibility
        preset = body.get("preset")
        if preset is not None and preset not in PRESETS:
            raise BadJSON(f"preset must be one of {', '.join(PRESETS)}")
        request.preset = preset
        for key in ("room_version", "name", "topic", "room_alias_name"):
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise BadJSON(f"{key} must be a string")
            setattr(request, key, value)
        invite = body.get("invite", [])
        if not isinstance(invite, list) or not all(isinstance(u, str) for u in invite):
            raise BadJSON("invite must be a list of user IDs")
        for user_id in invite:
            if not is_valid_user_id(user_id):
                raise InvalidParam(f"Invalid user ID in invite: {user_id!r}")
        request.invite = invite
        is_direct = body.get("is_direct", False)
        if not isinstance(is_direct, bool):
            raise BadJSON("is_direct must be a boolean")
        request.is_direct = is_direct
        creation_content = body.get("creation_content", {})
        if not isinstance(creation_content, dict):
            raise BadJSON("creation_content must be an object")
        request.creation_content = creation_content
        initial_state = body.get("initial_state", [])
        if not isinstance(initial_state, list):
            raise BadJSON("initial_state must be a list of state events")
        for entry in initial_state:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("type"), str)
                or not isinstance(entry.get("content"), dict)
                or not isinstance(entry.get("state_key", ""), str)
            ):
                raise BadJSON("each initial_state entry needs type, content, state_key")
        request.initial_state = initial_state
        override = body.get("power_level_content_override")
        if override is not None and not isinstance(override, dict):
            raise BadJSON("power_level_content_override must be an object")
        request.power_level_content_override = override
        return request


def default_power_levels(
    creator: str, version: RoomVersion, preset: str, invitees: list[str]
) -> dict[str, Any]:
    """Return the power levels a new room starts with, before any override."""
    users: dict[str, int] = {}
    # Since v12 creators have infinite power and may not be listed in `users`.
    if not version.privileged_creators:
        users[creator] = 100
    if preset == "trusted_private_chat":
        for user_id in invitees:
            users[user_id] = 100
    return {
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0 if preset != "public_chat" else 50,
        "historical": 100,
    }


def _preset_state(preset: str) -> list[tuple[str, dict[str, Any]]]:
    join_rule = "public" if preset == "public_chat" else "invite"
    guest_access = "forbidden" if preset == "public_chat" else "can_join"
    return [
        ("m.room.join_rules", {"join_rule": join_rule}),
        ("m.room.history_visibility", {"history_visibility": "shared"}),
        ("m.room.guest_access", {"guest_access": guest_access}),
    ]


class RoomCreator:
    """Turns a createRoom request into the room's first events."""

    def __init__(
        self,
        pipeline: EventPipeline,
        server_name: str,
        default_room_version: str,
        aliases: Any,
        membership: Any,
    ) -> None:
        self._pipeline = pipeline
        self._server_name = server_name
        self._default_room_version = default_room_version
        self._aliases = aliases
        self._membership = membership

    async def create_room(self, creator: str, request: CreateRoomRequest) -> str:
        """Create the room and return its ID."""
        version_id = request.room_version or self._default_room_version
        version = KNOWN_ROOM_VERSIONS.get(version_id)
        if version is None:
            raise UnsupportedRoomVersion(f"Room version {version_id!r} is not supported")

        alias = None
        if request.room_alias_name is not None:
            alias = self._aliases.make_local_alias(request.room_alias_name)
            if await self._aliases.resolve_local(alias) is not None:
                raise RoomInUse(f"Room alias {alias} is already in use")

        preset = request.preset or (
            "public_chat" if request.visibility == "public" else "private_chat"
        )
        create_content = copy.deepcopy(request.creation_content)
        create_content["room_version"] = version.identifier
        if version.implicit_room_creator:
            create_content.pop("creator", None)
        else:
            create_content["creator"] = creator
        if version.privileged_creators and "additional_creators" in create_content:
            extra = create_content["additional_creators"]
            if not isinstance(extra, list) or not all(
                isinstance(u, str) and is_valid_user_id(u) for u in extra
            ):
                raise BadJSON("additional_creators must be a list of user IDs")

        is_public = request.visibility == "public"

        def room_row(room_id: str) -> list[ExtraWrite]:
            async def write(txn: Transaction) -> None:
                await txn.execute(
                    "INSERT INTO rooms (room_id, room_version, creator, is_public,"
                    " created_ts) VALUES (?, ?, ?, ?, ?)",
                    (
                        room_id,
                        version.identifier,
                        creator,
                        int(is_public),
                        int(time.time() * 1000),
                    ),
                )

            return [write]

        create_event = await self._pipeline.create_room(
            version, creator, create_content, room_row
        )
        room_id = create_event.event.room_id
        logger.info("Created room %s (version %s) for %s", room_id, version_id, creator)

        send = self._pipeline.send
        member_content = await self._membership.own_member_content(creator, "join")
        await send(room_id, creator, "m.room.member", member_content, creator)

        power_levels = default_power_levels(creator, version, preset, request.invite)
        if request.power_level_content_override:
            power_levels.update(copy.deepcopy(request.power_level_content_override))
        await send(room_id, creator, "m.room.power_levels", power_levels, "")

        if alias is not None:
            await self._aliases.create_alias(alias, room_id, creator)
            await send(
                room_id, creator, "m.room.canonical_alias", {"alias": alias}, ""
            )

        initial = {
            (entry["type"], entry.get("state_key", "")): entry["content"]
            for entry in request.initial_state
            if entry["type"] not in _RESERVED_INITIAL_STATE
        }
        for event_type, content in _preset_state(preset):
            if (event_type, "") not in initial:
                await send(room_id, creator, event_type, content, "")
        for (event_type, state_key), content in initial.items():
            await send(room_id, creator, event_type, content, state_key)

        if request.name is not None:
            await send(room_id, creator, "m.room.name", {"name": request.name}, "")
        if request.topic is not None:
            await send(room_id, creator, "m.room.topic", {"topic": request.topic}, "")

        for invitee in request.invite:
            await self._membership.invite(
                creator, room_id, invitee, is_direct=request.is_direct
            )
        return room_id
