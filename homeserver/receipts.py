"""Read receipts and the fully read marker.

Spec: Client-Server API, "Receipts" (including private and threaded read receipts) and
"Read and unread markers". A receipt is stored per `(room, type, user, thread)`; the
unthreaded receipt uses the empty string as its thread. `m.read.private` receipts go
only to their owner. `m.fully_read` is not a receipt: it is room account data.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from homeserver.account_data import FULLY_READ_TYPE, AccountDataStore
from homeserver.errors import Forbidden, InvalidParam, NotFound
from homeserver.notifier import Notifier
from homeserver.rooms.room_cache import RoomCache
from homeserver.storage.database import Database
from homeserver.storage.events import EventStore
from homeserver.stream_ids import StreamIdAllocator

logger = logging.getLogger(__name__)

READ = "m.read"
READ_PRIVATE = "m.read.private"
RECEIPT_TYPES = (READ, READ_PRIVATE)

# The thread column value of unthreaded receipts.
_UNTHREADED = ""


class ReceiptStore:
    """Stores receipts and read markers and wakes the `/sync` of the room's members."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        events: EventStore,
        room_cache: RoomCache,
        account_data: AccountDataStore,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._events = events
        self._room_cache = room_cache
        self._account_data = account_data
        self._stream = StreamIdAllocator(notifier, "receipts")

    async def load_position(self) -> None:
        await self._stream.load(self._db, "SELECT MAX(stream_id) FROM receipts")

    async def _check_member(self, room_id: str, user_id: str) -> set[str]:
        """Return the room's joined users; `Forbidden` unless `user_id` is one."""
        snapshot = await self._room_cache.get(room_id)
        if snapshot is None or user_id not in snapshot.joined:
            raise Forbidden(f"{user_id} is not joined to room {room_id}")
        return set(snapshot.joined)

    async def _check_event(self, room_id: str, event_id: str) -> Any:
        item = await self._events.get(event_id)
        if item is None or item.event.room_id != room_id:
            raise NotFound(f"Event {event_id} not found in room {room_id}")
        return item

    async def set_receipt(
        self,
        room_id: str,
        user_id: str,
        receipt_type: str,
        event_id: str,
        thread_id: str | None = None,
    ) -> int | None:
        """Move a user's receipt to `event_id` and return its stream position.

        Raises `Forbidden` if the user is not joined, `NotFound` for an event outside
        the room and `InvalidParam` for a `thread_id` the event is not in. A receipt
        never moves back to an older event: then nothing is written and None returned.
        """
        if receipt_type == FULLY_READ_TYPE:
            if thread_id is not None:
                raise InvalidParam("thread_id cannot be used with m.fully_read")
            await self.set_fully_read(room_id, user_id, event_id)
            return None
        if receipt_type not in RECEIPT_TYPES:
            raise InvalidParam(f"Unknown receipt type {receipt_type!r}")
        joined = await self._check_member(room_id, user_id)
        item = await self._check_event(room_id, event_id)
        if thread_id is not None:
            _check_thread(item.event.content, event_id, thread_id)

        data: dict[str, Any] = {"ts": int(time.time() * 1000)}
        if thread_id is not None:
            data["thread_id"] = thread_id
        async with self._db.transaction("set_receipt") as txn:
            previous = await txn.fetchone(
                "SELECT e.stream_ordering FROM receipts r"
                " JOIN events e ON e.event_id = r.event_id"
                " WHERE r.room_id = ? AND r.receipt_type = ? AND r.user_id = ?"
                " AND r.thread_id = ?",
                (room_id, receipt_type, user_id, thread_id or _UNTHREADED),
            )
            if previous is not None and previous[0] >= item.stream_ordering:
                return None
            position = self._stream.allocate()
            await txn.execute(
                "INSERT INTO receipts"
                " (room_id, receipt_type, user_id, thread_id, event_id, data,"
                " stream_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET"
                " event_id = excluded.event_id, data = excluded.data,"
                " stream_id = excluded.stream_id",
                (
                    room_id,
                    receipt_type,
                    user_id,
                    thread_id or _UNTHREADED,
                    event_id,
                    json.dumps(data),
                    position,
                ),
            )
            recipients = [user_id] if receipt_type == READ_PRIVATE else joined
            txn.call_after_commit(
                lambda: self._notifier.notify("receipts", position, recipients)
            )
        logger.debug(
            "Receipt %s of %s in %s moved to %s",
            receipt_type,
            user_id,
            room_id,
            event_id,
        )
        return position

    async def set_fully_read(self, room_id: str, user_id: str, event_id: str) -> int:
        """Store the `m.fully_read` room account data, after the receipt checks."""
        await self._check_member(room_id, user_id)
        await self._check_event(room_id, event_id)
        return await self._account_data.set(
            user_id, FULLY_READ_TYPE, {"event_id": event_id}, room_id
        )

    async def set_read_markers(
        self, room_id: str, user_id: str, markers: dict[str, str]
    ) -> None:
        """Apply `POST /read_markers` with `m.fully_read`, `m.read` or `m.read.private`.

        Every event is checked before anything is written, so a bad ID changes nothing.
        """
        await self._check_member(room_id, user_id)
        for event_id in markers.values():
            await self._check_event(room_id, event_id)
        for receipt_type in RECEIPT_TYPES:
            if receipt_type in markers:
                await self.set_receipt(
                    room_id, user_id, receipt_type, markers[receipt_type]
                )
        if FULLY_READ_TYPE in markers:
            await self._account_data.set(
                user_id,
                FULLY_READ_TYPE,
                {"event_id": markers[FULLY_READ_TYPE]},
                room_id,
            )

    async def get_for_rooms(
        self, room_ids: Iterable[str], since: int, upto: int, user_id: str
    ) -> dict[str, dict[str, Any]]:
        """Return an `m.receipt` event per room with receipts written in (since, upto].

        Private receipts of other users are left out; `since == 0` returns every
        current receipt of the rooms.
        """
        room_list = list(room_ids)
        result: dict[str, dict[str, Any]] = {}
        for start in range(0, len(room_list), 500):
            chunk = room_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                "SELECT room_id, receipt_type, user_id, event_id, data FROM receipts"
                f" WHERE room_id IN ({marks}) AND stream_id > ? AND stream_id <= ?"
                " AND (receipt_type != ? OR user_id = ?)"
                " ORDER BY stream_id",
                (*chunk, since, upto, READ_PRIVATE, user_id),
            )
            for row in rows:
                event = result.setdefault(
                    row["room_id"], {"type": "m.receipt", "content": {}}
                )
                by_type = event["content"].setdefault(row["event_id"], {})
                by_user = by_type.setdefault(row["receipt_type"], {})
                by_user[row["user_id"]] = json.loads(row["data"])
        return result


def _check_thread(content: Any, event_id: str, thread_id: str) -> None:
    """Reject a threaded receipt for an event whose own relation names another thread.

    An event with an `m.thread` relation is in the thread of that root. Events without
    one may still be in a thread through an indirect relation (a reaction to a thread
    reply), which would need the related events, so they pass for any thread.
    """
    if thread_id == "":
        raise InvalidParam("thread_id must be a non-empty string")
    relation = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.thread":
        return
    root = relation.get("event_id")
    if isinstance(root, str) and root != thread_id:
        raise InvalidParam(
            f"Event {event_id} is in thread {root}, not in thread {thread_id!r}"
        )
