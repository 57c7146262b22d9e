"""Signing: the appendix's JSON and event signing test vectors."""

import copy

import pytest
from signedjson.key import decode_signing_key_base64
from signedjson.sign import sign_json

from homeserver.events.hashing import add_content_hash, check_content_hash
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.signing import (
    servers_required_to_sign,
    sign_event,
    verify_event_signature,
)

# Spec: Appendices, "Cryptographic Test Vectors".
SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SERVER_NAME = "domain"
KEY_ID = "ed25519:1"

# The appendix vectors keep the top-level `origin`, which the redaction algorithm
# protects up to room version 10. Version 11 removes it, so the signatures differ.
V10 = KNOWN_ROOM_VERSIONS["10"]


@pytest.fixture
def signing_key():
    return decode_signing_key_base64("ed25519", "1", SEED)


def test_sign_empty_object_vector(signing_key) -> None:
    signed = sign_json({}, SERVER_NAME, signing_key)
    assert signed["signatures"][SERVER_NAME][KEY_ID] == (
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGY"
        "ZzuHGZKM5ZAQ"
    )


def test_sign_object_with_data_vector(signing_key) -> None:
    signed = sign_json({"one": 1, "two": "Two"}, SERVER_NAME, signing_key)
    assert signed["signatures"][SERVER_NAME][KEY_ID] == (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13E"
        "IMJpvhJI+6Bw"
    )


def minimal_event() -> dict:
    return {
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "signatures": {},
        "hashes": {},
        "type": "X",
        "content": {},
        "prev_events": [],
        "auth_events": [],
        "depth": 3,
        "unsigned": {"age_ts": 1000000},
    }


def redactable_event() -> dict:
    return {
        "content": {"body": "Here is the message content"},
        "event_id": "$0:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": {},
        "unsigned": {"age_ts": 1000000},
    }


def test_minimal_event_vector(signing_key) -> None:
    event = minimal_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, signing_key, V10)

    assert event["hashes"] == {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"}
    assert event["signatures"] == {
        SERVER_NAME: {
            KEY_ID: "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5"
            "KLjAWbOoMszkwsQma+lYAg"
        }
    }
    assert event["unsigned"] == {"age_ts": 1000000}


def test_redactable_event_vector(signing_key) -> None:
    event = redactable_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, signing_key, V10)

    assert event["hashes"] == {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"}
    assert event["signatures"][SERVER_NAME][KEY_ID] == (
        "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA"
        "5McEiVPdhzBA"
    )
    assert event["content"] == {"body": "Here is the message content"}


def test_content_hash_check_detects_change(signing_key) -> None:
    event = redactable_event()
    add_content_hash(event)
    assert check_content_hash(event)

    event["content"]["body"] = "changed"
    assert not check_content_hash(event)


def test_content_hash_ignores_unsigned() -> None:
    event = minimal_event()
    add_content_hash(event)
    event["unsigned"]["age"] = 5
    assert check_content_hash(event)


def test_content_hash_check_rejects_missing_hash() -> None:
    assert not check_content_hash(minimal_event())


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_signature_verifies_and_survives_redaction(signing_key, version) -> None:
    room_version = KNOWN_ROOM_VERSIONS[version]
    event = redactable_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, signing_key, room_version)
    verify_key = signing_key.verify_key

    assert verify_event_signature(event, SERVER_NAME, verify_key, KEY_ID, room_version)

    redacted = copy.deepcopy(event)
    redacted["content"] = {}
    assert verify_event_signature(
        redacted, SERVER_NAME, verify_key, KEY_ID, room_version
    )


def test_signature_fails_after_protected_field_changes(signing_key) -> None:
    event = minimal_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, signing_key, V10)
    event["sender"] = "@b:domain"
    assert not verify_event_signature(
        event, SERVER_NAME, signing_key.verify_key, KEY_ID, V10
    )


def test_signature_missing_for_other_key_id(signing_key) -> None:
    event = minimal_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, signing_key, V10)
    assert not verify_event_signature(
        event, SERVER_NAME, signing_key.verify_key, "ed25519:2", V10
    )


def test_signature_from_other_key_is_invalid(signing_key) -> None:
    other_key = decode_signing_key_base64("ed25519", "1", "A" * 43)
    event = minimal_event()
    add_content_hash(event)
    sign_event(event, SERVER_NAME, other_key, V10)
    assert not verify_event_signature(
        event, SERVER_NAME, signing_key.verify_key, KEY_ID, V10
    )


def test_required_signers_for_message() -> None:
    event = {"type": "m.room.message", "sender": "@u:one.example", "content": {}}
    assert servers_required_to_sign(event, V10) == {"one.example"}


def test_required_signers_include_join_authoriser() -> None:
    event = {
        "type": "m.room.member",
        "sender": "@u:one.example",
        "state_key": "@u:one.example",
        "content": {
            "membership": "join",
            "join_authorised_via_users_server": "@admin:two.example",
        },
    }
    assert servers_required_to_sign(event, V10) == {"one.example", "two.example"}
