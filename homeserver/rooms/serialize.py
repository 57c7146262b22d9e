"""Stored events in the shape clients receive them.

Adds the local `unsigned` data: `age`, `transaction_id` for the device that sent the event,
and the `prev_content`, `redacted_because` and `invite_room_state` kept with the event.
"""

from __future__ import annotations

import time
from typing import Any

from homeserver.events.client_format import EventFormat, serialize_for_client
from homeserver.storage.events import PersistedEvent


def client_event(
    item: PersistedEvent,
    *,
    user_id: str | None = None,
    device_id: str | None = None,
    format: EventFormat = "client",
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Return the client form of a stored event as seen by `user_id` on `device_id`."""
    event = item.event
    serialized = serialize_for_client(event, format=format)
    unsigned = serialized["unsigned"]
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    unsigned["age"] = max(0, now_ms - event.origin_server_ts)
    if (
        item.txn_id is not None
        and device_id is not None
        and item.sender_device == device_id
        and event.sender == user_id
    ):
        unsigned["transaction_id"] = item.txn_id
    if "invite_room_state" in unsigned and event.state_key != user_id:
        del unsigned["invite_room_state"]
    return serialized
