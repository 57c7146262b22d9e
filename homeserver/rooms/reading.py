"""Reading rooms: state, members, single events, `/messages` and `/context`.

A user who is joined reads the current state; a user who has left reads the room as it
was when they left. Timelines pass through the history-visibility filter.

Pagination tokens are topological: `t<depth>_<stream>` names the position just before the
event with that depth and stream ordering, so paginating backwards from it starts with the
event before that one and paginating forwards starts with that event. `/messages` also
accepts a `/sync` token as `from`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from homeserver.errors import Forbidden, InvalidParam, NotFound
from homeserver.events.event import Event
from homeserver.notifier import MAX_POSITION, Notifier, StreamToken
from homeserver.rooms.room_cache import RoomCache
from homeserver.rooms.serialize import client_event
from homeserver.rooms.visibility import VisibilityFilter
from homeserver.storage.database import Database
from homeserver.storage.events import EventStore, PersistedEvent
from homeserver.storage.state import StateKey, StateStore

logger = logging.getLogger(__name__)

EventPredicate = Callable[[Event], bool]


@dataclass(frozen=True)
class TopologicalToken:
    depth: int
    stream: int

    def serialize(self) -> str:
        return f"t{self.depth}_{self.stream}"

    @classmethod
    def of(cls, item: PersistedEvent) -> TopologicalToken:
        """Return the position just before `item`."""
        return cls(item.event.depth, item.stream_ordering)

    @classmethod
    def after(cls, item: PersistedEvent) -> TopologicalToken:
        """Return the position just after `item`.

        Positions compare as (depth, stream) pairs and stream orderings are integers,
        so no event sits between `item` and this position.
        """
        return cls(item.event.depth, item.stream_ordering + 1)


@dataclass(frozen=True)
class Membership:
    """A user's current membership in a room and where it happened."""

    membership: str
    event_id: str
    stream_ordering: int


class RoomReader:
    def __init__(
        self,
        db: Database,
        events: EventStore,
        state: StateStore,
        rooms: RoomCache,
        notifier: Notifier,
    ) -> None:
        self._db = db
        self._events = events
        self._state = state
        self._rooms = rooms
        self._notifier = notifier
        self.visibility = VisibilityFilter(events, state)
        self.state_store = state

    async def membership(self, user_id: str, room_id: str) -> Membership | None:
        row = await self._db.fetchone(
            "SELECT membership, event_id, stream_ordering FROM room_memberships"
            " WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )
        if row is None:
            return None
        return Membership(row["membership"], row["event_id"], row["stream_ordering"])

    async def _require_room(self, room_id: str) -> None:
        if await self._rooms.get(room_id) is None:
            raise NotFound(f"Unknown room {room_id}")

    async def _world_readable(self, room_id: str) -> bool:
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            return False
        event = snapshot.get("m.room.history_visibility")
        return (
            event is not None
            and event.content.get("history_visibility") == "world_readable"
        )

    async def state_for_user(self, user_id: str, room_id: str) -> dict[StateKey, Event]:
        """Return the state a user may read: current if joined, at departure if left."""
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            raise Forbidden(f"You are not in room {room_id}")
        membership = await self.membership(user_id, room_id)
        if membership is not None and membership.membership == "join":
            return dict(snapshot.state)
        if membership is not None and membership.membership in ("leave", "ban"):
            item = await self._events.get(membership.event_id)
            if item is not None and item.state_group_after is not None:
                return await self.state_at_group(item.state_group_after)
        if await self._world_readable(room_id):
            return dict(snapshot.state)
        raise Forbidden(f"You are not in room {room_id}")

    async def state_at_group(self, group: int | None) -> dict[StateKey, Event]:
        if group is None:
            return {}
        nids = await self._state.get_group(group)
        await self._state.ensure_keys_loaded(set(nids))
        items = await self._events.get_by_nids(nids.values())
        return {
            self._state.key_for_id(key_id): items[nid].event
            for key_id, nid in nids.items()
            if nid in items
        }

    async def _stream_limit(self, user_id: str, room_id: str) -> int:
        """Return the newest stream position the user may read in the room."""
        membership = await self.membership(user_id, room_id)
        current = self._notifier.position("events")
        if membership is None:
            if await self._world_readable(room_id):
                return current
            raise Forbidden(f"You are not in room {room_id}")
        if membership.membership in ("join", "invite"):
            return current
        return membership.stream_ordering

    async def get_event(
        self, user_id: str, device_id: str, room_id: str, event_id: str
    ) -> dict[str, Any]:
        await self._require_room(room_id)
        item = await self._events.get(event_id)
        if item is None or item.event.room_id != room_id:
            raise NotFound("Event not found")
        limit = await self._stream_limit(user_id, room_id)
        membership = await self.membership(user_id, room_id)
        visible = await self.visibility.filter(
            user_id,
            [item],
            membership.membership if membership else None,
            membership.stream_ordering if membership else None,
        )
        if not visible or item.stream_ordering > limit:
            raise NotFound("Event not found or not visible to you")
        return client_event(item, user_id=user_id, device_id=device_id)

    async def _parse_from(self, room_id: str, token: str) -> TopologicalToken:
        if token.startswith("t"):
            depth, _, stream = token[1:].partition("_")
            try:
                values = (int(depth), int(stream))
            except ValueError as exc:
                raise InvalidParam(f"Invalid pagination token {token!r}") from exc
            if any(abs(value) > MAX_POSITION for value in values):
                raise InvalidParam(f"Invalid pagination token {token!r}")
            return TopologicalToken(*values)
        position = StreamToken.parse(token).events
        item = await self._events.last_event_at_or_before(room_id, position)
        if item is None:
            return TopologicalToken(0, 0)
        return TopologicalToken(item.event.depth, item.stream_ordering + 1)

    async def messages(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        from_token: str | None,
        to_token: str | None,
        direction: str,
        limit: int,
        matches: EventPredicate | None,
        lazy_load_members: bool,
    ) -> dict[str, Any]:
        """Return one page of `/messages`."""
        await self._require_room(room_id)
        max_stream = await self._stream_limit(user_id, room_id)
        backwards = direction == "b"
        if from_token is not None:
            start = await self._parse_from(room_id, from_token)
        elif backwards:
            start = TopologicalToken(2**62, 2**62)
        else:
            start = TopologicalToken(-1, -1)
        stop = await self._parse_from(room_id, to_token) if to_token else None

        membership = await self.membership(user_id, room_id)
        chunk: list[PersistedEvent] = []
        cursor = start
        exhausted = False
        # Filtering may drop events, so fetch pages until the chunk is full.
        while len(chunk) < limit and not exhausted:
            # The store pages strictly before or after (depth, stream); forwards, the
            # event at the token itself comes first, so start one stream position
            # earlier.
            after_stream = cursor.stream if backwards else cursor.stream - 1
            page = await self._events.paginate(
                room_id, cursor.depth, after_stream, backwards, limit * 2, max_stream
            )
            if len(page) < limit * 2:
                exhausted = True
            if not page:
                break
            page_end = _token_past(page[-1], backwards)
            if stop is not None:
                page = [item for item in page if not _past(item, stop, backwards)]
                if not page or _past_token(page_end, stop, backwards):
                    exhausted = True
            page = await self.visibility.filter(
                user_id,
                page,
                membership.membership if membership else None,
                membership.stream_ordering if membership else None,
            )
            if matches is not None:
                page = [item for item in page if matches(item.event)]
            remaining = limit - len(chunk)
            if len(page) > remaining:
                # Events remain on this page, so there is more to read after the
                # last one returned.
                chunk.extend(page[:remaining])
                cursor = _token_past(page[remaining - 1], backwards)
                exhausted = False
                break
            chunk.extend(page)
            cursor = page_end

        body: dict[str, Any] = {
            "start": start.serialize(),
            "chunk": [
                client_event(item, user_id=user_id, device_id=device_id)
                for item in chunk
            ],
        }
        # `end` is left out once there is nothing further to read.
        if chunk and not exhausted:
            body["end"] = cursor.serialize()
        if lazy_load_members and chunk:
            body["state"] = await self._member_state(
                user_id, room_id, {item.event.sender for item in chunk}
            )
        return body

    async def _member_state(
        self, user_id: str, room_id: str, senders: set[str]
    ) -> list[dict[str, Any]]:
        state = await self.state_for_user(user_id, room_id)
        members = []
        for sender in sorted(senders):
            event = state.get(("m.room.member", sender))
            if event is not None:
                item = await self._events.get(event.event_id)
                if item is not None:
                    members.append(client_event(item))
        return members

    async def context(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        event_id: str,
        limit: int,
        matches: EventPredicate | None,
        lazy_load_members: bool,
    ) -> dict[str, Any]:
        """`/context`: the event, some events around it and the state at it."""
        target_json = await self.get_event(user_id, device_id, room_id, event_id)
        item = await self._events.get(event_id)
        assert item is not None
        token = TopologicalToken.of(item)
        after_token = TopologicalToken.after(item)
        half = limit // 2
        events_before, start = await self._context_side(
            user_id, device_id, room_id, token, "b", half, matches
        )
        events_after, end = await self._context_side(
            user_id, device_id, room_id, after_token, "f", limit - half, matches
        )
        # The spec requires the state at the last event returned, which is the newest
        # of events_after, or the target when there are none.
        last = item
        if events_after:
            newest = await self._events.get(events_after[-1]["event_id"])
            if newest is not None:
                last = newest
        state_map = await self.state_at_group(last.state_group_after)
        if lazy_load_members:
            senders = {item.event.sender}
            senders.update(e["sender"] for e in events_before + events_after)
            state_events = [
                event
                for key, event in state_map.items()
                if key[0] == "m.room.member" and key[1] in senders
            ]
        else:
            state_events = list(state_map.values())
        state_items = await self._events.get_many(e.event_id for e in state_events)
        return {
            "event": target_json,
            "events_before": events_before,
            "events_after": events_after,
            "start": start,
            "end": end,
            "state": [client_event(i) for i in state_items.values()],
        }

    async def _context_side(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        token: TopologicalToken,
        direction: str,
        count: int,
        matches: EventPredicate | None,
    ) -> tuple[list[dict[str, Any]], str]:
        """Return up to `count` events from `token` and the token just past them.

        Unlike `/messages`, `/context` always returns `start` and `end`. At the edge of
        the room they point past the last returned event, so paginating on from them
        repeats nothing.
        """
        if count <= 0:
            return [], token.serialize()
        page = await self.messages(
            user_id, device_id, room_id, token.serialize(), None, direction, count,
            matches, False,
        )
        if "end" in page:
            return page["chunk"], page["end"]
        if not page["chunk"]:
            return [], token.serialize()
        last = await self._events.get(page["chunk"][-1]["event_id"])
        if last is None:
            return page["chunk"], token.serialize()
        return page["chunk"], _token_past(last, direction == "b").serialize()

    async def members(
        self,
        user_id: str,
        room_id: str,
        membership: str | None,
        not_membership: str | None,
    ) -> list[dict[str, Any]]:
        state = await self.state_for_user(user_id, room_id)
        result = []
        for (event_type, _), event in state.items():
            if event_type != "m.room.member":
                continue
            value = event.membership
            if membership is not None and value != membership:
                continue
            if not_membership is not None and value == not_membership:
                continue
            item = await self._events.get(event.event_id)
            if item is not None:
                result.append(client_event(item))
        return result

    async def joined_members(self, user_id: str, room_id: str) -> dict[str, Any]:
        snapshot = await self._rooms.get(room_id)
        membership = await self.membership(user_id, room_id)
        if snapshot is None or membership is None or membership.membership != "join":
            raise Forbidden(f"You are not in room {room_id}")
        joined = {}
        for member in snapshot.joined:
            event = snapshot.get("m.room.member", member)
            content = event.content if event is not None else {}
            joined[member] = {
                "display_name": content.get("displayname"),
                "avatar_url": content.get("avatar_url"),
            }
        return {"joined": joined}

    async def joined_rooms(self, user_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join'",
            (user_id,),
        )
        return [row[0] for row in rows]


def _token_past(item: PersistedEvent, backwards: bool) -> TopologicalToken:
    """Return the position on the far side of `item` in the paging direction."""
    return TopologicalToken.of(item) if backwards else TopologicalToken.after(item)


def _past(item: PersistedEvent, stop: TopologicalToken, backwards: bool) -> bool:
    position = (item.event.depth, item.stream_ordering)
    limit = (stop.depth, stop.stream)
    return position < limit if backwards else position >= limit


def _past_token(cursor: TopologicalToken, stop: TopologicalToken, backwards: bool) -> bool:
    position = (cursor.depth, cursor.stream)
    limit = (stop.depth, stop.stream)
    return position <= limit if backwards else position >= limit
