"""Per-user account data: global and per-room, including room tags.

Spec: Client-Server API, "Client Config", "Room Tagging" and "Fully read markers".
Each row of `account_data` is the latest content of one `(user, room, type)`, and
global data uses the empty string as its room. Every write moves the row to a new
position of the `account_data` stream, so `/sync` returns the rows whose position is
after its token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from homeserver.errors import MatrixError
from homeserver.notifier import Notifier
from homeserver.storage.database import Database, Transaction
from homeserver.stream_ids import StreamIdAllocator

logger = logging.getLogger(__name__)

# Types whose content the server manages; clients change them through other endpoints.
SERVER_MANAGED_TYPES = frozenset({"m.fully_read", "m.push_rules"})

TAG_TYPE = "m.tag"
FULLY_READ_TYPE = "m.fully_read"
PUSH_RULES_TYPE = "m.push_rules"

# The room column value of global account data.
_GLOBAL = ""


class ServerManagedType(MatrixError):
    """405 M_BAD_JSON: a client tried to write a type the server manages."""

    def __init__(self, data_type: str) -> None:
        super().__init__(
            405,
            "M_BAD_JSON",
            f"Cannot set {data_type} through the account data API",
        )


class AccountDataStore:
    """Reads and writes account data and tags, and wakes the owner's `/sync`."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        push_rules_for: Callable[[str], dict[str, Any]] | None = None,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._stream = StreamIdAllocator(notifier, "account_data")
        # Builds the `m.push_rules` content, which is not stored while rules are
        # the server defaults.
        self._push_rules_for = push_rules_for

    async def load_position(self) -> None:
        await self._stream.load(self._db, "SELECT MAX(stream_id) FROM account_data")

    async def get(
        self, user_id: str, data_type: str, room_id: str | None = None
    ) -> dict[str, Any] | None:
        """Return the content of one type, or None if the user never set it."""
        content_json = await self._db.fetchvalue(
            "SELECT content FROM account_data"
            " WHERE user_id = ? AND room_id = ? AND type = ?",
            (user_id, room_id or _GLOBAL, data_type),
        )
        if content_json is not None:
            return json.loads(content_json)
        if data_type == PUSH_RULES_TYPE and room_id is None and self._push_rules_for:
            return self._push_rules_for(user_id)
        return None

    async def set_by_client(
        self,
        user_id: str,
        data_type: str,
        content: dict[str, Any],
        room_id: str | None = None,
    ) -> int:
        """Store content sent by a client; `ServerManagedType` for managed types."""
        if data_type in SERVER_MANAGED_TYPES:
            raise ServerManagedType(data_type)
        return await self.set(user_id, data_type, content, room_id)

    async def set(
        self,
        user_id: str,
        data_type: str,
        content: dict[str, Any],
        room_id: str | None = None,
    ) -> int:
        """Store `content` for one type and return its stream position."""
        async with self._db.transaction("set_account_data") as txn:
            position = await self.write(txn, user_id, data_type, content, room_id)
        return position

    async def write(
        self,
        txn: Transaction,
        user_id: str,
        data_type: str,
        content: dict[str, Any],
        room_id: str | None = None,
    ) -> int:
        """Store one type inside `txn` and notify the user once it commits."""
        position = self._stream.allocate()
        await txn.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream_id)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, room_id, type)"
            " DO UPDATE SET content = excluded.content, stream_id = excluded.stream_id",
            (user_id, room_id or _GLOBAL, data_type, json.dumps(content), position),
        )
        txn.call_after_commit(
            lambda: self._notifier.notify("account_data", position, [user_id])
        )
        logger.debug(
            "Stored account data %s for %s in room %s at %d",
            data_type,
            user_id,
            room_id,
            position,
        )
        return position

    async def get_tags(self, user_id: str, room_id: str) -> dict[str, Any]:
        content = await self.get(user_id, TAG_TYPE, room_id)
        tags = (content or {}).get("tags")
        return tags if isinstance(tags, dict) else {}

    async def set_tag(
        self, user_id: str, room_id: str, tag: str, tag_content: dict[str, Any]
    ) -> int:
        """Add or replace one tag in the room's `m.tag` content."""
        async with self._db.transaction("set_room_tag") as txn:
            tags = await self._read_tags(txn, user_id, room_id)
            tags[tag] = tag_content
            return await self.write(txn, user_id, TAG_TYPE, {"tags": tags}, room_id)

    async def remove_tag(self, user_id: str, room_id: str, tag: str) -> int | None:
        """Remove one tag; return None, writing nothing, if the room lacked it."""
        async with self._db.transaction("remove_room_tag") as txn:
            tags = await self._read_tags(txn, user_id, room_id)
            if tag not in tags:
                return None
            del tags[tag]
            return await self.write(txn, user_id, TAG_TYPE, {"tags": tags}, room_id)

    async def _read_tags(
        self, txn: Transaction, user_id: str, room_id: str
    ) -> dict[str, Any]:
        row = await txn.fetchone(
            "SELECT content FROM account_data"
            " WHERE user_id = ? AND room_id = ? AND type = ?",
            (user_id, room_id, TAG_TYPE),
        )
        if row is None:
            return {}
        tags = json.loads(row["content"]).get("tags")
        return dict(tags) if isinstance(tags, dict) else {}

    async def get_changes(
        self, user_id: str, since: int, upto: int
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Return the global and per-room account data written in (since, upto].

        `since == 0` returns everything, and then also the `m.push_rules` event while
        the user's rules are the unstored server defaults.
        """
        rows = await self._db.fetchall(
            "SELECT room_id, type, content FROM account_data"
            " WHERE user_id = ? AND stream_id > ? AND stream_id <= ?"
            " ORDER BY stream_id",
            (user_id, since, upto),
        )
        global_events: list[dict[str, Any]] = []
        room_events: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            event = {"type": row["type"], "content": json.loads(row["content"])}
            if row["room_id"] == _GLOBAL:
                global_events.append(event)
            else:
                room_events.setdefault(row["room_id"], []).append(event)
        has_push_rules = any(e["type"] == PUSH_RULES_TYPE for e in global_events)
        if since == 0 and not has_push_rules and self._push_rules_for is not None:
            global_events.append(
                {"type": PUSH_RULES_TYPE, "content": self._push_rules_for(user_id)}
            )
        return global_events, room_events
