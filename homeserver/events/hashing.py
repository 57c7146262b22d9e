"""Content hashes, reference hashes, event IDs and v12 room IDs.

Spec: Server-Server API, "Calculating the content hash for an event" and
"Calculating the reference hash for an event"; Room Versions, "Event IDs" (v4 and
later) and, for room version 12, Appendices, "Room IDs".
"""

from __future__ import annotations

import hashlib
from typing import Any

from unpaddedbase64 import decode_base64, encode_base64

from homeserver.events.canonical import encode_canonical_json
from homeserver.events.redaction import prune_event_dict
from homeserver.events.room_versions import EventIdFormat, RoomVersion


def compute_content_hash(event: dict[str, Any]) -> bytes:
    """Return the SHA-256 content hash of a PDU.

    The hash covers the whole unredacted event except `unsigned`, `signatures` and
    `hashes`, encoded as canonical JSON.
    """
    hashed = {
        key: value
        for key, value in event.items()
        if key not in ("unsigned", "signatures", "hashes")
    }
    return hashlib.sha256(encode_canonical_json(hashed)).digest()


def add_content_hash(event: dict[str, Any]) -> None:
    """Set `event["hashes"]["sha256"]` to the unpadded base64 content hash."""
    digest = compute_content_hash(event)
    hashes = event.get("hashes")
    if not isinstance(hashes, dict):
        hashes = {}
        event["hashes"] = hashes
    hashes["sha256"] = encode_base64(digest)


def check_content_hash(event: dict[str, Any]) -> bool:
    """Return whether `hashes.sha256` matches the event's content hash.

    A missing, non-string or undecodable hash counts as a mismatch. The receiver
    then uses the redacted copy of the event.
    """
    hashes = event.get("hashes")
    if not isinstance(hashes, dict):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        claimed_digest = decode_base64(claimed)
    except ValueError:
        return False
    return claimed_digest == compute_content_hash(event)


def compute_reference_hash(event: dict[str, Any], room_version: RoomVersion) -> bytes:
    """Return the SHA-256 reference hash: the redacted event without signatures."""
    pruned = prune_event_dict(room_version, event)
    pruned.pop("signatures", None)
    pruned.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(pruned)).digest()


def compute_event_id(event: dict[str, Any], room_version: RoomVersion) -> str:
    """Return the event ID that a PDU has in the given room version.

    Raises ValueError for version 1 and 2 event IDs, because those are not derived
    from the event and must be read from the PDU's `event_id`.
    """
    digest = compute_reference_hash(event, room_version)
    if room_version.event_id_format is EventIdFormat.V3:
        return "$" + encode_base64(digest, urlsafe=True)
    if room_version.event_id_format is EventIdFormat.V2:
        return "$" + encode_base64(digest)
    raise ValueError(
        f"room version {room_version.identifier} event IDs are chosen by the origin "
        "server; read them from the PDU's event_id"
    )


def room_id_from_create_event(
    create_event: dict[str, Any], room_version: RoomVersion
) -> str:
    """Return the room ID derived from a create event (room version 12 onwards).

    The room ID is the create event's event ID with the sigil `!` in place of `$`.
    Raises ValueError for room versions whose room IDs are not derived.
    """
    if not room_version.room_id_from_create_event:
        raise ValueError(
            f"room version {room_version.identifier} does not derive room IDs from "
            "the create event"
        )
    return "!" + compute_event_id(create_event, room_version)[1:]
