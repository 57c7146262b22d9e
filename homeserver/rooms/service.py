"""The rooms feature: what the room routes call.

Bundles room creation, membership, aliases and reading, and adds the checks of sending
messages, state and redactions on behalf of a client.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from homeserver.errors import BadJSON, Forbidden, MatrixError, NotFound
from homeserver.events.power_levels import get_named_level, get_user_power_level
from homeserver.rooms.aliases import AliasDirectory
from homeserver.rooms.creation import RoomCreator
from homeserver.rooms.membership import MembershipHandler
from homeserver.rooms.pipeline import EventPipeline
from homeserver.rooms.reading import RoomReader
from homeserver.rooms.room_cache import RoomCache, RoomSnapshot
from homeserver.storage.events import EventStore, PersistedEvent

logger = logging.getLogger(__name__)

# Called before a client's state event is sent: (snapshot, type, state_key, content).
StateCheck = Callable[[RoomSnapshot, str, str, dict[str, Any]], None]


class RoomService:
    def __init__(
        self,
        pipeline: EventPipeline,
        rooms: RoomCache,
        events: EventStore,
        creator: RoomCreator,
        membership: MembershipHandler,
        aliases: AliasDirectory,
        reader: RoomReader,
    ) -> None:
        self.pipeline = pipeline
        self.rooms = rooms
        self.events = events
        self.creator = creator
        self.membership = membership
        self.aliases = aliases
        self.reader = reader
        self.state_checks: list[StateCheck] = []

    async def leave(self, user_id: str, room_id: str, reason: str | None = None) -> None:
        await self.membership.leave(user_id, room_id, reason)

    async def resolve_room(self, room_id_or_alias: str) -> str:
        if room_id_or_alias.startswith("#"):
            room_id, _ = await self.aliases.resolve(room_id_or_alias)
            return room_id
        if not room_id_or_alias.startswith("!"):
            raise BadJSON(f"Invalid room ID or alias {room_id_or_alias!r}")
        return room_id_or_alias

    async def send_message(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str | None,
    ) -> PersistedEvent:
        if event_type == "m.room.redaction":
            redacts = content.get("redacts")
            if not isinstance(redacts, str):
                raise BadJSON("m.room.redaction needs content.redacts")
            return await self.redact(user_id, device_id, room_id, redacts, content, txn_id)
        return await self.pipeline.send(
            room_id,
            user_id,
            event_type,
            content,
            device_id=device_id,
            txn_id=txn_id,
            precheck=_require_joined(user_id, room_id),
        )

    async def send_state(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        event_type: str,
        state_key: str,
        content: dict[str, Any],
    ) -> PersistedEvent:
        if event_type == "m.room.create":
            raise Forbidden("The create event cannot be replaced")
        if event_type == "m.room.member":
            # Membership changes go through the membership handler's checks.
            membership = content.get("membership")
            if state_key == user_id and membership == "join":
                return await self.membership.join(user_id, room_id, extra_content=content)
        checks = list(self.state_checks)

        async def precheck(snapshot: RoomSnapshot) -> None:
            _require_joined(user_id, room_id)(snapshot)
            for check in checks:
                check(snapshot, event_type, state_key, content)
            if event_type == "m.room.canonical_alias":
                await self._check_canonical_alias(room_id, content)

        return await self.pipeline.send(
            room_id, user_id, event_type, content, state_key, precheck=precheck
        )

    async def _check_canonical_alias(self, room_id: str, content: dict[str, Any]) -> None:
        aliases = []
        if "alias" in content:
            aliases.append(content["alias"])
        alt = content.get("alt_aliases", [])
        if not isinstance(alt, list):
            raise BadJSON("alt_aliases must be a list")
        aliases.extend(alt)
        for alias in aliases:
            if not isinstance(alias, str):
                raise BadJSON("Aliases must be strings")
            self.aliases.check_alias(alias)
            resolved = await self.aliases.resolve_local(alias)
            if resolved != room_id:
                raise MatrixError(
                    400, "M_BAD_ALIAS", f"Alias {alias} does not point to this room"
                )

    async def redact(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        event_id: str,
        content: dict[str, Any],
        txn_id: str | None,
    ) -> PersistedEvent:
        target = await self.events.get(event_id)
        if target is None or target.event.room_id != room_id:
            raise NotFound(f"Event {event_id} not found in {room_id}")
        content = dict(content)

        def precheck(snapshot: RoomSnapshot) -> None:
            _require_joined(user_id, room_id)(snapshot)
            if target.event.sender == user_id:
                return
            level = get_user_power_level(user_id, snapshot.state, snapshot.version)
            needed = get_named_level(
                "redact", snapshot.get("m.room.power_levels"), snapshot.version
            )
            if level < needed:
                raise Forbidden("Your power level is too low to redact others' events")

        snapshot = await self.rooms.get(room_id)
        if snapshot is not None and snapshot.version.redacts_in_content:
            content["redacts"] = event_id
        else:
            content.pop("redacts", None)
        return await self.pipeline.send(
            room_id,
            user_id,
            "m.room.redaction",
            content,
            device_id=device_id,
            txn_id=txn_id,
            redacts=event_id,
            precheck=precheck,
        )


def _require_joined(user_id: str, room_id: str) -> Callable[[RoomSnapshot], None]:
    def check(snapshot: RoomSnapshot) -> None:
        if user_id not in snapshot.joined:
            raise Forbidden(f"{user_id} is not joined to {room_id}")

    return check


