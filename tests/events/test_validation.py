"""PDU format checks: required keys, types, sizes and identifier grammar."""

import pytest

from homeserver.events.canonical import MAX_PDU_SIZE, encode_canonical_json
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.validation import InvalidEvent, validate_pdu

from tests.events.event_builders import make_pdu

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL_VERSIONS = [V10, V11, V12]
V12_ROOM_ID = "!" + "R" * 43


def valid_pdu(room_version, **kwargs) -> dict:
    room_id = V12_ROOM_ID if room_version is V12 else "!room:example.org"
    kwargs.setdefault("room_id", room_id)
    kwargs.setdefault("event_type", "m.room.message")
    kwargs.setdefault("sender", "@alice:example.org")
    kwargs.setdefault("content", {"body": "hi"})
    kwargs.setdefault("prev_events", ["$" + "P" * 43])
    kwargs.setdefault("auth_events", ["$" + "A" * 43])
    return make_pdu(room_version, **kwargs)


def pdu_of_size(room_version, size: int) -> dict:
    pdu = valid_pdu(room_version)
    padding = size - len(encode_canonical_json(pdu))
    pdu["content"]["body"] += "x" * padding
    assert len(encode_canonical_json(pdu)) == size
    return pdu


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_valid_pdu_accepted(room_version) -> None:
    validate_pdu(valid_pdu(room_version), room_version)


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_pdu_at_size_limit_accepted(room_version) -> None:
    validate_pdu(pdu_of_size(room_version, MAX_PDU_SIZE), room_version)


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_pdu_over_size_limit_rejected(room_version) -> None:
    with pytest.raises(InvalidEvent, match="65536"):
        validate_pdu(pdu_of_size(room_version, MAX_PDU_SIZE + 1), room_version)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("content", {"number": 1.5}),
        ("content", {"number": 2**53}),
        ("content", {"number": -(2**53)}),
        ("origin_server_ts", 2**53),
        ("depth", 2**53),
    ],
)
def test_non_canonical_numbers_rejected(key, value) -> None:
    pdu = valid_pdu(V11)
    pdu[key] = value
    with pytest.raises(InvalidEvent):
        validate_pdu(pdu, V11)


def test_largest_canonical_depth_accepted() -> None:
    validate_pdu(valid_pdu(V11, depth=2**53 - 1), V11)


def test_negative_depth_rejected() -> None:
    with pytest.raises(InvalidEvent, match="depth"):
        validate_pdu(valid_pdu(V11, depth=-1), V11)


@pytest.mark.parametrize(
    "key",
    [
        "sender",
        "type",
        "content",
        "origin_server_ts",
        "depth",
        "prev_events",
        "auth_events",
        "hashes",
        "signatures",
        "room_id",
    ],
)
def test_missing_required_key_rejected(key) -> None:
    pdu = valid_pdu(V11)
    del pdu[key]
    with pytest.raises(InvalidEvent, match=key):
        validate_pdu(pdu, V11)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sender", 5),
        ("type", None),
        ("content", []),
        ("depth", "1"),
        ("depth", True),
        ("origin_server_ts", 1.0),
        ("prev_events", "$x"),
        ("hashes", {"sha256": 1}),
        ("signatures", {"example.org": "sig"}),
        ("state_key", 0),
        ("unsigned", []),
    ],
)
def test_wrong_type_rejected(key, value) -> None:
    pdu = valid_pdu(V11)
    pdu[key] = value
    with pytest.raises(InvalidEvent):
        validate_pdu(pdu, V11)


@pytest.mark.parametrize("key", ["type", "state_key"])
def test_string_field_over_255_bytes_rejected(key) -> None:
    pdu = valid_pdu(V11)
    pdu[key] = "é" * 128  # 256 bytes of UTF-8
    with pytest.raises(InvalidEvent, match="256 bytes"):
        validate_pdu(pdu, V11)


def test_state_key_of_255_bytes_accepted() -> None:
    validate_pdu(valid_pdu(V11, state_key="k" * 255), V11)


def test_sender_of_255_bytes_accepted() -> None:
    sender = "@" + "a" * 242 + ":example.org"
    validate_pdu(valid_pdu(V11, sender=sender), V11)


def test_sender_over_255_bytes_rejected() -> None:
    sender = "@" + "a" * 243 + ":example.org"
    with pytest.raises(InvalidEvent, match="sender"):
        validate_pdu(valid_pdu(V11, sender=sender), V11)


def test_room_id_over_255_bytes_rejected() -> None:
    room_id = "!" + "a" * 243 + ":example.org"  # 256 bytes
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu(valid_pdu(V11, room_id=room_id), V11)


@pytest.mark.parametrize(
    "sender", ["alice:example.org", "@alice", "@alice:bad host", "@a\x00:example.org"]
)
def test_invalid_sender_rejected(sender) -> None:
    with pytest.raises(InvalidEvent, match="sender"):
        validate_pdu(valid_pdu(V11, sender=sender), V11)


def test_historical_sender_accepted() -> None:
    validate_pdu(valid_pdu(V11, sender="@Alice Smith:example.org"), V11)


def test_v11_room_id_needs_domain() -> None:
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu(valid_pdu(V11, room_id=V12_ROOM_ID), V11)


def test_v12_room_id_must_be_hash() -> None:
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu(valid_pdu(V12, room_id="!room:example.org"), V12)


def test_v12_create_without_room_id_accepted() -> None:
    pdu = valid_pdu(
        V12,
        event_type="m.room.create",
        state_key="",
        room_id=None,
        prev_events=[],
        auth_events=[],
    )
    validate_pdu(pdu, V12)


def test_v11_create_without_room_id_rejected() -> None:
    pdu = valid_pdu(
        V11,
        event_type="m.room.create",
        state_key="",
        room_id=None,
        prev_events=[],
        auth_events=[],
    )
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu(pdu, V11)


def test_twenty_prev_events_accepted() -> None:
    prev_events = [f"${index:02d}" + "P" * 41 for index in range(20)]
    validate_pdu(valid_pdu(V11, prev_events=prev_events), V11)


def test_twenty_one_prev_events_rejected() -> None:
    prev_events = [f"${index:02d}" + "P" * 41 for index in range(21)]
    with pytest.raises(InvalidEvent, match="prev_events"):
        validate_pdu(valid_pdu(V11, prev_events=prev_events), V11)


def test_eleven_auth_events_rejected() -> None:
    auth_events = [f"${index:02d}" + "A" * 41 for index in range(11)]
    with pytest.raises(InvalidEvent, match="auth_events"):
        validate_pdu(valid_pdu(V11, auth_events=auth_events), V11)


def test_malformed_prev_event_id_rejected() -> None:
    with pytest.raises(InvalidEvent, match="prev_events"):
        validate_pdu(valid_pdu(V11, prev_events=["$abc:example.org"]), V11)


def test_v10_top_level_redacts_must_be_string() -> None:
    pdu = valid_pdu(V10, event_type="m.room.redaction", redacts=5)
    with pytest.raises(InvalidEvent, match="redacts"):
        validate_pdu(pdu, V10)
