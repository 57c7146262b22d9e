"""Reference hashes, event IDs and v12 room IDs."""

import base64
import hashlib
import json

import pytest

from homeserver.events.event import Event
from homeserver.events.hashing import (
    compute_event_id,
    compute_reference_hash,
    room_id_from_create_event,
)
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]

# A fixed v12 create event and its event ID, pinned so that any change to
# redaction, canonical JSON or hashing shows up as a failure.
CREATE_V12 = {
    "type": "m.room.create",
    "state_key": "",
    "sender": "@alice:example.org",
    "content": {"room_version": "12", "additional_creators": ["@bob:example.org"]},
    "origin_server_ts": 1700000000000,
    "depth": 1,
    "prev_events": [],
    "auth_events": [],
    "hashes": {"sha256": "oJZ9Rk4YMlXcP6F4kFbXK+WXQ0YQXHyGZ6ylrWxhTzM"},
    "signatures": {"example.org": {"ed25519:a": "c2lnbmF0dXJl"}},
    "unsigned": {"age_ts": 1700000000000},
}
CREATE_V12_EVENT_ID = "$gzFjlKvV3NIgAvxmkFBl2vYka-0yoReO7Eu943MPbCU"

MESSAGE_V11 = {
    "type": "m.room.message",
    "room_id": "!abc:example.org",
    "sender": "@alice:example.org",
    "content": {"msgtype": "m.text", "body": "hello"},
    "origin_server_ts": 1700000000001,
    "depth": 5,
    "prev_events": ["$" + "B" * 43],
    "auth_events": ["$" + "C" * 43],
    "origin": "example.org",
    "hashes": {"sha256": "A" * 43},
    "signatures": {"example.org": {"ed25519:a": "c2ln"}},
    "unsigned": {"age": 10},
}


def test_event_id_matches_step_by_step_calculation() -> None:
    # Step 1: redact by hand. v11 drops top-level `origin` and the message content.
    redacted = {
        "type": "m.room.message",
        "room_id": "!abc:example.org",
        "sender": "@alice:example.org",
        "content": {},
        "origin_server_ts": 1700000000001,
        "depth": 5,
        "prev_events": ["$" + "B" * 43],
        "auth_events": ["$" + "C" * 43],
        "hashes": {"sha256": "A" * 43},
    }
    # Step 2: canonical JSON with the standard library.
    encoded = json.dumps(
        redacted, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")
    # Step 3: SHA-256, then URL-safe base64 without padding.
    digest = hashlib.sha256(encoded).digest()
    expected = "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    assert compute_reference_hash(MESSAGE_V11, V11) == digest
    assert compute_event_id(MESSAGE_V11, V11) == expected


def test_event_id_differs_between_v10_and_v11() -> None:
    # v10 keeps the top-level `origin` in the redacted form, v11 does not.
    assert compute_event_id(MESSAGE_V11, V10) != compute_event_id(MESSAGE_V11, V11)


def test_event_id_ignores_signatures_and_unsigned() -> None:
    changed = dict(MESSAGE_V11, signatures={}, unsigned={"age": 99})
    assert compute_event_id(changed, V11) == compute_event_id(MESSAGE_V11, V11)


def test_event_id_ignores_redactable_content() -> None:
    changed = dict(MESSAGE_V11, content={"body": "other"})
    assert compute_event_id(changed, V11) == compute_event_id(MESSAGE_V11, V11)


def test_event_id_covers_content_hash() -> None:
    changed = dict(MESSAGE_V11, hashes={"sha256": "B" * 43})
    assert compute_event_id(changed, V11) != compute_event_id(MESSAGE_V11, V11)


def test_create_event_id_is_pinned() -> None:
    assert compute_event_id(CREATE_V12, V12) == CREATE_V12_EVENT_ID


def test_create_event_id_matches_step_by_step_calculation() -> None:
    # Redacted by hand: v11+ keeps all create content, drops signatures/unsigned.
    redacted = {
        key: value
        for key, value in CREATE_V12.items()
        if key not in ("signatures", "unsigned")
    }
    encoded = json.dumps(
        redacted, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")
    digest = hashlib.sha256(encoded).digest()
    expected = "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert CREATE_V12_EVENT_ID == expected


def test_v12_room_id_is_create_event_id_with_room_sigil() -> None:
    room_id = room_id_from_create_event(CREATE_V12, V12)
    assert room_id == "!" + CREATE_V12_EVENT_ID[1:]


def test_v12_room_id_keeps_create_content() -> None:
    # Since v11 the create event keeps all of its content when redacted, so the
    # content is part of the reference hash and therefore of the room ID.
    changed = dict(CREATE_V12, content={"room_version": "12"})
    assert room_id_from_create_event(changed, V12) != room_id_from_create_event(
        CREATE_V12, V12
    )


def test_room_id_derivation_rejected_before_v12() -> None:
    with pytest.raises(ValueError):
        room_id_from_create_event(CREATE_V12, V11)


def test_event_room_id_for_v12_create_event() -> None:
    event = Event(CREATE_V12, V12)
    assert event.event_id == CREATE_V12_EVENT_ID
    assert event.room_id == "!" + CREATE_V12_EVENT_ID[1:]
