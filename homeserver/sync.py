"""`/sync`: what changed for a user since their token, waiting until something does.

Spec: Client-Server API, "Syncing". The response is built from the user's memberships
(`room_memberships`) and the per-stream changes between the `since` token and the current
positions. With nothing to report, the request waits on the notifier, which wakes it as
soon as a write names this user; the wait never polls.

State in a joined room follows the spec's rules. On an initial sync, for a newly joined room
or with `full_state`, `state` is the state at the start of the timeline. On an incremental
sync whose timeline is `limited`, it is what changed between the `since` position and the
start of the timeline. Otherwise state changes arrive as timeline events.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from homeserver.filters import Filter, RoomEventFilter
from homeserver.notifier import Notifier, StreamToken
from homeserver.rooms.reading import RoomReader, TopologicalToken
from homeserver.rooms.room_cache import RoomCache
from homeserver.rooms.user_rooms import UserMembership, UserRooms
from homeserver.rooms.serialize import client_event
from homeserver.storage.database import Database
from homeserver.storage.events import EventStore, PersistedEvent

logger = logging.getLogger(__name__)

DEFAULT_TIMELINE_LIMIT = 10
MAX_TIMELINE_LIMIT = 100
MAX_TIMEOUT_MS = 300_000
# Batches of events read to fill a filtered timeline before it is cut short as limited.
_MAX_TIMELINE_READS = 3


@dataclass(frozen=True)
class SyncRequest:
    user_id: str
    device_id: str
    since: StreamToken | None
    timeout_ms: int
    full_state: bool
    filter: Filter
    set_presence: str | None


class SyncHandler:
    """Builds sync responses; optional features are looked up by name when present."""

    def __init__(
        self,
        db: Database,
        events: EventStore,
        rooms: RoomCache,
        reader: RoomReader,
        notifier: Notifier,
        user_rooms: UserRooms,
        features: Any,
    ) -> None:
        self._db = db
        self._user_rooms = user_rooms
        self._events = events
        self._rooms = rooms
        self._reader = reader
        self._notifier = notifier
        # The Services object: account_data, receipts, typing, presence and e2ee are
        # optional components, fetched with getattr so sync works without them.
        self._features = features
        self._feature_cache: dict[str, Any] = {}

    def _feature(self, name: str) -> Any:
        try:
            return self._feature_cache[name]
        except KeyError:
            # Features are all installed before the first request.
            feature = self._feature_cache[name] = getattr(self._features, name, None)
            return feature

    async def sync(self, request: SyncRequest) -> dict[str, Any]:
        presence = self._feature("presence")
        if presence is not None:
            # Without set_presence the spec's default applies: the user is online.
            await presence.set_from_sync(request.user_id, request.set_presence)

        current = self._notifier.current_token()
        since = request.since.clamp(current) if request.since is not None else None
        deadline = time.monotonic() + min(request.timeout_ms, MAX_TIMEOUT_MS) / 1000
        while True:
            response, has_changes = await self._build(request, since, current)
            if since is None or has_changes or request.full_state:
                return response
            # Something may have been written while the response was built.
            latest = self._notifier.current_token()
            if latest != current:
                current = latest
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return response
            await self._notifier.wait_for_change(request.user_id, remaining)
            current = self._notifier.current_token()

    async def _build(
        self, request: SyncRequest, since: StreamToken | None, current: StreamToken
    ) -> tuple[dict[str, Any], bool]:
        user_id = request.user_id
        room_filter = request.filter.room
        memberships = [
            m
            for m in await self._user_rooms.memberships(user_id)
            if room_filter.matches_room(m.room_id)
        ]
        since_events = since.events if since is not None else 0
        joined = [m for m in memberships if m.membership == "join"]

        changed_rooms: set[str] | None = None
        if since is not None:
            changed_rooms = await self._events.rooms_with_events_since(
                [m.room_id for m in joined], since_events, current.events
            )

        join_section: dict[str, Any] = {}
        for membership in joined:
            newly_joined = since is not None and membership.stream_ordering > since_events
            if (
                since is not None
                and not request.full_state
                and membership.room_id not in changed_rooms
                and not newly_joined
            ):
                continue
            join_section[membership.room_id] = await self._joined_room(
                request, membership, None if newly_joined else since, current
            )

        invite_section = {}
        for membership in memberships:
            if membership.membership != "invite":
                continue
            if since is not None and membership.stream_ordering <= since_events:
                continue
            if membership.stream_ordering > current.events:
                continue
            invite_section[membership.room_id] = await self._invited_room(membership)

        leave_section = {}
        for membership in memberships:
            if membership.membership not in ("leave", "ban") or membership.forgotten:
                continue
            if membership.stream_ordering > current.events:
                continue
            if since is None:
                if not room_filter.include_leave:
                    continue
            elif membership.stream_ordering <= since_events:
                continue
            leave_section[membership.room_id] = await self._left_room(
                request, membership, since
            )

        ephemeral_changes = await self._add_ephemeral(
            request, since, current, join_section, [m.room_id for m in joined]
        )
        account_data_changes, global_account_data = await self._add_account_data(
            request, since, current, join_section, [m.room_id for m in joined]
        )

        next_token = current
        body: dict[str, Any] = {
            "rooms": {"join": join_section, "invite": invite_section, "leave": leave_section},
        }
        has_changes = bool(join_section or invite_section or leave_section)
        has_changes |= ephemeral_changes or account_data_changes

        if global_account_data:
            body["account_data"] = {"events": global_account_data}

        presence_events = await self._presence(request, since, current)
        if presence_events:
            body["presence"] = {"events": presence_events}
            has_changes = True

        e2ee = self._feature("e2ee")
        if e2ee is not None:
            extra = await e2ee.get_sync_data(user_id, request.device_id, since, current)
            position = extra.pop("_to_device_position", None)
            if position is not None:
                next_token = next_token.advance(to_device=position)
            if extra.get("to_device", {}).get("events"):
                has_changes = True
            lists = extra.get("device_lists", {})
            if lists.get("changed") or lists.get("left"):
                has_changes = True
            body.update(extra)

        body["next_batch"] = next_token.serialize()
        return body, has_changes

    # -- joined rooms --------------------------------------------------------

    async def _joined_room(
        self,
        request: SyncRequest,
        membership: UserMembership,
        since: StreamToken | None,
        current: StreamToken,
    ) -> dict[str, Any]:
        room_id = membership.room_id
        after = since.events if since is not None else 0
        timeline_items, limited, fetched = await self._timeline(
            request, room_id, after, current.events, "join", membership.stream_ordering
        )

        state_filter = request.filter.room.state
        lazy = state_filter.lazy_load_members
        full = since is None or request.full_state
        state_items = await self._state_section(
            room_id, timeline_items, since, current, full, limited, lazy,
            request.user_id,
        )
        state_items = [item for item in state_items if state_filter.matches(item.event)]

        if timeline_items:
            prev_batch = TopologicalToken.of(timeline_items[0]).serialize()
        elif fetched:
            prev_batch = TopologicalToken.of(fetched[0]).serialize()
        else:
            prev_batch = (since or current).serialize()
        room: dict[str, Any] = {
            "timeline": {
                "events": self._serialize(request, timeline_items),
                "limited": limited,
                "prev_batch": prev_batch,
            },
            "state": {"events": self._serialize(request, state_items)},
            "ephemeral": {"events": []},
            "account_data": {"events": []},
            "unread_notifications": {"notification_count": 0, "highlight_count": 0},
        }
        summary = await self._summary(room_id, request.user_id)
        if summary is not None:
            room["summary"] = summary
        return room

    async def _state_section(
        self,
        room_id: str,
        timeline: list[PersistedEvent],
        since: StreamToken | None,
        current: StreamToken,
        full: bool,
        limited: bool,
        lazy: bool,
        user_id: str,
    ) -> list[PersistedEvent]:
        """Build the room's `state` section.

        Works on {key id: event nid} maps, so only the returned events get loaded.
        """
        if not full and not limited and not lazy:
            return []
        state_store = self._reader.state_store
        if timeline:
            group = timeline[0].state_group_before
        else:
            last = await self._events.last_event_at_or_before(room_id, current.events)
            group = last.state_group_after if last is not None else None
        at_start = await state_store.get_group(group) if group is not None else {}

        wanted: dict[int, int]
        if full or limited:
            wanted = at_start
            if not full and since is not None:
                before = await self._events.last_event_at_or_before(room_id, since.events)
                if before is not None and before.state_group_after is not None:
                    at_since = await state_store.get_group(before.state_group_after)
                    wanted = {
                        key: nid for key, nid in wanted.items() if at_since.get(key) != nid
                    }
        else:
            wanted = {}
        if lazy:
            await state_store.ensure_keys_loaded(set(wanted))
            wanted = {
                key: nid
                for key, nid in wanted.items()
                if state_store.key_for_id(key)[0] != "m.room.member"
            }
            senders = {item.event.sender for item in timeline} | {user_id}
            for sender in senders:
                key = state_store.key_id(("m.room.member", sender))
                if key is not None and key in at_start:
                    wanted[key] = at_start[key]
        timeline_nids = {item.nid for item in timeline}
        nids = [nid for nid in wanted.values() if nid not in timeline_nids]
        found = await self._events.get_by_nids(nids)
        return [found[nid] for nid in nids if nid in found]

    async def _summary(self, room_id: str, user_id: str) -> dict[str, Any] | None:
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            return None
        heroes = sorted(
            member for member in snapshot.joined | snapshot.invited if member != user_id
        )[:5]
        return {
            "m.heroes": heroes,
            "m.joined_member_count": len(snapshot.joined),
            "m.invited_member_count": len(snapshot.invited),
        }

    def _serialize(
        self, request: SyncRequest, items: list[PersistedEvent]
    ) -> list[dict[str, Any]]:
        now = int(time.time() * 1000)
        serialized = [
            client_event(
                item,
                user_id=request.user_id,
                device_id=request.device_id,
                format="sync",
                now_ms=now,
            )
            for item in items
        ]
        if request.filter.event_fields is not None:
            serialized = [request.filter.apply_event_fields(e) for e in serialized]
        return serialized

    # -- invites and departures ---------------------------------------------

    async def _invited_room(self, membership: UserMembership) -> dict[str, Any]:
        item = await self._events.get(membership.event_id)
        events: list[dict[str, Any]] = []
        if item is not None:
            stripped = item.unsigned.get("invite_room_state", [])
            events.extend(stripped)
            events.append(
                {
                    "type": item.event.type,
                    "state_key": item.event.state_key,
                    "content": item.event.content,
                    "sender": item.event.sender,
                    "event_id": item.event.event_id,
                    "origin_server_ts": item.event.origin_server_ts,
                }
            )
        return {"invite_state": {"events": events}}

    async def _left_room(
        self, request: SyncRequest, membership: UserMembership, since: StreamToken | None
    ) -> dict[str, Any]:
        room_id = membership.room_id
        after = since.events if since is not None else 0
        items, limited, _ = await self._timeline(
            request,
            room_id,
            after,
            membership.stream_ordering,
            membership.membership,
            membership.stream_ordering,
        )
        prev_batch = (
            TopologicalToken.of(items[0]).serialize()
            if items
            else StreamToken(events=membership.stream_ordering).serialize()
        )
        state_items: list[PersistedEvent] = []
        if items:
            state = await self._reader.state_at_group(items[0].state_group_before)
            timeline_ids = {i.event.event_id for i in items}
            ids = [e.event_id for e in state.values() if e.event_id not in timeline_ids]
            found = await self._events.get_many(ids)
            state_items = [found[i] for i in ids if i in found]
        return {
            "timeline": {
                "events": self._serialize(request, items),
                "limited": limited,
                "prev_batch": prev_batch,
            },
            "state": {"events": self._serialize(request, state_items)},
            "account_data": {"events": []},
        }

    async def _timeline(
        self,
        request: SyncRequest,
        room_id: str,
        after: int,
        upto: int,
        membership: str,
        membership_stream: int,
    ) -> tuple[list[PersistedEvent], bool, list[PersistedEvent]]:
        """Select the newest events in (after, upto] the user may see and the filter keeps.

        Returns the selected events oldest first, whether older ones were left out
        (`limited`) and every event read. Events the filter drops do not count towards
        the limit, so older batches are read until it is filled. After
        `_MAX_TIMELINE_READS` batches the timeline is returned as limited.
        """
        timeline_filter = request.filter.room.timeline
        limit = timeline_filter.limit_or(DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT)
        batch_size = max(3 * limit, 10)
        selected: list[PersistedEvent] = []
        scanned: list[PersistedEvent] = []
        upper = upto
        for _ in range(_MAX_TIMELINE_READS):
            batch = await self._events.room_events_between(
                room_id, after, upper, batch_size
            )
            scanned[:0] = batch
            visible = await self._reader.visibility.filter(
                request.user_id, batch, membership, membership_stream
            )
            kept = [item for item in visible if timeline_filter.matches(item.event)]
            selected[:0] = kept
            if len(selected) > limit:
                return selected[len(selected) - limit :], True, scanned
            if len(batch) < batch_size:
                return selected, False, scanned
            upper = batch[0].stream_ordering - 1
        return selected, True, scanned

    # -- ephemeral, account data, presence ----------------------------------

    async def _add_ephemeral(
        self,
        request: SyncRequest,
        since: StreamToken | None,
        current: StreamToken,
        join_section: dict[str, Any],
        joined_room_ids: list[str],
    ) -> bool:
        changed = False
        ephemeral_filter: RoomEventFilter = request.filter.room.ephemeral
        typing = self._feature("typing")
        receipts = self._feature("receipts")
        per_room: dict[str, list[dict[str, Any]]] = {}
        if typing is not None and (since is None or current.typing > since.typing):
            typing_rooms = joined_room_ids
            if since is not None:
                # Only rooms whose typing list changed are news; the typing stream
                # also moves for rooms this user is not in.
                typing_changed = typing.changed_rooms_since(since.typing)
                typing_rooms = [r for r in joined_room_ids if r in typing_changed]
            found_typing = typing.get_for_rooms(
                typing_rooms, since.typing if since is not None else None
            )
            for room_id, event in found_typing.items():
                per_room.setdefault(room_id, []).append(event)
        if receipts is not None and (since is None or current.receipts > since.receipts):
            found = await receipts.get_for_rooms(
                joined_room_ids,
                since.receipts if since is not None else 0,
                current.receipts,
                request.user_id,
            )
            for room_id, event in found.items():
                per_room.setdefault(room_id, []).append(event)
        for room_id, events in per_room.items():
            events = _dedupe_typing(events)
            events = [e for e in events if _type_allowed(ephemeral_filter, e["type"])]
            if not events:
                continue
            room = join_section.get(room_id)
            if room is None:
                if since is None:
                    continue
                room = self._empty_joined_room(since)
                join_section[room_id] = room
            room["ephemeral"]["events"].extend(events)
            changed = True
        return changed

    def _empty_joined_room(self, since: StreamToken) -> dict[str, Any]:
        return {
            "timeline": {"events": [], "limited": False, "prev_batch": since.serialize()},
            "state": {"events": []},
            "ephemeral": {"events": []},
            "account_data": {"events": []},
            "unread_notifications": {"notification_count": 0, "highlight_count": 0},
        }

    async def _add_account_data(
        self,
        request: SyncRequest,
        since: StreamToken | None,
        current: StreamToken,
        join_section: dict[str, Any],
        joined_room_ids: list[str],
    ) -> tuple[bool, list[dict[str, Any]]]:
        account_data = self._feature("account_data")
        if account_data is None:
            return False, []
        if since is not None and current.account_data <= since.account_data:
            return False, []
        global_events, per_room = await account_data.get_changes(
            request.user_id,
            since.account_data if since is not None else 0,
            current.account_data,
        )
        global_filter = request.filter.account_data
        global_events = [
            e for e in global_events if _type_allowed(global_filter, e["type"])
        ]
        room_filter = request.filter.room.account_data
        changed = bool(global_events)
        joined = set(joined_room_ids)
        for room_id, events in per_room.items():
            if room_id not in joined:
                continue
            events = [
                e for e in events if _type_allowed(room_filter, e["type"])
            ]
            if not events:
                continue
            room = join_section.get(room_id)
            if room is None:
                if since is None:
                    continue
                room = self._empty_joined_room(since)
                join_section[room_id] = room
            room["account_data"]["events"].extend(events)
            changed = True
        return changed, global_events

    async def _presence(
        self, request: SyncRequest, since: StreamToken | None, current: StreamToken
    ) -> list[dict[str, Any]]:
        presence = self._feature("presence")
        if presence is None or "*" in request.filter.presence.not_types:
            return []
        if since is not None and current.presence <= since.presence:
            return []
        events = await presence.get_changes(
            request.user_id,
            since.presence if since is not None else 0,
            current.presence,
        )
        presence_filter = request.filter.presence
        return [
            e
            for e in events
            if presence_filter.matches_type_and_sender(e["type"], e.get("sender", ""))
        ]


def _dedupe_typing(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one m.typing event per room, preferring the one with users in it."""
    typing = [e for e in events if e.get("type") == "m.typing"]
    others = [e for e in events if e.get("type") != "m.typing"]
    if not typing:
        return others
    best = max(typing, key=lambda e: len(e.get("content", {}).get("user_ids", [])))
    return [best, *others]


def _type_allowed(event_filter: Any, event_type: str) -> bool:
    """Apply only the type part of a filter, for events that have no sender."""
    sender = event_filter.senders[0] if event_filter.senders else ""
    return event_filter.matches_type_and_sender(event_type, sender)
