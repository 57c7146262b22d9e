"""The rule that keeps `m.room.encryption` from being turned off once a room has it.

Spec: Client-Server API, "m.room.encryption": clients must not turn encryption off again,
and servers reject changes that would. A state event that replaces an existing
`m.room.encryption` must keep its algorithm; one with empty content (which removes the
state) or another algorithm is rejected.
"""

from __future__ import annotations

from typing import Any

from homeserver.errors import Forbidden

ENCRYPTION_EVENT_TYPE = "m.room.encryption"


def check_state_event(
    snapshot: Any, event_type: str, state_key: str | None, content: dict[str, Any]
) -> None:
    """Raise `Forbidden` if the event would disable or change the room's encryption.

    `snapshot` is the room's `RoomSnapshot` (or None for a room being created); only its
    `get(event_type, state_key)` is used.
    """
    if event_type != ENCRYPTION_EVENT_TYPE or state_key != "":
        return
    current = snapshot.get(ENCRYPTION_EVENT_TYPE, "") if snapshot is not None else None
    # A redacted m.room.encryption has empty content, so the room is not encrypted and
    # may enable encryption again.
    if current is None or not current.content:
        return
    algorithm = current.content.get("algorithm")
    if not content:
        raise Forbidden("Encryption cannot be disabled once it is enabled in a room")
    if content.get("algorithm") != algorithm:
        raise Forbidden(
            f"The room's encryption algorithm {algorithm!r} cannot be changed"
        )
