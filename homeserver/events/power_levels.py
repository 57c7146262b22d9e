"""Power level lookups used by the authorization rules.

Spec: the `m.room.power_levels` event schema (defaults), Server-Server API,
"Definitions" (required power level, invite, kick, ban and redact levels) and, for
room version 12, the rule that room creators have infinite power.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from homeserver.events.event import Event
from homeserver.events.room_versions import RoomVersion

StateKey = tuple[str, str]
StateMap = Mapping[StateKey, Event]

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
JOIN_RULES_KEY: StateKey = ("m.room.join_rules", "")

# Since v12, room creators outrank every integer power level.
INFINITE_POWER_LEVEL = math.inf

PowerLevel = int | float

# Defaults of the named levels when the power levels event omits them, or when the
# room has none.
DEFAULT_NAMED_LEVELS = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
}

# Without a power levels event, the creator has this level in room versions 1-11.
CREATOR_DEFAULT_POWER_LEVEL = 100


def as_power_level(value: Any, room_version: RoomVersion) -> int | None:
    """Return `value` as an integer power level, or None if it is not one.

    Before v10, power levels may be numeric strings. Since v10 only integers are
    valid, and the auth rules reject power levels events that contain other types.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not room_version.enforce_int_power_levels and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def get_room_creators(create_event: Event, room_version: RoomVersion) -> set[str]:
    """Return the user IDs that count as room creators.

    Up to v10 the creator is `content.creator`, and from v11 the create event's
    sender. Since v12 the user IDs in `content.additional_creators` are creators too.
    """
    if not room_version.implicit_room_creator:
        creator = create_event.content.get("creator")
        return {creator} if isinstance(creator, str) else set()

    creators = {create_event.sender}
    if room_version.privileged_creators:
        additional = create_event.content.get("additional_creators", [])
        if isinstance(additional, list):
            creators.update(user for user in additional if isinstance(user, str))
    return creators


def get_named_level(
    name: str, power_levels_event: Event | None, room_version: RoomVersion
) -> int:
    """Return a named level (`ban`, `kick`, `redact`, `invite`, `*_default`)."""
    default = DEFAULT_NAMED_LEVELS[name]
    if power_levels_event is None:
        return default
    level = as_power_level(power_levels_event.content.get(name), room_version)
    return default if level is None else level


def get_user_power_level(
    user_id: str, auth_events: StateMap, room_version: RoomVersion
) -> PowerLevel:
    """Return a user's power level given the auth state.

    Since v12, room creators have `INFINITE_POWER_LEVEL` whether or not there is
    a power levels event. Without one, other users have level 0, and in room
    versions 1-11 the creator has level 100.
    """
    create_event = auth_events.get(CREATE_KEY)
    if room_version.privileged_creators and create_event is not None:
        if user_id in get_room_creators(create_event, room_version):
            return INFINITE_POWER_LEVEL

    power_levels_event = auth_events.get(POWER_LEVELS_KEY)
    if power_levels_event is not None:
        users = power_levels_event.content.get("users")
        if isinstance(users, dict) and user_id in users:
            level = as_power_level(users[user_id], room_version)
            if level is not None:
                return level
        return get_named_level("users_default", power_levels_event, room_version)

    if create_event is not None:
        if user_id in get_room_creators(create_event, room_version):
            return CREATOR_DEFAULT_POWER_LEVEL
    return 0


def get_send_level(
    event_type: str,
    state_key: str | None,
    power_levels_event: Event | None,
    room_version: RoomVersion,
) -> int:
    """Return the required power level to send an event of this type.

    An entry in `events` wins. Otherwise state events need `state_default` (50
    if unset) and other events need `events_default` (0 if unset).
    """
    if power_levels_event is not None:
        events = power_levels_event.content.get("events")
        if isinstance(events, dict) and event_type in events:
            level = as_power_level(events[event_type], room_version)
            if level is not None:
                return level

    default_name = "state_default" if state_key is not None else "events_default"
    return get_named_level(default_name, power_levels_event, room_version)
