"""The Client-Server API shape of events.

Spec: Client-Server API, "Room Event Format" (`ClientEvent` and, without `room_id`,
`ClientEventWithoutRoomID` as used in `/sync`).
"""

from __future__ import annotations

from typing import Any, Literal

from homeserver.events.event import Event

EventFormat = Literal["client", "sync"]


def serialize_for_client(
    event: Event, *, format: EventFormat = "client"
) -> dict[str, Any]:
    """Return the event as a JSON-ready dict for clients.

    `format="client"` gives a `ClientEvent` and `format="sync"` the same without
    `room_id`. Federation uses `Event.pdu` as it is.
    `unsigned` comes from `Event.unsigned`, which the caller fills with `age`,
    `redacted_because`, `prev_content` and the like.
    """
    if format not in ("client", "sync"):
        raise ValueError(f"unknown event format {format!r}; use client or sync")

    # Shallow copies: this function and its callers add top-level keys only, and
    # nested values stay shared with the event, so they must not be changed.
    serialized = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "sender": event.sender,
        "type": event.type,
        "content": dict(event.content),
        "origin_server_ts": event.origin_server_ts,
        "unsigned": dict(event.unsigned),
    }
    if event.is_state():
        serialized["state_key"] = event.state_key

    # Since v11 `redacts` lives in `content`. Clients of either era expect to find
    # it in their place, so it is copied to both.
    redacts = event.redacts
    if redacts is not None:
        serialized["redacts"] = redacts
        serialized["content"]["redacts"] = redacts

    if format == "sync":
        del serialized["room_id"]
    return serialized
