"""The current state of each active room, held in memory.

The event pipeline builds and authorises new events against a `RoomSnapshot` instead of
querying the database: current state events, forward extremities, the highest depth and
the joined members. Snapshots are loaded on first use and kept for the most recently used
rooms; the pipeline updates them as it accepts events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from homeserver.events.event import Event
from homeserver.events.room_versions import RoomVersion
from homeserver.storage.database import Database
from homeserver.storage.events import EventStore
from homeserver.storage.state import StateKey, StateStore

logger = logging.getLogger(__name__)

_ROOM_CACHE_SIZE = 5_000


@dataclass
class RoomSnapshot:
    """A room's current state, as the pipeline builds events against it."""

    room_id: str
    version: RoomVersion
    state: dict[StateKey, Event]
    forward_extremities: list[str]
    max_depth: int
    # The state group of the current state once the latest accepted event is persisted.
    state_group: int | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    joined: set[str] = field(default_factory=set)
    invited: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for (event_type, state_key), event in self.state.items():
            if event_type == "m.room.member":
                self._track_membership(state_key, event.membership)

    def get(self, event_type: str, state_key: str = "") -> Event | None:
        return self.state.get((event_type, state_key))

    def membership_of(self, user_id: str) -> str | None:
        event = self.state.get(("m.room.member", user_id))
        return event.membership if event is not None else None

    def apply(self, event: Event) -> None:
        """Make a newly accepted event the room's latest event."""
        self.forward_extremities = [event.event_id]
        self.max_depth = max(self.max_depth, event.depth)
        if event.is_state():
            assert event.state_key is not None
            self.state[(event.type, event.state_key)] = event
            if event.type == "m.room.member":
                self._track_membership(event.state_key, event.membership)

    def _track_membership(self, user_id: str, membership: str | None) -> None:
        self.joined.discard(user_id)
        self.invited.discard(user_id)
        if membership == "join":
            self.joined.add(user_id)
        elif membership == "invite":
            self.invited.add(user_id)

    def interested_users(self) -> set[str]:
        """Users whose sync may show a new event in this room."""
        return self.joined | self.invited


class RoomCache:
    """Loads and keeps `RoomSnapshot`s, least recently used dropped first."""

    def __init__(self, db: Database, events: EventStore, state: StateStore) -> None:
        self._db = db
        self._events = events
        self._state = state
        self._rooms: OrderedDict[str, RoomSnapshot] = OrderedDict()
        self._loading: dict[str, asyncio.Future[RoomSnapshot | None]] = {}

    def put(self, snapshot: RoomSnapshot) -> None:
        self._rooms[snapshot.room_id] = snapshot
        self._rooms.move_to_end(snapshot.room_id)
        self._evict()

    def _evict(self) -> None:
        while len(self._rooms) > _ROOM_CACHE_SIZE:
            room_id, snapshot = next(iter(self._rooms.items()))
            if snapshot.lock.locked():
                # A room being written stays; retry on the next insert.
                self._rooms.move_to_end(room_id)
                return
            del self._rooms[room_id]

    def drop(self, room_id: str) -> None:
        """Forget a room so the next use reloads it from the database."""
        self._rooms.pop(room_id, None)

    async def get(self, room_id: str) -> RoomSnapshot | None:
        """Return the room's snapshot, or None if this server does not know the room."""
        snapshot = self._rooms.get(room_id)
        if snapshot is not None:
            self._rooms.move_to_end(room_id)
            return snapshot
        pending = self._loading.get(room_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RoomSnapshot | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._loading[room_id] = future
        try:
            snapshot = await self._load(room_id)
            if snapshot is not None:
                self.put(snapshot)
            future.set_result(snapshot)
            return snapshot
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # Mark it retrieved when nobody else waits.
            raise
        finally:
            del self._loading[room_id]

    async def _load(self, room_id: str) -> RoomSnapshot | None:
        version = await self._events.room_version(room_id)
        if version is None:
            return None
        row = await self._db.fetchone(
            "SELECT state_group, max_depth FROM room_current_state WHERE room_id = ?",
            (room_id,),
        )
        if row is None:
            return None
        group = await self._state.get_group(row["state_group"])
        await self._state.ensure_keys_loaded(set(group))
        items = await self._events.get_by_nids(group.values())
        state: dict[StateKey, Event] = {}
        for key_id, nid in group.items():
            item = items.get(nid)
            if item is None:
                logger.error("State event nid %s of room %s is missing", nid, room_id)
                continue
            state[self._state.key_for_id(key_id)] = item.event
        extremities = [
            r["event_id"]
            for r in await self._db.fetchall(
                "SELECT event_id FROM forward_extremities WHERE room_id = ?",
                (room_id,),
            )
        ]
        return RoomSnapshot(
            room_id=room_id,
            version=version,
            state=state,
            forward_extremities=extremities,
            max_depth=row["max_depth"],
            state_group=row["state_group"],
        )
