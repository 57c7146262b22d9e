"""The server-default push rules, checked against the v1.19 "Predefined Rules"."""

from __future__ import annotations

from homeserver.push_rules import RULE_KINDS, default_ruleset

USER = "@alice:example.org"


def _rules(kind: str) -> dict[str, dict]:
    return {rule["rule_id"]: rule for rule in default_ruleset(USER)[kind]}


def test_every_kind_present() -> None:
    assert list(default_ruleset(USER)) == list(RULE_KINDS)


def test_override_order() -> None:
    ids = [rule["rule_id"] for rule in default_ruleset(USER)["override"]]
    assert ids == [
        ".m.rule.master",
        ".m.rule.suppress_notices",
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.is_user_mention",
        ".m.rule.is_room_mention",
        ".m.rule.tombstone",
        ".m.rule.reaction",
        ".m.rule.room.server_acl",
        ".m.rule.suppress_edits",
    ]


def test_underride_order() -> None:
    ids = [rule["rule_id"] for rule in default_ruleset(USER)["underride"]]
    assert ids == [
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
    ]


def test_legacy_body_rules_removed() -> None:
    # Removed from the spec in v1.17.
    assert default_ruleset(USER)["content"] == []
    assert ".m.rule.contains_display_name" not in _rules("override")
    assert ".m.rule.roomnotif" not in _rules("override")


def test_master_disabled() -> None:
    master = _rules("override")[".m.rule.master"]
    assert master["enabled"] is False
    assert master["conditions"] == []
    assert master["actions"] == []


def test_every_rule_default() -> None:
    for kind in RULE_KINDS:
        for rule in default_ruleset(USER)[kind]:
            assert rule["default"] is True, rule["rule_id"]


def test_invite_for_me_has_user_id() -> None:
    rule = _rules("override")[".m.rule.invite_for_me"]
    assert rule["conditions"] == [
        {"kind": "event_match", "key": "type", "pattern": "m.room.member"},
        {"kind": "event_match", "key": "content.membership", "pattern": "invite"},
        {"kind": "event_match", "key": "state_key", "pattern": USER},
    ]
    assert rule["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]


def test_is_user_mention() -> None:
    rule = _rules("override")[".m.rule.is_user_mention"]
    assert rule["conditions"] == [
        {
            "kind": "event_property_contains",
            "key": "content.m\\.mentions.user_ids",
            "value": USER,
        }
    ]
    assert rule["actions"] == [
        "notify",
        {"set_tweak": "sound", "value": "default"},
        {"set_tweak": "highlight"},
    ]


def test_is_room_mention() -> None:
    rule = _rules("override")[".m.rule.is_room_mention"]
    assert rule["conditions"] == [
        {
            "kind": "event_property_is",
            "key": "content.m\\.mentions.room",
            "value": True,
        },
        {"kind": "sender_notification_permission", "key": "room"},
    ]
    assert rule["actions"] == ["notify", {"set_tweak": "highlight"}]


def test_suppress_edits() -> None:
    rule = _rules("override")[".m.rule.suppress_edits"]
    assert rule["conditions"] == [
        {
            "kind": "event_property_is",
            "key": "content.m\\.relates_to.rel_type",
            "value": "m.replace",
        }
    ]
    assert rule["actions"] == []


def test_tombstone_state_key_empty() -> None:
    rule = _rules("override")[".m.rule.tombstone"]
    assert {"kind": "event_match", "key": "state_key", "pattern": ""} in rule[
        "conditions"
    ]
    assert rule["actions"] == ["notify", {"set_tweak": "highlight"}]


def test_one_to_one_rules() -> None:
    rules = _rules("underride")
    for rule_id, event_type in (
        (".m.rule.room_one_to_one", "m.room.message"),
        (".m.rule.encrypted_room_one_to_one", "m.room.encrypted"),
    ):
        assert rules[rule_id]["conditions"] == [
            {"kind": "room_member_count", "is": "2"},
            {"kind": "event_match", "key": "type", "pattern": event_type},
        ]
        assert rules[rule_id]["actions"] == [
            "notify",
            {"set_tweak": "sound", "value": "default"},
        ]


def test_call_rings() -> None:
    rule = _rules("underride")[".m.rule.call"]
    assert rule["actions"] == ["notify", {"set_tweak": "sound", "value": "ring"}]


def test_rulesets_independent() -> None:
    first = default_ruleset(USER)
    first["override"][0]["enabled"] = True
    assert default_ruleset(USER)["override"][0]["enabled"] is False
