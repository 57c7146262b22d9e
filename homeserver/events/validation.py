"""Format checks for PDUs before any signature, hash or auth check.

Spec: Room Versions, "Event format" (PDU schemas of v10, v11 and v12), Client-Server
API, "Size limits", and Appendices, "Canonical JSON" and "Identifier Grammar". A PDU
that fails here is dropped, per Server-Server API, "Checks performed on receipt of a
PDU", step 1.
"""

from __future__ import annotations

from typing import Any

from homeserver.events.canonical import (
    MAX_CANONICAL_INT,
    MAX_PDU_SIZE,
    MIN_CANONICAL_INT,
    InvalidJSONValue,
    check_canonical_json,
    encode_canonical_json,
)
from homeserver.identifiers import (
    MAX_IDENTIFIER_BYTES,
    is_valid_event_id,
    is_valid_room_id,
    is_valid_user_id,
)
from homeserver.events.room_versions import RoomVersion

# Spec: PDU schema, `prev_events` "must contain less than or equal to 20 events" and
# `auth_events` "less than or equal to 10 events".
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10


class InvalidEvent(ValueError):
    """A PDU that does not match the event format of its room version."""


def validate_pdu(pdu: dict[str, Any], room_version: RoomVersion) -> None:
    """Raise `InvalidEvent` unless `pdu` is a well-formed PDU of `room_version`."""
    if not isinstance(pdu, dict):
        raise InvalidEvent(f"PDU must be a JSON object, not {type(pdu).__name__}")

    if room_version.strict_canonical_json:
        try:
            check_canonical_json(pdu)
        except InvalidJSONValue as exc:
            raise InvalidEvent(str(exc)) from exc

    size = len(encode_canonical_json(pdu))
    if size > MAX_PDU_SIZE:
        raise InvalidEvent(
            f"PDU is {size} bytes as canonical JSON, above the limit of "
            f"{MAX_PDU_SIZE} bytes"
        )

    _check_string_fields(pdu)
    _check_room_id(pdu, room_version)
    _check_integers(pdu, room_version)
    _check_event_id_list(pdu, "prev_events", MAX_PREV_EVENTS)
    _check_event_id_list(pdu, "auth_events", MAX_AUTH_EVENTS)
    _check_object_fields(pdu)

    if (
        not room_version.redacts_in_content
        and "redacts" in pdu
        and not isinstance(pdu["redacts"], str)
    ):
        raise InvalidEvent("redacts must be a string")


def _check_string_fields(pdu: dict[str, Any]) -> None:
    sender = _require(pdu, "sender", str)
    _check_byte_length("sender", sender)
    if not is_valid_user_id(sender):
        raise InvalidEvent(f"sender is not a valid user ID: {sender!r}")

    event_type = _require(pdu, "type", str)
    _check_byte_length("type", event_type)

    if "state_key" in pdu:
        state_key = pdu["state_key"]
        if not isinstance(state_key, str):
            raise InvalidEvent("state_key must be a string")
        _check_byte_length("state_key", state_key)

    if "event_id" in pdu:
        event_id = pdu["event_id"]
        if not isinstance(event_id, str):
            raise InvalidEvent("event_id must be a string")
        _check_byte_length("event_id", event_id)


def _check_room_id(pdu: dict[str, Any], room_version: RoomVersion) -> None:
    # Since v12 the create event carries no room ID, because the room ID is derived
    # from it. A create event that has one anyway is rejected by the auth rules.
    is_create = pdu.get("type") == "m.room.create" and "state_key" in pdu
    if room_version.room_id_from_create_event and is_create:
        if "room_id" not in pdu:
            return

    room_id = _require(pdu, "room_id", str)
    _check_byte_length("room_id", room_id)
    with_domain = not room_version.room_id_from_create_event
    if not is_valid_room_id(room_id, with_domain=with_domain):
        raise InvalidEvent(
            f"room_id is not a valid room ID for room version "
            f"{room_version.identifier}: {room_id!r}"
        )


def _check_integers(pdu: dict[str, Any], room_version: RoomVersion) -> None:
    depth = _require(pdu, "depth", int)
    if not 0 <= depth <= room_version.max_depth:
        raise InvalidEvent(
            f"depth must be between 0 and {room_version.max_depth}, not {depth}"
        )

    timestamp = _require(pdu, "origin_server_ts", int)
    if not MIN_CANONICAL_INT <= timestamp <= MAX_CANONICAL_INT:
        raise InvalidEvent(f"origin_server_ts is out of range: {timestamp}")


def _check_event_id_list(pdu: dict[str, Any], key: str, max_length: int) -> None:
    event_ids = _require(pdu, key, list)
    if len(event_ids) > max_length:
        raise InvalidEvent(
            f"{key} has {len(event_ids)} entries, above the limit of {max_length}"
        )
    for index, event_id in enumerate(event_ids):
        if not is_valid_event_id(event_id):
            raise InvalidEvent(f"{key}[{index}] is not a valid event ID: {event_id!r}")


def _check_object_fields(pdu: dict[str, Any]) -> None:
    _require(pdu, "content", dict)

    hashes = _require(pdu, "hashes", dict)
    if not isinstance(hashes.get("sha256"), str):
        raise InvalidEvent("hashes.sha256 is missing or not a string")

    signatures = _require(pdu, "signatures", dict)
    for server_name, server_signatures in signatures.items():
        if not isinstance(server_signatures, dict):
            raise InvalidEvent(f"signatures.{server_name} must be an object")
        for key_id, signature in server_signatures.items():
            if not isinstance(signature, str):
                raise InvalidEvent(
                    f"signatures.{server_name}.{key_id} must be a string"
                )

    if "unsigned" in pdu and not isinstance(pdu["unsigned"], dict):
        raise InvalidEvent("unsigned must be an object")


def _require(pdu: dict[str, Any], key: str, expected: type) -> Any:
    if key not in pdu:
        raise InvalidEvent(f"required key {key} is missing")
    value = pdu[key]
    # bool is a subclass of int but is never a valid integer field.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise InvalidEvent(
            f"{key} must be of type {expected.__name__}, not {type(value).__name__}"
        )
    return value


def _check_byte_length(key: str, value: str) -> None:
    length = len(value.encode("utf-8"))
    if length > MAX_IDENTIFIER_BYTES:
        raise InvalidEvent(
            f"{key} is {length} bytes, above the limit of {MAX_IDENTIFIER_BYTES}"
        )
