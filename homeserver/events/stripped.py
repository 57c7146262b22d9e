"""Stripped state: the short room summary sent with invites and knocks.

Spec: Client-Server API, "Stripped state". A stripped state event has only `type`,
`state_key`, `content` and `sender`. Since Matrix 1.16 the `m.room.create` event is
required in `invite_state`, `knock_state`, `invite_room_state` and
`knock_room_state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeserver.events.event import Event

# The state types the specification recommends, as `(type, state_key)` pairs.
# All of them use the empty state key.
STRIPPED_STATE_TYPES: tuple[tuple[str, str], ...] = (
    ("m.room.create", ""),
    ("m.room.name", ""),
    ("m.room.avatar", ""),
    ("m.room.topic", ""),
    ("m.room.join_rules", ""),
    ("m.room.canonical_alias", ""),
    ("m.room.encryption", ""),
)


def strip_event(event: Event) -> dict[str, Any]:
    """Return the stripped state form of one state event."""
    return {
        "type": event.type,
        "state_key": event.state_key,
        "content": dict(event.content),
        "sender": event.sender,
    }


def stripped_state(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Return the stripped form of each state event, in the order given.

    Message events (no `state_key`) are skipped. The caller picks which events to
    pass, normally the current state for `STRIPPED_STATE_TYPES`, which must include
    the create event.
    """
    return [strip_event(event) for event in events if event.is_state()]
