"""The redaction algorithm: which parts of an event survive redaction.

Spec: Room Versions, "Redactions" (v9 rules used by room version 10, the updated rules
of room version 11 and later). The same pruned form is what event signatures and the
reference hash (and therefore the event ID) cover, so a mistake here breaks
federation with every other server.
"""

from __future__ import annotations

import copy
from typing import Any

from homeserver.events.room_versions import RoomVersion

# Top-level keys every room version keeps.
_BASE_TOP_LEVEL_KEYS = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)

# Before v11, these top-level keys were kept as well.
_LEGACY_TOP_LEVEL_KEYS = frozenset({"prev_state", "origin", "membership"})

_POWER_LEVELS_CONTENT_KEYS = (
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
)


def prune_event_dict(
    room_version: RoomVersion, event: dict[str, Any]
) -> dict[str, Any]:
    """Return a redacted deep copy of a PDU dict.

    Keys outside the version's allowed top-level list are removed, `unsigned`
    included, and `content` keeps only the keys that the event type protects.
    The input is not modified.
    """
    allowed_top_level = set(_BASE_TOP_LEVEL_KEYS)
    if not room_version.updated_redaction_rules:
        allowed_top_level |= _LEGACY_TOP_LEVEL_KEYS

    pruned = {
        key: copy.deepcopy(value)
        for key, value in event.items()
        if key in allowed_top_level
    }

    content = event.get("content")
    if not isinstance(content, dict):
        content = {}
    pruned["content"] = copy.deepcopy(
        _prune_content(room_version, event.get("type"), content)
    )
    return pruned


def _prune_content(
    room_version: RoomVersion, event_type: Any, content: dict[str, Any]
) -> dict[str, Any]:
    """Return the protected keys of `content` for one event type."""
    kept: dict[str, Any] = {}

    def keep(*keys: str) -> None:
        for key in keys:
            if key in content:
                kept[key] = content[key]

    if event_type == "m.room.member":
        keep("membership")
        if room_version.restricted_join_rule_fix:
            keep("join_authorised_via_users_server")
        if room_version.updated_redaction_rules:
            # Since v11 only `signed` survives, inside a `third_party_invite` object
            # that stays (possibly empty) whenever the original had one. Synapse
            # keeps the empty object too, and event IDs must match across servers.
            third_party_invite = content.get("third_party_invite")
            if isinstance(third_party_invite, dict):
                kept["third_party_invite"] = {}
                if "signed" in third_party_invite:
                    kept["third_party_invite"]["signed"] = third_party_invite["signed"]

    elif event_type == "m.room.create":
        if room_version.updated_redaction_rules:
            return dict(content)
        if not room_version.implicit_room_creator:
            keep("creator")

    elif event_type == "m.room.join_rules":
        keep("join_rule")
        if room_version.restricted_join_rule:
            keep("allow")

    elif event_type == "m.room.power_levels":
        keep(*_POWER_LEVELS_CONTENT_KEYS)
        if room_version.updated_redaction_rules:
            keep("invite")

    elif event_type == "m.room.aliases":
        if room_version.special_case_aliases_auth:
            keep("aliases")

    elif event_type == "m.room.history_visibility":
        keep("history_visibility")

    elif event_type == "m.room.redaction":
        if room_version.updated_redaction_rules:
            keep("redacts")

    return kept
