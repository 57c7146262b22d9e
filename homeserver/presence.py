"""Presence of local users: online, unavailable or offline, with a status message.

Spec: Client-Server API, "Presence". The current state of recently seen users is kept in
memory; the `presence` table gets a row, and the `presence` stream a position, only when
the state, the status message or `currently_active` changes, so a `/sync` that only
refreshes the activity time writes nothing. A syncing client counts as activity. A user
whose clients have not synced or set their presence for `offline_after_ms` goes offline;
one timer per user does this, and re-arms itself while the user keeps syncing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeserver.errors import Forbidden, InvalidParam, NotFound
from homeserver.identifiers import server_name_of
from homeserver.notifier import Notifier
from homeserver.storage.database import Database, Row
from homeserver.stream_ids import StreamIdAllocator

logger = logging.getLogger(__name__)

ONLINE = "online"
UNAVAILABLE = "unavailable"
OFFLINE = "offline"
PRESENCE_STATES = (ONLINE, UNAVAILABLE, OFFLINE)

# The users who share a joined room with ?, the user included.
_SHARED_ROOM_USERS = (
    "SELECT other.user_id FROM room_memberships own"
    " JOIN room_memberships other ON other.room_id = own.room_id"
    " AND other.membership = 'join'"
    " WHERE own.user_id = ? AND own.membership = 'join'"
)


@dataclass
class PresenceState:
    """One user's presence; `last_seen_ts` (memory only) is the last sync or update."""

    state: str
    status_msg: str | None
    last_active_ts: int
    currently_active: bool
    last_seen_ts: int = 0
    # The last sync that asked to be online, so that a second device syncing as
    # unavailable does not flip the state back and forth.
    last_online_sync_ts: int = 0

    def content(self, now_ms: int) -> dict[str, Any]:
        """Build the `m.presence` content, with `last_active_ago` as of `now_ms`."""
        content: dict[str, Any] = {
            "presence": self.state,
            "last_active_ago": max(0, now_ms - self.last_active_ts),
        }
        if self.status_msg is not None:
            content["status_msg"] = self.status_msg
        if self.state == ONLINE:
            content["currently_active"] = self.currently_active
        return content


class PresenceTracker:
    """Tracks presence of local users and stores each change of state."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        server_name: str,
        enabled: bool = True,
        offline_after_ms: int = 5 * 60 * 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._server_name = server_name
        self.enabled = enabled
        self._offline_after_ms = offline_after_ms
        self._clock = clock
        self._stream = StreamIdAllocator(notifier, "presence")
        self._states: dict[str, PresenceState] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _now(self) -> int:
        return int(self._clock() * 1000)

    async def start(self) -> None:
        """Load the stream position and the users who were not offline at shutdown."""
        await self._stream.load(self._db, "SELECT MAX(stream_id) FROM presence")
        if not self.enabled:
            return
        rows = await self._db.fetchall(
            "SELECT * FROM presence WHERE state != ?", (OFFLINE,)
        )
        now = self._now()
        for row in rows:
            state = _state_from_row(row)
            # They get one offline period from now to come back before going offline.
            state.last_seen_ts = now
            self._states[row["user_id"]] = state
            self._arm_timer(row["user_id"], self._offline_after_ms)
        logger.info("Loaded presence of %d users who were not offline", len(rows))

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    async def _load(self, user_id: str) -> PresenceState | None:
        state = self._states.get(user_id)
        if state is not None:
            return state
        row = await self._db.fetchone(
            "SELECT * FROM presence WHERE user_id = ?", (user_id,)
        )
        return _state_from_row(row) if row is not None else None

    async def set_status(
        self, user_id: str, state: str, status_msg: str | None = None
    ) -> None:
        """Set presence from `PUT /presence/{userId}/status`; it counts as activity."""
        if state not in PRESENCE_STATES:
            raise InvalidParam(f"Unknown presence state {state!r}")
        if not self.enabled:
            return
        now = self._now()
        current = await self._load(user_id)
        new = PresenceState(
            state=state,
            status_msg=status_msg,
            last_active_ts=now
            if state == ONLINE or current is None
            else (current.last_active_ts),
            currently_active=state == ONLINE,
            last_seen_ts=now,
            last_online_sync_ts=current.last_online_sync_ts if current else 0,
        )
        await self._update(user_id, current, new)

    async def set_from_sync(self, user_id: str, state: str | None) -> None:
        """Apply the `set_presence` parameter of `/sync` (online when absent).

        `online` marks the user active and online; `unavailable` sets unavailable
        unless another client synced as online within the offline period; `offline`
        leaves the presence alone.
        """
        if not self.enabled or state == OFFLINE:
            return
        state = state or ONLINE
        if state not in PRESENCE_STATES:
            raise InvalidParam(f"Unknown presence state {state!r}")
        now = self._now()
        current = await self._load(user_id)
        if state == ONLINE:
            if (
                current is not None
                and current.state == ONLINE
                and current.currently_active
            ):
                # The common case: refresh the times in memory, write nothing.
                current.last_active_ts = now
                current.last_seen_ts = now
                current.last_online_sync_ts = now
                self._states[user_id] = current
                return
            new = PresenceState(
                ONLINE,
                current.status_msg if current else None,
                last_active_ts=now,
                currently_active=True,
                last_seen_ts=now,
                last_online_sync_ts=now,
            )
            await self._update(user_id, current, new)
            return

        if current is not None:
            current.last_seen_ts = now
            recently_online = now - current.last_online_sync_ts < self._offline_after_ms
            if current.state == UNAVAILABLE or recently_online:
                self._states[user_id] = current
                self._arm_timer(user_id, self._offline_after_ms)
                return
        new = PresenceState(
            UNAVAILABLE,
            current.status_msg if current else None,
            last_active_ts=current.last_active_ts if current else now,
            currently_active=False,
            last_seen_ts=now,
            last_online_sync_ts=current.last_online_sync_ts if current else 0,
        )
        await self._update(user_id, current, new)

    async def _update(
        self, user_id: str, current: PresenceState | None, new: PresenceState
    ) -> None:
        """Keep `new` in memory and store it if the visible state changed."""
        changed = (
            current is None
            or current.state != new.state
            or current.status_msg != new.status_msg
            or current.currently_active != new.currently_active
        )
        if new.state == OFFLINE:
            self._states.pop(user_id, None)
            handle = self._timers.pop(user_id, None)
            if handle is not None:
                handle.cancel()
        else:
            self._states[user_id] = new
            self._arm_timer(user_id, self._offline_after_ms)
        if changed:
            await self._persist(user_id, new)

    async def _persist(self, user_id: str, state: PresenceState) -> None:
        async with self._db.transaction("set_presence") as txn:
            position = self._stream.allocate()
            await txn.execute(
                "INSERT INTO presence (user_id, state, status_msg, last_active_ts,"
                " currently_active, stream_id) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
                " status_msg = excluded.status_msg,"
                " last_active_ts = excluded.last_active_ts,"
                " currently_active = excluded.currently_active,"
                " stream_id = excluded.stream_id",
                (
                    user_id,
                    state.state,
                    state.status_msg,
                    state.last_active_ts,
                    int(state.currently_active),
                    position,
                ),
            )
        audience = {user_id}
        rows = await self._db.fetchall(_SHARED_ROOM_USERS, (user_id,))
        audience.update(row[0] for row in rows)
        self._notifier.notify("presence", position, audience)
        logger.debug("Presence of %s is now %s at %d", user_id, state.state, position)

    def _arm_timer(self, user_id: str, delay_ms: int) -> None:
        if user_id in self._timers:
            # The running timer checks `last_seen_ts` when it fires.
            return
        loop = asyncio.get_running_loop()
        self._timers[user_id] = loop.call_later(
            delay_ms / 1000, self._on_timer, user_id
        )

    def _on_timer(self, user_id: str) -> None:
        self._timers.pop(user_id, None)
        state = self._states.get(user_id)
        if state is None:
            return
        idle_ms = self._now() - state.last_seen_ts
        if idle_ms < self._offline_after_ms:
            self._arm_timer(user_id, self._offline_after_ms - idle_ms)
            return
        task = asyncio.get_running_loop().create_task(self._go_offline(user_id, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _go_offline(self, user_id: str, state: PresenceState) -> None:
        logger.debug("Presence of %s timed out", user_id)
        offline = PresenceState(
            OFFLINE, state.status_msg, state.last_active_ts, currently_active=False
        )
        try:
            await self._update(user_id, state, offline)
        except Exception:
            logger.exception("Failed to store offline presence of %s", user_id)

    async def get(self, requester_id: str, user_id: str) -> dict[str, Any]:
        """Return `user_id`'s presence for `GET /presence/{userId}/status`.

        Raises `NotFound` for an unknown local user and `Forbidden` when the two users
        share no room.
        """
        if server_name_of(user_id) == self._server_name:
            exists = await self._db.fetchvalue(
                "SELECT 1 FROM users WHERE user_id = ?", (user_id,)
            )
            if exists is None:
                raise NotFound(f"User {user_id} not found")
        if requester_id != user_id:
            shared = await self._db.fetchvalue(
                _SHARED_ROOM_USERS + " AND other.user_id = ? LIMIT 1",
                (requester_id, user_id),
            )
            if shared is None:
                raise Forbidden(f"You share no room with {user_id}")
        state = await self._load(user_id) if self.enabled else None
        if state is None:
            return {"presence": OFFLINE}
        return state.content(self._now())

    async def get_changes(
        self, user_id: str, since: int, upto: int
    ) -> list[dict[str, Any]]:
        """Return `m.presence` events stored in (since, upto] for `user_id`'s sync.

        Covers the users who share a joined room with `user_id`, and the user.
        """
        if not self.enabled:
            return []
        rows = await self._db.fetchall(
            "SELECT * FROM presence WHERE stream_id > ? AND stream_id <= ?"
            f" AND (user_id = ? OR user_id IN ({_SHARED_ROOM_USERS}))"
            " ORDER BY stream_id",
            (since, upto, user_id, user_id),
        )
        now = self._now()
        events = []
        for row in rows:
            state = self._states.get(row["user_id"]) or _state_from_row(row)
            events.append(
                {
                    "type": "m.presence",
                    "sender": row["user_id"],
                    "content": state.content(now),
                }
            )
        return events


def _state_from_row(row: Row) -> PresenceState:
    return PresenceState(
        state=row["state"],
        status_msg=row["status_msg"],
        last_active_ts=row["last_active_ts"],
        currently_active=bool(row["currently_active"]),
    )
