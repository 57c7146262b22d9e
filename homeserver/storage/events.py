"""Event rows: persisting events, fetching them by ID, and timeline queries.

Each event row stores the PDU as canonical JSON (`json`), local unsigned data for clients
(`unsigned`), its place in the event stream (`stream_ordering`) and the state groups before
and after it. A redacted event keeps only its pruned PDU: the original content is gone from
the database once the redaction is persisted.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from homeserver.events.canonical import encode_canonical_json
from homeserver.events.event import Event
from homeserver.events.room_versions import RoomVersion, get_room_version
from homeserver.storage.database import Database, Row, Transaction

logger = logging.getLogger(__name__)

_EVENT_CACHE_SIZE = 50_000
_RECENT_PER_ROOM = 64


@dataclass
class PersistedEvent:
    """An event with the bookkeeping the store keeps beside it."""

    event: Event
    stream_ordering: int
    nid: int = 0
    state_group_before: int | None = None
    state_group_after: int | None = None
    sender_device: str | None = None
    txn_id: str | None = None
    unsigned: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventRef:
    """The position of an event: its ID, nid, stream position and depth."""

    event_id: str
    nid: int
    stream_ordering: int
    depth: int


class EventStore:
    """Events by ID and nid, cached in memory; timeline and pagination queries."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[str, PersistedEvent] = OrderedDict()
        self._nid_to_id: dict[int, str] = {}
        self._room_versions: dict[str, RoomVersion] = {}
        # The stream position of each room's newest event, for rooms written or read
        # since start-up.
        self._room_latest: dict[str, int] = {}
        # Each room's newest events committed since start-up. A room's deque contains
        # every event of the room from its first item on, so incremental syncs can
        # read new events without a query.
        self._recent: dict[str, deque[PersistedEvent]] = {}

    async def max_stream_ordering(self) -> int:
        return await self._db.fetchvalue("SELECT MAX(stream_ordering) FROM events", (), 0)

    async def max_nid(self) -> int:
        return await self._db.fetchvalue("SELECT MAX(nid) FROM events", (), 0)

    def remember_room_version(self, room_id: str, version: RoomVersion) -> None:
        self._room_versions[room_id] = version

    async def room_version(self, room_id: str) -> RoomVersion | None:
        version = self._room_versions.get(room_id)
        if version is not None:
            return version
        identifier = await self._db.fetchvalue(
            "SELECT room_version FROM rooms WHERE room_id = ?", (room_id,)
        )
        if identifier is None:
            return None
        version = get_room_version(identifier)
        if version is not None:
            self._room_versions[room_id] = version
        return version

    async def insert(self, txn: Transaction, items: Sequence[PersistedEvent]) -> None:
        """Insert the rows of new events; each item's `nid` must already be assigned."""
        rows = []
        for item in items:
            event = item.event
            rows.append(
                (
                    item.nid,
                    event.event_id,
                    event.room_id,
                    item.stream_ordering,
                    event.depth,
                    event.type,
                    event.state_key,
                    event.sender,
                    event.origin_server_ts,
                    encode_canonical_json(event.pdu).decode("utf-8"),
                    _stored_unsigned(item.unsigned),
                    item.state_group_before,
                    item.state_group_after,
                    item.sender_device,
                    item.txn_id,
                )
            )
        await txn.executemany(
            "INSERT INTO events (nid, event_id, room_id, stream_ordering, depth, type,"
            " state_key, sender, origin_server_ts, json, unsigned,"
            " state_group_before, state_group_after, sender_device, txn_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def cache_persisted(self, items: Iterable[PersistedEvent]) -> None:
        """Remember newly committed events, in stream order."""
        for item in items:
            self._remember(item)
            room_id = item.event.room_id
            self._room_latest[room_id] = item.stream_ordering
            recent = self._recent.get(room_id)
            if recent is None:
                recent = self._recent[room_id] = deque(maxlen=_RECENT_PER_ROOM)
            recent.append(item)

    def _remember(self, item: PersistedEvent) -> None:
        event_id = item.event.event_id
        self._cache[event_id] = item
        self._cache.move_to_end(event_id)
        self._nid_to_id[item.nid] = event_id
        if len(self._cache) > _EVENT_CACHE_SIZE:
            _, dropped = self._cache.popitem(last=False)
            self._nid_to_id.pop(dropped.nid, None)

    def invalidate(self, event_id: str) -> None:
        item = self._cache.pop(event_id, None)
        if item is not None:
            self._nid_to_id.pop(item.nid, None)

    _COLUMNS = (
        "nid, event_id, room_id, stream_ordering, json, unsigned, redacted_by,"
        " state_group_before, state_group_after, sender_device, txn_id"
    )

    async def _row_to_item(self, row: Row) -> PersistedEvent | None:
        version = await self.room_version(row["room_id"])
        if version is None:
            logger.warning("Event %s is in unknown room %s", row["event_id"], row["room_id"])
            return None
        event = Event(json.loads(row["json"]), version, row["event_id"])
        unsigned = json.loads(row["unsigned"]) if row["unsigned"] else {}
        event.unsigned = unsigned
        return PersistedEvent(
            event=event,
            stream_ordering=row["stream_ordering"],
            nid=row["nid"],
            state_group_before=row["state_group_before"],
            state_group_after=row["state_group_after"],
            sender_device=row["sender_device"],
            txn_id=row["txn_id"],
            unsigned=unsigned,
        )

    async def get(self, event_id: str) -> PersistedEvent | None:
        found = await self.get_many([event_id])
        return found.get(event_id)

    async def get_many(self, event_ids: Iterable[str]) -> dict[str, PersistedEvent]:
        """Fetch events by ID; IDs that are not stored are left out of the result."""
        result: dict[str, PersistedEvent] = {}
        missing = []
        for event_id in event_ids:
            item = self._cache.get(event_id)
            if item is not None:
                result[event_id] = item
            else:
                missing.append(event_id)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT {self._COLUMNS} FROM events WHERE event_id IN ({marks})", chunk
            )
            for item in await self._load_rows(rows):
                result[item.event.event_id] = item
        return result

    async def get_by_nids(self, nids: Iterable[int]) -> dict[int, PersistedEvent]:
        result: dict[int, PersistedEvent] = {}
        missing = []
        for nid in nids:
            event_id = self._nid_to_id.get(nid)
            item = self._cache.get(event_id) if event_id is not None else None
            if item is not None:
                result[nid] = item
            else:
                missing.append(nid)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT {self._COLUMNS} FROM events WHERE nid IN ({marks})", chunk
            )
            for item in await self._load_rows(rows):
                result[item.nid] = item
        return result

    async def get_ref(self, event_id: str) -> EventRef | None:
        item = self._cache.get(event_id)
        if item is not None:
            return EventRef(event_id, item.nid, item.stream_ordering, item.event.depth)
        row = await self._db.fetchone(
            "SELECT nid, stream_ordering, depth FROM events WHERE event_id = ?",
            (event_id,),
        )
        if row is None:
            return None
        return EventRef(event_id, row["nid"], row["stream_ordering"], row["depth"])

    async def room_events_between(
        self,
        room_id: str,
        after: int,
        upto: int,
        limit: int,
    ) -> list[PersistedEvent]:
        """Return up to `limit` of the newest events with after < stream <= upto, oldest first."""
        recent = self._recent.get(room_id)
        if recent and recent[0].stream_ordering <= after + 1:
            # Every event after `after` is in memory.
            found = [
                item for item in recent if after < item.stream_ordering <= upto
            ]
            return found[-limit:] if limit else []
        rows = await self._db.fetchall(
            f"SELECT {self._COLUMNS} FROM events"
            " WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ?"
            " ORDER BY stream_ordering DESC LIMIT ?",
            (room_id, after, upto, limit),
        )
        return await self._rows_to_items(reversed(rows))

    async def _rows_to_items(self, rows: Iterable[Row]) -> list[PersistedEvent]:
        """Turn rows into events in the same order, preferring cached copies."""
        rows = list(rows)
        loaded = {
            item.event.event_id: item
            for item in await self._load_rows(
                row for row in rows if row["event_id"] not in self._cache
            )
        }
        items = []
        for row in rows:
            item = self._cache.get(row["event_id"]) or loaded.get(row["event_id"])
            if item is not None:
                items.append(item)
        return items

    async def _load_rows(self, rows: Iterable[Row]) -> list[PersistedEvent]:
        """Build events from rows, restore their `prev_content` and cache them."""
        items = [item for row in rows if (item := await self._row_to_item(row))]
        replaced_ids = [
            item.unsigned["replaces_state"]
            for item in items
            if "replaces_state" in item.unsigned
        ]
        if replaced_ids:
            replaced = await self.get_many(replaced_ids)
            for item in items:
                previous = replaced.get(item.unsigned.get("replaces_state", ""))
                if previous is not None:
                    item.unsigned["prev_content"] = previous.event.content
                    item.unsigned["prev_sender"] = previous.event.sender
        for item in items:
            self._remember(item)
        return items

    async def paginate(
        self,
        room_id: str,
        depth: int,
        stream: int,
        backwards: bool,
        limit: int,
        max_stream: int,
    ) -> list[PersistedEvent]:
        """Page through a room in topological order, (depth, stream) from the token.

        Backwards returns events strictly before (depth, stream), newest first; forwards
        returns events strictly after it, oldest first.
        """
        if backwards:
            sql = (
                f"SELECT {self._COLUMNS} FROM events WHERE room_id = ?"
                " AND (depth < ? OR (depth = ? AND stream_ordering < ?))"
                " AND stream_ordering <= ?"
                " ORDER BY depth DESC, stream_ordering DESC LIMIT ?"
            )
        else:
            sql = (
                f"SELECT {self._COLUMNS} FROM events WHERE room_id = ?"
                " AND (depth > ? OR (depth = ? AND stream_ordering > ?))"
                " AND stream_ordering <= ?"
                " ORDER BY depth ASC, stream_ordering ASC LIMIT ?"
            )
        rows = await self._db.fetchall(
            sql, (room_id, depth, depth, stream, max_stream, limit)
        )
        return await self._rows_to_items(rows)

    async def last_event_at_or_before(
        self, room_id: str, stream_ordering: int
    ) -> PersistedEvent | None:
        rows = await self._db.fetchall(
            f"SELECT {self._COLUMNS} FROM events WHERE room_id = ?"
            " AND stream_ordering <= ? ORDER BY stream_ordering DESC LIMIT 1",
            (room_id, stream_ordering),
        )
        items = await self._rows_to_items(rows)
        return items[0] if items else None

    async def rooms_with_events_since(
        self, room_ids: Iterable[str], since: int, upto: int
    ) -> set[str]:
        """Return the rooms among `room_ids` with an event in (since, upto]."""
        found: set[str] = set()
        unknown: list[str] = []
        for room_id in room_ids:
            latest = self._room_latest.get(room_id)
            if latest is None:
                unknown.append(room_id)
            elif latest > since and self._has_event_between(room_id, since, upto):
                found.add(room_id)
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                "SELECT room_id, MAX(stream_ordering) FROM events"
                f" WHERE room_id IN ({marks}) GROUP BY room_id",
                chunk,
            )
            for room_id, latest in rows:
                # Another writer may have moved it on while the query ran.
                self._room_latest[room_id] = max(
                    latest, self._room_latest.get(room_id, 0)
                )
            rows = await self._db.fetchall(
                "SELECT DISTINCT room_id FROM events WHERE stream_ordering > ?"
                f" AND stream_ordering <= ? AND room_id IN ({marks})",
                [since, upto, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def _has_event_between(self, room_id: str, since: int, upto: int) -> bool:
        """Check a room whose newest event is after `since` for one in (since, upto]."""
        recent = self._recent.get(room_id)
        if recent and recent[0].stream_ordering <= since + 1:
            return any(since < item.stream_ordering <= upto for item in recent)
        # Without the events in memory, return True: at worst the room shows up in a
        # sync response with an empty timeline.
        return True

    async def apply_redaction(
        self, txn: Transaction, target: PersistedEvent, redaction: Event
    ) -> None:
        """Replace the stored PDU of `target` by its pruned form, keeping no content."""
        pruned = target.event.redacted_copy()
        unsigned = dict(target.unsigned)
        unsigned.pop("prev_content", None)
        unsigned["redacted_because"] = {
            "event_id": redaction.event_id,
            "sender": redaction.sender,
            "type": redaction.type,
            "content": redaction.content,
            "origin_server_ts": redaction.origin_server_ts,
            "unsigned": {},
        }
        if redaction.redacts and not redaction.room_version.redacts_in_content:
            unsigned["redacted_because"]["redacts"] = redaction.redacts
        await txn.execute(
            "UPDATE events SET json = ?, unsigned = ?, redacted_by = ? WHERE nid = ?",
            (
                encode_canonical_json(pruned.pdu).decode("utf-8"),
                _stored_unsigned(unsigned),
                redaction.event_id,
                target.nid,
            ),
        )
        txn.call_after_commit(lambda: self._invalidate_room_after_redaction(target))

    def _invalidate_room_after_redaction(self, target: PersistedEvent) -> None:
        room_id = target.event.room_id
        # The deque may hold the unredacted event; reload the room's events from disk.
        self._recent.pop(room_id, None)
        stale = [
            event_id
            for event_id, item in self._cache.items()
            if event_id == target.event.event_id
            or (
                item.event.room_id == room_id
                and item.unsigned.get("replaces_state") == target.event.event_id
            )
        ]
        for event_id in stale:
            self.invalidate(event_id)


# Unsigned keys that are rebuilt on load instead of stored: `prev_content` and
# `prev_sender` copy the replaced state event, found through `replaces_state`.
_DERIVED_UNSIGNED = ("prev_content", "prev_sender")


def _stored_unsigned(unsigned: dict[str, Any]) -> str | None:
    stored = {k: v for k, v in unsigned.items() if k not in _DERIVED_UNSIGNED}
    return json.dumps(stored, separators=(",", ":")) if stored else None
