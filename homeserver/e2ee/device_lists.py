"""The device_lists stream: which users' devices or keys changed, and who must hear of it.

Spec: Client-Server API, "Tracking the device list for a user" and "Extensions to /sync"
(`device_lists.changed` and `device_lists.left`). A user receives another user's
device changes while they share a room (membership `join` on both sides). When two users
start sharing a room the other user is reported as changed, because the list the client
tracked may have gone stale while they shared none; when they stop sharing every room
the other user is reported as left.
"""

from __future__ import annotations

import bisect

import logging
import time
from collections.abc import Iterable
from typing import Any

from homeserver.notifier import Notifier, StreamToken
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

_SHARING_USERS_SQL = (
    "SELECT DISTINCT other.user_id FROM room_memberships mine"
    " JOIN room_memberships other ON other.room_id = mine.room_id"
    " WHERE mine.user_id = ? AND mine.membership = 'join'"
    " AND other.membership = 'join'"
)


_MAX_TRACKED_POSITIONS = 100_000


class DeviceListStream:
    """Records device-list changes and computes `changed`/`left` for a user."""

    def __init__(self, db: Database, notifier: Notifier) -> None:
        self._db = db
        self._notifier = notifier
        # Stream positions of the membership events committed since start-up, so
        # that a sync over a range without any can skip the membership query.
        self._member_positions: list[int] = []
        self._tracked_after: int | None = None

    def start_tracking(self, events_position: int) -> None:
        """Start recording membership events committed after `events_position`."""
        self._tracked_after = events_position

    def note_events(self, items: list[Any]) -> None:
        """Pipeline listener: remember where membership events were committed."""
        for item in items:
            if item.event.type == "m.room.member":
                self._member_positions.append(item.stream_ordering)
        if len(self._member_positions) > _MAX_TRACKED_POSITIONS:
            dropped = self._member_positions[: _MAX_TRACKED_POSITIONS // 2]
            del self._member_positions[: _MAX_TRACKED_POSITIONS // 2]
            self._tracked_after = dropped[-1]

    def _may_have_member_events(self, after: int, upto: int) -> bool:
        if self._tracked_after is None or after < self._tracked_after:
            return True
        index = bisect.bisect_right(self._member_positions, after)
        return (
            index < len(self._member_positions)
            and self._member_positions[index] <= upto
        )

    async def load_position(self) -> None:
        """Set the notifier's device_lists position from the database at start-up."""
        position = await self._db.fetchvalue(
            "SELECT seq FROM sqlite_sequence WHERE name = 'device_list_changes'",
            default=0,
        )
        self._notifier.set_position("device_lists", int(position))

    async def mark_changed(self, txn: Transaction, user_ids: Iterable[str]) -> None:
        """Add a change for each of `user_ids` and wake everyone sharing a room with them.

        The notification goes out after `txn` commits.
        """
        now = int(time.time() * 1000)
        position = 0
        interested: set[str] = set()
        for user_id in dict.fromkeys(user_ids):
            position = await txn.execute(
                "INSERT INTO device_list_changes (user_id, changed_ts) VALUES (?, ?)",
                (user_id, now),
            )
            interested.add(user_id)
            rows = await txn.fetchall(_SHARING_USERS_SQL, (user_id,))
            interested.update(row[0] for row in rows)
        if position:
            txn.call_after_commit(
                lambda: self._notifier.notify("device_lists", position, interested)
            )

    async def users_sharing_rooms(self, user_id: str) -> set[str]:
        """Return the users joined to a room `user_id` is joined to, and `user_id`."""
        rows = await self._db.fetchall(_SHARING_USERS_SQL, (user_id,))
        return {row[0] for row in rows} | {user_id}

    async def changes(
        self, user_id: str, since: StreamToken, upto: StreamToken
    ) -> tuple[list[str], list[str]]:
        """Return (changed, left) for `user_id` between two sync tokens.

        `changed` contains users sharing a room with `user_id` whose devices changed in
        (since.device_lists, upto.device_lists], users who started sharing a room with
        `user_id` in (since.events, upto.events], and `user_id` itself when its own
        devices changed. `left` holds users who stopped sharing every room.
        """
        changed: set[str] = set()
        if since.device_lists < upto.device_lists:
            rows = await self._db.fetchall(
                "SELECT DISTINCT user_id FROM device_list_changes"
                " WHERE stream_id > ? AND stream_id <= ?",
                (since.device_lists, upto.device_lists),
            )
            changed.update(row[0] for row in rows)

        left_candidates: set[str] = set()
        if since.events < upto.events and self._may_have_member_events(
            since.events, upto.events
        ):
            joined, departed = await self._membership_changes(user_id, since, upto)
            changed.update(joined)
            left_candidates.update(departed)

        if not changed and not left_candidates:
            # Nothing moved, so there is no need to work out who shares a room.
            return [], []
        sharing = await self.users_sharing_rooms(user_id)
        left = {
            other
            for other in left_candidates
            if other not in sharing and other != user_id
        }
        changed = {other for other in changed if other in sharing}
        return sorted(changed), sorted(left)

    async def _membership_changes(
        self, user_id: str, since: StreamToken, upto: StreamToken
    ) -> tuple[set[str], set[str]]:
        """Return the users who joined and left rooms shared with `user_id` in the range.

        Covers every room `user_id` has a membership in, so that rooms it left in the
        range count too. When `user_id` itself joined a room, every member of that room
        counts as joined; when it left, every member counts as left.
        """
        rows = await self._db.fetchall(
            "SELECT room_id, state_key,"
            " json_extract(json, '$.content.membership') AS membership"
            " FROM events"
            " WHERE type = 'm.room.member' AND stream_ordering > ?"
            " AND stream_ordering <= ?"
            " AND room_id IN (SELECT room_id FROM room_memberships WHERE user_id = ?)"
            " ORDER BY stream_ordering",
            (since.events, upto.events, user_id),
        )
        joined: set[str] = set()
        departed: set[str] = set()
        for row in rows:
            room_id, member, membership = row[0], row[1], row[2]
            if member == user_id:
                others = await self._joined_members(room_id)
                if membership == "join":
                    joined.update(others)
                elif membership in ("leave", "ban"):
                    departed.update(others)
            elif membership == "join":
                joined.add(member)
            elif membership in ("leave", "ban"):
                departed.add(member)
        return joined, departed

    async def _joined_members(self, room_id: str) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM room_memberships WHERE room_id = ? AND membership = 'join'",
            (room_id,),
        )
        return {row[0] for row in rows}
