"""The server-default push rules of every user.

Spec: Client-Server API, "Push Rules" and "Predefined Rules" (v1.19). Since v1.17
the legacy body-matching defaults (`.m.rule.contains_display_name`,
`.m.rule.contains_user_name`, `.m.rule.roomnotif`) are gone, so the `content` kind has
no server-default rules. A user's own rules are not stored yet, so every user has
exactly these rules.
"""

from __future__ import annotations

import copy
from typing import Any

RULE_KINDS = ("override", "content", "room", "sender", "underride")

# Stands for the user's Matrix ID in the conditions below.
_USER = "[user_id]"

_SOUND_DEFAULT = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT = {"set_tweak": "highlight"}


def _match(key: str, pattern: str) -> dict[str, Any]:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _rule(
    rule_id: str,
    conditions: list[dict[str, Any]],
    actions: list[Any],
    enabled: bool = True,
) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "default": True,
        "enabled": enabled,
        "conditions": conditions,
        "actions": actions,
    }


# Ordered from highest to lowest priority within each kind.
_OVERRIDE = [
    _rule(".m.rule.master", [], [], enabled=False),
    _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
    _rule(
        ".m.rule.invite_for_me",
        [
            _match("type", "m.room.member"),
            _match("content.membership", "invite"),
            _match("state_key", _USER),
        ],
        ["notify", _SOUND_DEFAULT],
    ),
    _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
    _rule(
        ".m.rule.is_user_mention",
        [
            {
                "kind": "event_property_contains",
                "key": "content.m\\.mentions.user_ids",
                "value": _USER,
            }
        ],
        ["notify", _SOUND_DEFAULT, _HIGHLIGHT],
    ),
    _rule(
        ".m.rule.is_room_mention",
        [
            {
                "kind": "event_property_is",
                "key": "content.m\\.mentions.room",
                "value": True,
            },
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        ["notify", _HIGHLIGHT],
    ),
    _rule(
        ".m.rule.tombstone",
        [_match("type", "m.room.tombstone"), _match("state_key", "")],
        ["notify", _HIGHLIGHT],
    ),
    _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
    _rule(
        ".m.rule.room.server_acl",
        [_match("type", "m.room.server_acl"), _match("state_key", "")],
        [],
    ),
    _rule(
        ".m.rule.suppress_edits",
        [
            {
                "kind": "event_property_is",
                "key": "content.m\\.relates_to.rel_type",
                "value": "m.replace",
            }
        ],
        [],
    ),
]

_ONE_TO_ONE = {"kind": "room_member_count", "is": "2"}

_UNDERRIDE = [
    _rule(
        ".m.rule.call",
        [_match("type", "m.call.invite")],
        ["notify", {"set_tweak": "sound", "value": "ring"}],
    ),
    _rule(
        ".m.rule.encrypted_room_one_to_one",
        [_ONE_TO_ONE, _match("type", "m.room.encrypted")],
        ["notify", _SOUND_DEFAULT],
    ),
    _rule(
        ".m.rule.room_one_to_one",
        [_ONE_TO_ONE, _match("type", "m.room.message")],
        ["notify", _SOUND_DEFAULT],
    ),
    _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
    _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
]


def _substitute_user(value: Any, user_id: str) -> Any:
    if value == _USER:
        return user_id
    if isinstance(value, dict):
        return {key: _substitute_user(item, user_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_user(item, user_id) for item in value]
    return value


def default_ruleset(user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Build the `global` ruleset of `user_id`: every kind, in priority order."""
    ruleset: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RULE_KINDS}
    ruleset["override"] = _substitute_user(copy.deepcopy(_OVERRIDE), user_id)
    ruleset["underride"] = _substitute_user(copy.deepcopy(_UNDERRIDE), user_id)
    return ruleset


class PushRules:
    """The push rules of local users; today the server defaults for everyone."""

    def ruleset(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        return default_ruleset(user_id)

    def rules_content(self, user_id: str) -> dict[str, Any]:
        """Return the `m.push_rules` account data content: `{"global": ruleset}`."""
        return {"global": self.ruleset(user_id)}

    def find_rule(self, user_id: str, kind: str, rule_id: str) -> dict[str, Any] | None:
        for rule in self.ruleset(user_id).get(kind, []):
            if rule["rule_id"] == rule_id:
                return rule
        return None
