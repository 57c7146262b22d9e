"""Which room events a user may see, by the room's history visibility.

Spec: Client-Server API, "Room History Visibility". For each event, the rule is read from
the state before it (its `state_group_before`):

- `world_readable`: everyone sees it.
- `shared`: members who were joined at the event or have been joined since see it.
- `invited`: as `shared`, and also a user who was invited at the event.
- `joined`: only users whose membership at the event was `join`.

A user sees their own membership events whatever the rule, so a client can show why it
was invited, kicked or banned.
"""

from __future__ import annotations

from typing import Iterable

from homeserver.storage.events import EventStore, PersistedEvent
from homeserver.storage.state import StateStore

_MEMBER = "m.room.member"
_VISIBILITY = ("m.room.history_visibility", "")


class VisibilityFilter:
    """Filters lists of events for one user, caching lookups per state group."""

    def __init__(self, events: EventStore, state: StateStore) -> None:
        self._events = events
        self._state = state

    async def filter(
        self,
        user_id: str,
        items: Iterable[PersistedEvent],
        current_membership: str | None,
        membership_stream: int | None,
    ) -> list[PersistedEvent]:
        """Return the events of one room that `user_id` may see, in the given order.

        `current_membership` and `membership_stream` are the user's membership in the
        room now and the stream position of that membership event.
        """
        cache: dict[int | None, tuple[str, str | None]] = {}
        visible = []
        for item in items:
            event = item.event
            if event.type == _MEMBER and event.state_key == user_id:
                visible.append(item)
                continue
            group = item.state_group_before
            if group not in cache:
                cache[group] = await self._rules_at(group, user_id)
            history, membership_then = cache[group]
            if self._allowed(
                history,
                membership_then,
                current_membership,
                membership_stream,
                item.stream_ordering,
            ):
                visible.append(item)
        return visible

    @staticmethod
    def _allowed(
        history: str,
        membership_then: str | None,
        current_membership: str | None,
        membership_stream: int | None,
        event_stream: int,
    ) -> bool:
        if history == "world_readable":
            return True
        if membership_then == "join":
            return True
        if history in ("shared", "invited"):
            if history == "invited" and membership_then == "invite":
                return True
            if current_membership == "join":
                return True
            # A member who left can still read shared history up to their departure.
            if (
                current_membership in ("leave", "ban")
                and membership_stream is not None
                and event_stream < membership_stream
                and membership_then is not None
            ):
                return True
        return False

    async def _rules_at(
        self, group: int | None, user_id: str
    ) -> tuple[str, str | None]:
        if group is None:
            return "shared", None
        state = await self._state.get_group(group)
        wanted = {}
        visibility_key = self._state.key_id(_VISIBILITY)
        member_key = self._state.key_id((_MEMBER, user_id))
        if visibility_key is not None and visibility_key in state:
            wanted["visibility"] = state[visibility_key]
        if member_key is not None and member_key in state:
            wanted["member"] = state[member_key]
        found = await self._events.get_by_nids(wanted.values())
        history = "shared"
        if "visibility" in wanted and wanted["visibility"] in found:
            value = found[wanted["visibility"]].event.content.get("history_visibility")
            if isinstance(value, str):
                history = value
        membership = None
        if "member" in wanted and wanted["member"] in found:
            membership = found[wanted["member"]].event.membership
        return history, membership
