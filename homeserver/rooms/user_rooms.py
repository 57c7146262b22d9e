"""Each user's memberships, cached for `/sync`.

Every sync starts from the list of rooms the user is in, so the list is kept in memory.
The event pipeline drops a user's entry whenever it commits a membership event for
them, and forgetting a room drops it too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from homeserver.storage.database import Database

_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class UserMembership:
    room_id: str
    membership: str
    event_id: str
    stream_ordering: int
    forgotten: bool


class UserRooms:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[str, list[UserMembership]] = OrderedDict()
        # Bumped on every invalidation, so a load that raced with one is not cached.
        self._generation: dict[str, int] = {}

    async def memberships(self, user_id: str) -> list[UserMembership]:
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached
        generation = self._generation.get(user_id, 0)
        rows = await self._db.fetchall(
            "SELECT room_id, membership, event_id, stream_ordering, forgotten"
            " FROM room_memberships WHERE user_id = ?",
            (user_id,),
        )
        memberships = [
            UserMembership(
                row["room_id"],
                row["membership"],
                row["event_id"],
                row["stream_ordering"],
                bool(row["forgotten"]),
            )
            for row in rows
        ]
        if self._generation.get(user_id, 0) == generation:
            self._cache[user_id] = memberships
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return memberships

    def invalidate(self, user_id: str) -> None:
        self._cache.pop(user_id, None)
        self._generation[user_id] = self._generation.get(user_id, 0) + 1
