"""Room aliases and the local public room directory.

Spec: Client-Server API, "Room aliases" and "Listing rooms". An alias may be deleted by its
creator, by a server admin, or by a room member whose power level allows changing
`m.room.canonical_alias`.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from homeserver.errors import BadJSON, Forbidden, InvalidParam, MatrixError, NotFound
from homeserver.events.power_levels import get_send_level, get_user_power_level
from homeserver.identifiers import is_valid_room_alias, server_name_of
from homeserver.rooms.room_cache import RoomCache
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)


class AliasDirectory:
    """Local room aliases and the public room list."""

    def __init__(self, db: Database, rooms: RoomCache, server_name: str) -> None:
        self._db = db
        self._rooms = rooms
        self._server_name = server_name

    def make_local_alias(self, localpart: str) -> str:
        alias = f"#{localpart}:{self._server_name}"
        if not localpart or ":" in localpart or not is_valid_room_alias(alias):
            raise BadJSON(f"Invalid room alias name {localpart!r}")
        if any(c.isspace() for c in localpart):
            raise BadJSON("Room alias names may not contain whitespace")
        return alias

    def check_alias(self, alias: str) -> None:
        if not is_valid_room_alias(alias):
            raise InvalidParam(f"Invalid room alias {alias!r}")

    async def resolve_local(self, alias: str) -> str | None:
        return await self._db.fetchvalue(
            "SELECT room_id FROM room_aliases WHERE room_alias = ?", (alias,)
        )

    async def resolve(self, alias: str) -> tuple[str, list[str]]:
        """Return (room ID, servers) for an alias; `NotFound` if unknown."""
        self.check_alias(alias)
        room_id = await self.resolve_local(alias)
        if room_id is None:
            # NOTE: aliases of other servers are resolved over federation, not yet here.
            raise NotFound(f"Room alias {alias} not found")
        return room_id, [self._server_name]

    async def create_alias(self, alias: str, room_id: str, creator: str) -> None:
        self.check_alias(alias)
        if server_name_of(alias) != self._server_name:
            raise InvalidParam("Aliases can only be created on this server")
        if await self._rooms.get(room_id) is None:
            raise NotFound(f"Unknown room {room_id}")
        async with self._db.transaction("create_room_alias") as txn:
            existing = await txn.fetchone(
                "SELECT 1 FROM room_aliases WHERE room_alias = ?", (alias,)
            )
            if existing is not None:
                # The directory API returns 409 here; createRoom checks the alias
                # first and returns M_ROOM_IN_USE itself.
                raise MatrixError(409, "M_UNKNOWN", f"Room alias {alias} already exists")
            await txn.execute(
                "INSERT INTO room_aliases (room_alias, room_id, creator) VALUES (?, ?, ?)",
                (alias, room_id, creator),
            )

    async def delete_alias(self, alias: str, user_id: str, is_admin: bool) -> None:
        self.check_alias(alias)
        row = await self._db.fetchone(
            "SELECT room_id, creator FROM room_aliases WHERE room_alias = ?", (alias,)
        )
        if row is None:
            raise NotFound(f"Room alias {alias} not found")
        if not is_admin and row["creator"] != user_id:
            snapshot = await self._rooms.get(row["room_id"])
            allowed = False
            if snapshot is not None and user_id in snapshot.joined:
                level = get_user_power_level(user_id, snapshot.state, snapshot.version)
                needed = get_send_level(
                    "m.room.canonical_alias",
                    "",
                    snapshot.get("m.room.power_levels"),
                    snapshot.version,
                )
                allowed = level >= needed
            if not allowed:
                raise Forbidden("You may not delete this alias")
        async with self._db.transaction("delete_room_alias") as txn:
            await txn.execute("DELETE FROM room_aliases WHERE room_alias = ?", (alias,))

    async def aliases_of_room(self, room_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias",
            (room_id,),
        )
        return [row[0] for row in rows]

    async def get_visibility(self, room_id: str) -> str:
        value = await self._db.fetchvalue(
            "SELECT is_public FROM rooms WHERE room_id = ?", (room_id,)
        )
        if value is None:
            raise NotFound(f"Unknown room {room_id}")
        return "public" if value else "private"

    async def set_visibility(
        self, room_id: str, user_id: str, is_admin: bool, visibility: str
    ) -> None:
        if visibility not in ("public", "private"):
            raise BadJSON("visibility must be 'public' or 'private'")
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            raise NotFound(f"Unknown room {room_id}")
        if not is_admin:
            if user_id not in snapshot.joined:
                raise Forbidden("You are not in this room")
            level = get_user_power_level(user_id, snapshot.state, snapshot.version)
            needed = get_send_level(
                "m.room.canonical_alias", "",
                snapshot.get("m.room.power_levels"), snapshot.version,
            )
            if level < needed:
                raise Forbidden("Your power level is too low to publish this room")
        async with self._db.transaction("set_room_visibility") as txn:
            await txn.execute(
                "UPDATE rooms SET is_public = ? WHERE room_id = ?",
                (int(visibility == "public"), room_id),
            )

    async def public_rooms(
        self, limit: int | None, since: str | None, search_term: str | None
    ) -> dict[str, Any]:
        """Return one page of the public room directory, largest rooms first."""
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE is_public = 1 ORDER BY room_id"
        )
        entries = []
        for row in rows:
            entry = await self._room_summary(row["room_id"])
            if entry is None:
                continue
            if search_term:
                needle = search_term.lower()
                haystack = " ".join(
                    str(entry.get(key, ""))
                    for key in ("name", "topic", "canonical_alias", "room_id")
                ).lower()
                if needle not in haystack:
                    continue
            entries.append(entry)
        entries.sort(key=lambda e: (-e["num_joined_members"], e["room_id"]))
        offset = _decode_since(since)
        page_size = limit if limit is not None and limit > 0 else len(entries) or 1
        chunk = entries[offset : offset + page_size]
        body: dict[str, Any] = {
            "chunk": chunk,
            "total_room_count_estimate": len(entries),
        }
        if offset + page_size < len(entries):
            body["next_batch"] = _encode_since(offset + page_size)
        if offset > 0:
            body["prev_batch"] = _encode_since(max(0, offset - page_size))
        return body

    async def _room_summary(self, room_id: str) -> dict[str, Any] | None:
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            return None

        def content_value(event_type: str, key: str) -> Any:
            event = snapshot.get(event_type)
            return event.content.get(key) if event is not None else None

        join_rule = content_value("m.room.join_rules", "join_rule") or "invite"
        entry: dict[str, Any] = {
            "room_id": room_id,
            "num_joined_members": len(snapshot.joined),
            "world_readable": content_value(
                "m.room.history_visibility", "history_visibility"
            )
            == "world_readable",
            "guest_can_join": content_value("m.room.guest_access", "guest_access")
            == "can_join",
            "join_rule": join_rule,
        }
        for key, (event_type, field) in {
            "name": ("m.room.name", "name"),
            "topic": ("m.room.topic", "topic"),
            "canonical_alias": ("m.room.canonical_alias", "alias"),
            "avatar_url": ("m.room.avatar", "url"),
        }.items():
            value = content_value(event_type, field)
            if isinstance(value, str) and value:
                entry[key] = value
        room_type = content_value("m.room.create", "type")
        if isinstance(room_type, str):
            entry["room_type"] = room_type
        return entry


def _encode_since(offset: int) -> str:
    raw = json.dumps({"offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_since(since: str | None) -> int:
    if not since:
        return 0
    try:
        padded = since + "=" * (-len(since) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidParam(f"Invalid pagination token {since!r}") from exc
    if not isinstance(offset, int) or offset < 0:
        raise InvalidParam(f"Invalid pagination token {since!r}")
    return offset
