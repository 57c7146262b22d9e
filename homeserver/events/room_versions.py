"""Room versions as data: one row of named flags per version.

Spec: Room Versions (the `rooms/` section of the specification). Code that behaves
differently between versions asks for a flag here instead of comparing version
strings, so adding an older or newer version is a new row in `KNOWN_ROOM_VERSIONS`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass


class RoomDisposition(enum.Enum):
    """Whether the specification lists a version as stable or unstable."""

    STABLE = "stable"
    UNSTABLE = "unstable"


class EventIdFormat(enum.Enum):
    """How event IDs are formed.

    `V1` (room versions 1 and 2): `$opaque:domain`, chosen by the origin server and
    carried in the PDU. `V2` (version 3): `$` plus the reference hash in standard
    unpadded base64. `V3` (version 4 onwards): `$` plus the reference hash in URL-safe
    unpadded base64.
    """

    V1 = 1
    V2 = 2
    V3 = 3


class StateResolutionVersion(enum.Enum):
    """The state resolution algorithm of a room version."""

    V1 = "v1"
    V2 = "v2"
    # Room version 12: iterative auth checks start from an empty state and the full
    # conflicted set includes the conflicted state subgraph.
    V2_1 = "v2.1"


@dataclass(frozen=True)
class RoomVersion:
    """The rules of one room version.

    Each flag names one behaviour and states the version that introduced it.
    """

    identifier: str
    disposition: RoomDisposition
    event_id_format: EventIdFormat
    state_resolution: StateResolutionVersion
    # Since v5: signatures from keys expired at `origin_server_ts` are not valid.
    enforce_key_validity: bool
    # Before v6: `m.room.aliases` has its own auth rule and keeps `aliases` when
    # redacted.
    special_case_aliases_auth: bool
    # Since v6: PDUs must be valid canonical JSON (no floats, integers within
    # [-(2**53)+1, (2**53)-1]).
    strict_canonical_json: bool
    # Since v6: changes to `notifications` in power levels are checked like `events`.
    limit_notifications_power_levels: bool
    # Since v7: the `knock` membership and join rule.
    knock_join_rule: bool
    # Since v8: the `restricted` join rule and `join_authorised_via_users_server`.
    restricted_join_rule: bool
    # Since v9: redaction keeps `join_authorised_via_users_server` on members.
    restricted_join_rule_fix: bool
    # Since v10: the `knock_restricted` join rule.
    knock_restricted_join_rule: bool
    # Since v10: power level values must be integers, not numeric strings.
    enforce_int_power_levels: bool
    # Since v11: `m.room.create` has no `creator`, and its `sender` is the creator.
    implicit_room_creator: bool
    # Since v11: the revised redaction algorithm (create keeps all content, power
    # levels keep `invite`, redactions keep `redacts`, third-party invites keep
    # `signed`, top-level `origin`, `membership` and `prev_state` are removed).
    updated_redaction_rules: bool
    # Since v11: `m.room.redaction` carries `redacts` in `content`, not top level.
    redacts_in_content: bool
    # Since v12: the room ID is the create event's ID with the sigil `!`, and the
    # create event has no `room_id`.
    room_id_from_create_event: bool
    # Until v12: the create event is selected into every event's `auth_events`.
    create_event_in_auth_events: bool
    # Since v12: the create event's sender and `additional_creators` have infinite
    # power and may not be listed in the power levels `users`.
    privileged_creators: bool

    @property
    def max_depth(self) -> int:
        """The largest allowed `depth`, which depends on the canonical JSON rules."""
        if self.strict_canonical_json:
            return 2**53 - 1
        return 2**63 - 1


ROOM_VERSION_10 = RoomVersion(
    identifier="10",
    disposition=RoomDisposition.STABLE,
    event_id_format=EventIdFormat.V3,
    state_resolution=StateResolutionVersion.V2,
    enforce_key_validity=True,
    special_case_aliases_auth=False,
    strict_canonical_json=True,
    limit_notifications_power_levels=True,
    knock_join_rule=True,
    restricted_join_rule=True,
    restricted_join_rule_fix=True,
    knock_restricted_join_rule=True,
    enforce_int_power_levels=True,
    implicit_room_creator=False,
    updated_redaction_rules=False,
    redacts_in_content=False,
    room_id_from_create_event=False,
    create_event_in_auth_events=True,
    privileged_creators=False,
)

# Each later version is written as its differences from the version it builds on,
# as the specification describes it.
ROOM_VERSION_11 = dataclasses.replace(
    ROOM_VERSION_10,
    identifier="11",
    implicit_room_creator=True,
    updated_redaction_rules=True,
    redacts_in_content=True,
)

ROOM_VERSION_12 = dataclasses.replace(
    ROOM_VERSION_11,
    identifier="12",
    state_resolution=StateResolutionVersion.V2_1,
    room_id_from_create_event=True,
    create_event_in_auth_events=False,
    privileged_creators=True,
)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    version.identifier: version
    for version in (ROOM_VERSION_10, ROOM_VERSION_11, ROOM_VERSION_12)
}

# Spec: Room Versions, "Complete list of room versions": servers should use room
# version 12 as the default for new rooms.
DEFAULT_ROOM_VERSION = "12"


def get_room_version(identifier: str) -> RoomVersion | None:
    """Return the rules for a room version, or None if this server does not know it."""
    return KNOWN_ROOM_VERSIONS.get(identifier)
