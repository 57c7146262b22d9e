"""Helpers that build PDUs and `Event` objects for the event tests."""

from __future__ import annotations

import itertools
from typing import Any

from homeserver.events.event import Event
from homeserver.events.room_versions import RoomVersion

_timestamps = itertools.count(1_700_000_000_000)

PLACEHOLDER_HASH = {"sha256": "A" * 43}


def make_pdu(
    room_version: RoomVersion,
    *,
    event_type: str,
    sender: str,
    content: dict[str, Any] | None = None,
    state_key: str | None = None,
    room_id: str | None = "!room:example.org",
    prev_events: list[str] | None = None,
    auth_events: list[str] | None = None,
    depth: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    """Return a PDU dict with a placeholder hash and no signatures."""
    pdu: dict[str, Any] = {
        "type": event_type,
        "sender": sender,
        "content": content if content is not None else {},
        "origin_server_ts": next(_timestamps),
        "depth": depth,
        "prev_events": prev_events if prev_events is not None else [],
        "auth_events": auth_events if auth_events is not None else [],
        "hashes": dict(PLACEHOLDER_HASH),
        "signatures": {},
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    pdu.update(extra)
    return pdu


def make_event(room_version: RoomVersion, **kwargs: Any) -> Event:
    return Event(make_pdu(room_version, **kwargs), room_version)
