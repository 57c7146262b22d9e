"""The `Event` class: a PDU of a known room version with derived fields.

Spec: Room Versions, "Event format" (v10, v11, v12). An `Event` wraps the PDU dict
as received or built (hashes and signatures included) and adds the values that are
computed from it, such as the event ID and, for room version 12 create events, the
room ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeserver.events.hashing import compute_event_id, room_id_from_create_event
from homeserver.events.redaction import prune_event_dict
from homeserver.events.room_versions import RoomVersion


class Event:
    """A persistent event (PDU) of one room version.

    `pdu` is the federation form. `unsigned` holds local data for clients (such as
    `age` or `redacted_because`) and is never part of the PDU that is hashed or
    signed. Callers should run `validate_pdu` before building an `Event` from
    untrusted JSON: the properties assume the field types it enforces.
    """

    __slots__ = ("pdu", "room_version", "unsigned", "_event_id", "_room_id")

    def __init__(
        self,
        pdu: dict[str, Any],
        room_version: RoomVersion,
        event_id: str | None = None,
    ) -> None:
        self.pdu = pdu
        self.room_version = room_version
        self.unsigned: dict[str, Any] = {}
        self._event_id = event_id
        self._room_id: str | None = None

    def __repr__(self) -> str:
        return f"<Event {self.event_id} type={self.type!r} sender={self.sender!r}>"

    @property
    def event_id(self) -> str:
        """The event ID, computed from the reference hash on first use."""
        if self._event_id is None:
            self._event_id = compute_event_id(self.pdu, self.room_version)
        return self._event_id

    @property
    def room_id(self) -> str:
        """The room ID, derived from the event itself for a v12 create event."""
        if self._room_id is None:
            if self.is_create_without_room_id():
                self._room_id = room_id_from_create_event(self.pdu, self.room_version)
            else:
                self._room_id = self.pdu["room_id"]
        return self._room_id

    def is_create_without_room_id(self) -> bool:
        """Return whether this is a create event whose room ID is its own hash."""
        return (
            self.room_version.room_id_from_create_event
            and self.type == "m.room.create"
            and self.is_state()
        )

    @property
    def type(self) -> str:
        return self.pdu["type"]

    @property
    def state_key(self) -> str | None:
        """The state key, or None for a message (non-state) event."""
        return self.pdu.get("state_key")

    def is_state(self) -> bool:
        return "state_key" in self.pdu

    @property
    def sender(self) -> str:
        return self.pdu["sender"]

    @property
    def content(self) -> dict[str, Any]:
        return self.pdu["content"]

    @property
    def origin_server_ts(self) -> int:
        return self.pdu["origin_server_ts"]

    @property
    def depth(self) -> int:
        return self.pdu["depth"]

    @property
    def prev_event_ids(self) -> Sequence[str]:
        return self.pdu.get("prev_events", [])

    @property
    def auth_event_ids(self) -> Sequence[str]:
        return self.pdu.get("auth_events", [])

    @property
    def redacts(self) -> str | None:
        """The redacted event's ID, for `m.room.redaction` events.

        Since v11 it is `content.redacts`; before, it is the top-level `redacts`.
        None for other event types and for malformed values.
        """
        if self.type != "m.room.redaction":
            return None
        if self.room_version.redacts_in_content:
            value = self.content.get("redacts")
        else:
            value = self.pdu.get("redacts")
        return value if isinstance(value, str) else None

    @property
    def membership(self) -> str | None:
        """`content.membership` of an `m.room.member` event, else None."""
        if self.type != "m.room.member":
            return None
        value = self.content.get("membership")
        return value if isinstance(value, str) else None

    def redacted_copy(self) -> Event:
        """Return a new `Event` with the redacted PDU and the same event ID."""
        pruned = Event(
            prune_event_dict(self.room_version, self.pdu),
            self.room_version,
            self.event_id,
        )
        return pruned
