"""Typing notifications, kept in memory only.

Spec: Client-Server API, "Typing Notifications". Each typing user has a timer that
removes them when their timeout ends, so nothing polls. The `typing` stream position is
a serial that counts changes since this process started; after a restart it starts
again at 0, and `/sync` clamps tokens from the future to the current position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from homeserver.errors import Forbidden
from homeserver.notifier import Notifier

logger = logging.getLogger(__name__)

# Longest typing period a client may ask for, in milliseconds.
MAX_TIMEOUT_MS = 120_000
DEFAULT_TIMEOUT_MS = 30_000

JoinedUsers = Callable[[str], Awaitable[set[str] | None]]


class TypingTracker:
    """Who types in which room, and the stream position of each room's last change."""

    def __init__(self, notifier: Notifier, joined_users: JoinedUsers) -> None:
        self._notifier = notifier
        # Returns the joined users of a room, or None for an unknown room.
        self._joined_users = joined_users
        self._timers: dict[str, dict[str, asyncio.TimerHandle]] = {}
        self._changed_at: dict[str, int] = {}
        self._serial = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def position(self) -> int:
        return self._serial

    async def set_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int | None = None
    ) -> None:
        """Start or stop `user_id` typing; `Forbidden` unless they are joined."""
        joined = await self._joined_users(room_id)
        if joined is None or user_id not in joined:
            raise Forbidden(f"{user_id} is not joined to room {room_id}")
        if not typing:
            self.stop(room_id, user_id, joined)
            return

        if timeout_ms is None:
            timeout_ms = DEFAULT_TIMEOUT_MS
        timeout_ms = max(0, min(timeout_ms, MAX_TIMEOUT_MS))
        room = self._timers.setdefault(room_id, {})
        previous = room.pop(user_id, None)
        if previous is not None:
            previous.cancel()
        room[user_id] = asyncio.get_running_loop().call_later(
            timeout_ms / 1000, self._expire, room_id, user_id
        )
        # Renewing a running timeout leaves the list of typing users unchanged.
        if previous is None:
            self._changed(room_id, joined)

    def stop(
        self, room_id: str, user_id: str, notify: Iterable[str] | None = None
    ) -> None:
        """Stop `user_id` typing, for example when they leave the room."""
        room = self._timers.get(room_id)
        if room is None or user_id not in room:
            return
        room.pop(user_id).cancel()
        if not room:
            del self._timers[room_id]
        self._changed(room_id, notify)

    def _expire(self, room_id: str, user_id: str) -> None:
        room = self._timers.get(room_id)
        if room is None or user_id not in room:
            return
        del room[user_id]
        if not room:
            del self._timers[room_id]
        logger.debug("Typing of %s in %s timed out", user_id, room_id)
        self._changed(room_id, None)

    def _changed(self, room_id: str, notify: Iterable[str] | None) -> None:
        self._serial += 1
        self._changed_at[room_id] = self._serial
        position = self._serial
        if notify is not None:
            self._notifier.notify("typing", position, notify)
            return
        # Timer callbacks are synchronous; look the members up in a task.
        task = asyncio.get_running_loop().create_task(
            self._notify_room(room_id, position)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify_room(self, room_id: str, position: int) -> None:
        joined = await self._joined_users(room_id)
        self._notifier.notify("typing", position, joined or ())

    def typing_users(self, room_id: str) -> list[str]:
        return sorted(self._timers.get(room_id, {}))

    def changed_rooms_since(self, position: int) -> set[str]:
        """Return the rooms whose typing list changed after `position`."""
        if position >= self._serial:
            return set()
        return {room for room, at in self._changed_at.items() if at > position}

    def get_for_rooms(
        self, room_ids: Iterable[str], since: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return an `m.typing` event per room where someone types.

        With `since`, rooms whose list changed after it are included even when nobody
        types any more, so that clients clear their list.
        """
        changed = self.changed_rooms_since(since) if since is not None else set()
        result = {}
        for room_id in room_ids:
            users = self.typing_users(room_id)
            if users or room_id in changed:
                result[room_id] = {"type": "m.typing", "content": {"user_ids": users}}
        return result

    def close(self) -> None:
        """Cancel every timer, at shutdown."""
        for room in self._timers.values():
            for handle in room.values():
                handle.cancel()
        self._timers.clear()
