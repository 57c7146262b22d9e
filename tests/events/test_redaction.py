"""The redaction algorithm of room versions 10, 11 and 12.

The specification has no redaction test vectors, so each case is built by hand from
the lists in Room Versions, "Redactions".
"""

import pytest

from homeserver.events.redaction import prune_event_dict
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL_VERSIONS = [V10, V11, V12]
UPDATED_RULES = [V11, V12]


def event(event_type: str, content: dict, **extra) -> dict:
    pdu = {
        "type": event_type,
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "content": content,
        "origin_server_ts": 1,
        "depth": 1,
        "prev_events": [],
        "auth_events": [],
        "hashes": {"sha256": "h"},
        "signatures": {"example.org": {"ed25519:a": "s"}},
        "unsigned": {"age": 1},
        "origin": "example.org",
        "membership": "join",
        "prev_state": [],
        "event_id": "$e",
        "redacts": "$r",
        "extra_key": "x",
    }
    pdu.update(extra)
    return pdu


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_top_level_keys_always_kept(room_version) -> None:
    pruned = prune_event_dict(room_version, event("m.room.message", {"body": "x"}))
    for key in (
        "event_id",
        "type",
        "room_id",
        "sender",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    ):
        assert key in pruned, key
    assert "unsigned" not in pruned
    assert "extra_key" not in pruned
    assert "redacts" not in pruned
    assert pruned["content"] == {}


def test_v10_keeps_legacy_top_level_keys() -> None:
    pruned = prune_event_dict(V10, event("m.room.message", {}))
    assert pruned["origin"] == "example.org"
    assert pruned["membership"] == "join"
    assert pruned["prev_state"] == []


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_drop_legacy_top_level_keys(room_version) -> None:
    pruned = prune_event_dict(room_version, event("m.room.message", {}))
    assert "origin" not in pruned
    assert "membership" not in pruned
    assert "prev_state" not in pruned


def test_state_key_kept() -> None:
    pruned = prune_event_dict(V11, event("m.room.topic", {"topic": "t"}, state_key=""))
    assert pruned["state_key"] == ""
    assert pruned["content"] == {}


MEMBER_CONTENT = {
    "membership": "join",
    "displayname": "U",
    "join_authorised_via_users_server": "@admin:example.org",
    "third_party_invite": {"display_name": "u", "signed": {"token": "t"}},
}


def test_v10_member_content() -> None:
    pruned = prune_event_dict(V10, event("m.room.member", MEMBER_CONTENT))
    assert pruned["content"] == {
        "membership": "join",
        "join_authorised_via_users_server": "@admin:example.org",
    }


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_member_keeps_third_party_signed(room_version) -> None:
    pruned = prune_event_dict(room_version, event("m.room.member", MEMBER_CONTENT))
    assert pruned["content"] == {
        "membership": "join",
        "join_authorised_via_users_server": "@admin:example.org",
        "third_party_invite": {"signed": {"token": "t"}},
    }


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_member_third_party_without_signed(room_version) -> None:
    content = {"membership": "invite", "third_party_invite": {"display_name": "u"}}
    pruned = prune_event_dict(room_version, event("m.room.member", content))
    assert pruned["content"] == {"membership": "invite", "third_party_invite": {}}


CREATE_CONTENT = {
    "creator": "@u:example.org",
    "room_version": "10",
    "m.federate": False,
}


def test_v10_create_keeps_only_creator() -> None:
    pruned = prune_event_dict(V10, event("m.room.create", CREATE_CONTENT))
    assert pruned["content"] == {"creator": "@u:example.org"}


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_create_keeps_all_content(room_version) -> None:
    pruned = prune_event_dict(room_version, event("m.room.create", CREATE_CONTENT))
    assert pruned["content"] == CREATE_CONTENT


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_join_rules_keep_join_rule_and_allow(room_version) -> None:
    content = {"join_rule": "restricted", "allow": [{"type": "m"}], "other": 1}
    pruned = prune_event_dict(room_version, event("m.room.join_rules", content))
    assert pruned["content"] == {"join_rule": "restricted", "allow": [{"type": "m"}]}


POWER_LEVELS = {
    "ban": 50,
    "events": {"m.room.name": 100},
    "events_default": 0,
    "invite": 0,
    "kick": 50,
    "redact": 50,
    "state_default": 50,
    "users": {"@u:example.org": 100},
    "users_default": 0,
    "notifications": {"room": 50},
}


def test_v10_power_levels_drop_invite() -> None:
    pruned = prune_event_dict(V10, event("m.room.power_levels", POWER_LEVELS))
    expected = dict(POWER_LEVELS)
    del expected["invite"]
    del expected["notifications"]
    assert pruned["content"] == expected


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_power_levels_keep_invite(room_version) -> None:
    pruned = prune_event_dict(room_version, event("m.room.power_levels", POWER_LEVELS))
    expected = dict(POWER_LEVELS)
    del expected["notifications"]
    assert pruned["content"] == expected


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_history_visibility_kept(room_version) -> None:
    content = {"history_visibility": "shared", "other": 1}
    pruned = prune_event_dict(room_version, event("m.room.history_visibility", content))
    assert pruned["content"] == {"history_visibility": "shared"}


def test_v10_redaction_loses_redacts() -> None:
    pruned = prune_event_dict(V10, event("m.room.redaction", {"redacts": "$x"}))
    assert pruned["content"] == {}
    assert "redacts" not in pruned


@pytest.mark.parametrize("room_version", UPDATED_RULES, ids=lambda v: v.identifier)
def test_updated_rules_redaction_keeps_content_redacts(room_version) -> None:
    content = {"redacts": "$x", "reason": "spam"}
    pruned = prune_event_dict(room_version, event("m.room.redaction", content))
    assert pruned["content"] == {"redacts": "$x"}


@pytest.mark.parametrize("room_version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_aliases_content_removed(room_version) -> None:
    aliases = event("m.room.aliases", {"aliases": ["#a"]})
    pruned = prune_event_dict(room_version, aliases)
    assert pruned["content"] == {}


def test_prune_does_not_modify_input() -> None:
    original = event("m.room.power_levels", POWER_LEVELS)
    pruned = prune_event_dict(V11, original)
    pruned["content"]["users"]["@x:example.org"] = 1
    assert "@x:example.org" not in original["content"]["users"]
    assert original["unsigned"] == {"age": 1}
