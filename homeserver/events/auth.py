"""The authorization rules of room versions 10, 11 and 12.

Spec: Room Versions v10, v11 and v12, "Authorisation rules", and Server-Server API,
"Auth events selection". The numbered comments follow the v11 numbering, with the
v12 number in brackets where it differs, because v12 inserts a rule 2.

Calling contract (Server-Server API, "Checks performed on receipt of a PDU"): the
caller runs `check_auth_events_selection` once on the event's own auth events, then
`check_auth_rules` against the auth events, against the state before the event
(rejecting the event on failure) and against the current state (soft-failing it on
failure). Rejected events must never be passed as auth events, because these
functions cannot tell. Signatures and hashes are checked before, in `signing` and
`hashing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from homeserver.events.auth_membership import check_member_event, get_membership
from homeserver.events.errors import AuthError
from homeserver.events.event import Event
from homeserver.identifiers import get_domain_from_id, is_valid_user_id
from homeserver.events.power_levels import (
    CREATE_KEY,
    POWER_LEVELS_KEY,
    PowerLevel,
    StateKey,
    StateMap,
    as_power_level,
    get_named_level,
    get_room_creators,
    get_send_level,
    get_user_power_level,
)
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion

__all__ = [
    "AuthError",
    "auth_types_for_event",
    "check_auth_events_selection",
    "check_auth_rules",
    "get_send_level",
    "get_user_power_level",
]

_NAMED_LEVELS = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)


def auth_types_for_event(
    room_version: RoomVersion,
    event_type: str,
    sender: str,
    state_key: str | None,
    content: dict[str, Any],
) -> set[StateKey]:
    """Return the `(type, state_key)` pairs an event's auth events are drawn from.

    Spec: Server-Server API, "Auth events selection". Since v12 the create event is
    never selected, because the room ID identifies it.
    """
    if event_type == "m.room.create":
        return set()

    auth_types: set[StateKey] = {POWER_LEVELS_KEY, ("m.room.member", sender)}
    if room_version.create_event_in_auth_events:
        auth_types.add(CREATE_KEY)

    if event_type != "m.room.member" or state_key is None:
        return auth_types

    auth_types.add(("m.room.member", state_key))
    membership = content.get("membership")
    if membership in ("join", "invite", "knock"):
        auth_types.add(("m.room.join_rules", ""))

    if membership == "invite":
        third_party_invite = content.get("third_party_invite")
        if isinstance(third_party_invite, dict):
            signed = third_party_invite.get("signed")
            token = signed.get("token") if isinstance(signed, dict) else None
            if isinstance(token, str):
                auth_types.add(("m.room.third_party_invite", token))

    if membership == "join" and room_version.restricted_join_rule:
        authoriser = content.get("join_authorised_via_users_server")
        if isinstance(authoriser, str):
            auth_types.add(("m.room.member", authoriser))

    return auth_types


def check_auth_events_selection(
    room_version: RoomVersion, event: Event, auth_events: Iterable[Event]
) -> None:
    """Raise `AuthError` if the event's own `auth_events` are not a valid selection.

    `auth_events` are the events named by `event.auth_event_ids`. This covers rule
    2 (v12: 3) except 2.3, that no auth event was rejected, which the caller checks.
    """
    if event.type == "m.room.create":
        return

    expected = auth_types_for_event(
        room_version, event.type, event.sender, event.state_key, event.content
    )
    seen: set[StateKey] = set()
    for auth_event in auth_events:
        if auth_event.state_key is None:
            raise AuthError(f"auth event {auth_event.event_id} is not a state event")
        key = (auth_event.type, auth_event.state_key)
        # 2.1
        if key in seen:
            raise AuthError(f"auth_events has more than one {key} event")
        seen.add(key)
        # 2.2: since v12 this also rejects the create event.
        if key not in expected:
            raise AuthError(f"auth_events contains {key}, which this event cannot use")
        # 2.5
        if auth_event.room_id != event.room_id:
            raise AuthError(
                f"auth event {auth_event.event_id} is in room {auth_event.room_id}, "
                f"not {event.room_id}"
            )

    # 2.4 (until v12): the create event must be among the auth events.
    if room_version.create_event_in_auth_events and CREATE_KEY not in seen:
        raise AuthError("auth_events has no m.room.create event")


def check_auth_rules(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    """Raise `AuthError` unless `event` is allowed by the rules against this state.

    `auth_events` maps `(type, state_key)` to the state to check against: the
    event's auth events or a full room state. It must contain the room's create
    event in every room version. Since v12 the create event is not among the
    event's `auth_events`, so the caller looks it up by room ID, and must only pass
    an accepted one.
    """
    # 1
    if event.type == "m.room.create":
        _check_create(room_version, event)
        return

    create_event = auth_events.get(CREATE_KEY)
    if create_event is None:
        raise AuthError("no m.room.create event in the auth state")

    # [v12: 2] the room ID is the create event's ID with the sigil `!`.
    if room_version.room_id_from_create_event:
        expected_room_id = "!" + create_event.event_id[1:]
        if event.room_id != expected_room_id:
            raise AuthError(
                f"room ID {event.room_id} is not derived from create event "
                f"{create_event.event_id}"
            )

    # 2.5 [v12: 3.5], applied to the state given.
    for auth_event in auth_events.values():
        if auth_event.room_id != event.room_id:
            raise AuthError(
                f"auth event {auth_event.event_id} is in room {auth_event.room_id}, "
                f"not {event.room_id}"
            )

    # 3 [v12: 4]
    _check_federation_allowed(event, create_event)

    # 4 [v12: 5]
    if event.type == "m.room.member":
        check_member_event(room_version, event, auth_events)
        return

    # 5 [v12: 6]
    if get_membership(event.sender, auth_events) != "join":
        raise AuthError(f"{event.sender} is not joined to the room")

    sender_level = get_user_power_level(event.sender, auth_events, room_version)
    power_levels_event = auth_events.get(POWER_LEVELS_KEY)

    # 6 [v12: 7]
    if event.type == "m.room.third_party_invite":
        invite_level = get_named_level("invite", power_levels_event, room_version)
        if sender_level < invite_level:
            raise AuthError(
                f"{event.sender} has power level {sender_level}, below the invite "
                f"level {invite_level}"
            )
        return

    # 7 [v12: 8]
    send_level = get_send_level(
        event.type, event.state_key, power_levels_event, room_version
    )
    if sender_level < send_level:
        raise AuthError(
            f"{event.sender} has power level {sender_level}, below the level "
            f"{send_level} needed to send {event.type}"
        )

    # 8 [v12: 9]
    state_key = event.state_key
    if (
        state_key is not None
        and state_key.startswith("@")
        and state_key != event.sender
    ):
        raise AuthError(f"{event.sender} cannot set state keyed to user {state_key}")

    # 9 [v12: 10]
    if event.type == "m.room.power_levels":
        _check_power_levels(room_version, event, auth_events, sender_level)

    # 10 [v12: 11]


def _check_create(room_version: RoomVersion, event: Event) -> None:
    # 1.1
    if event.prev_event_ids:
        raise AuthError("m.room.create event has prev_events")

    # 1.2
    if room_version.room_id_from_create_event:
        if "room_id" in event.pdu:
            raise AuthError("m.room.create event must not have a room_id")
    else:
        room_domain = get_domain_from_id(event.room_id)
        sender_domain = get_domain_from_id(event.sender)
        if room_domain != sender_domain:
            raise AuthError(
                f"room ID domain {room_domain} does not match sender domain "
                f"{sender_domain}"
            )

    # 1.3
    content_version = event.content.get("room_version")
    if content_version is not None and content_version not in KNOWN_ROOM_VERSIONS:
        raise AuthError(f"unknown room version {content_version!r} in m.room.create")

    # 1.4 (v10): `creator` is required.
    if not room_version.implicit_room_creator and "creator" not in event.content:
        raise AuthError("m.room.create event has no content.creator")

    # [v12: 1.4] additional creators must be valid user IDs.
    if room_version.privileged_creators and "additional_creators" in event.content:
        additional = event.content["additional_creators"]
        if not isinstance(additional, list) or not all(
            is_valid_user_id(user_id) for user_id in additional
        ):
            raise AuthError("additional_creators must be a list of valid user IDs")


def _check_federation_allowed(event: Event, create_event: Event) -> None:
    # NOTE: the rule applies when `m.federate` is exactly false. Synapse instead
    # treats every value other than true as false.
    if create_event.content.get("m.federate", True) is not False:
        return
    sender_domain = get_domain_from_id(event.sender)
    creator_domain = get_domain_from_id(create_event.sender)
    if sender_domain != creator_domain:
        raise AuthError(
            f"room does not federate, and {event.sender} is not on {creator_domain}"
        )


def _check_power_levels(
    room_version: RoomVersion,
    event: Event,
    auth_events: StateMap,
    sender_level: PowerLevel,
) -> None:
    content = event.content

    # 9.1, 9.2 and 9.3 [v12: 10.1-10.3]
    _check_power_levels_types(room_version, content)

    # [v12: 10.4] creators cannot be listed in `users`.
    create_event = auth_events[CREATE_KEY]
    if room_version.privileged_creators:
        creators = get_room_creators(create_event, room_version)
        listed = creators.intersection(content.get("users", {}))
        if listed:
            raise AuthError(
                f"power levels users must not list room creators: {sorted(listed)}"
            )

    # 9.4 [v12: 10.5]
    current_event = auth_events.get(POWER_LEVELS_KEY)
    if current_event is None:
        return
    current = current_event.content

    # 9.5 [v12: 10.6]
    for name in _NAMED_LEVELS:
        old = as_power_level(current.get(name), room_version)
        new = as_power_level(content.get(name), room_version)
        if old == new:
            continue
        if old is not None and old > sender_level:
            raise AuthError(f"cannot change {name} from {old}, above own level")
        if new is not None and new > sender_level:
            raise AuthError(f"cannot set {name} to {new}, above own level")

    # 9.6 and 9.7 [v12: 10.7 and 10.8]
    mapping_names = ["events"]
    if room_version.limit_notifications_power_levels:
        mapping_names.append("notifications")
    for name in mapping_names:
        _check_level_mapping_change(
            room_version,
            name,
            current.get(name),
            content.get(name),
            sender_level,
        )

    # 9.8 and 9.9 [v12: 10.9 and 10.10]
    _check_users_change(
        room_version,
        event.sender,
        current.get("users"),
        content.get("users"),
        sender_level,
    )


def _check_power_levels_types(
    room_version: RoomVersion, content: dict[str, Any]
) -> None:
    if room_version.enforce_int_power_levels:
        for name in _NAMED_LEVELS:
            if name in content and not _is_int(content[name]):
                raise AuthError(f"power levels {name} must be an integer")
        for name in ("events", "notifications"):
            if name in content and not _is_int_mapping(content[name]):
                raise AuthError(f"power levels {name} must map strings to integers")

    if "users" in content:
        users = content["users"]
        if not isinstance(users, dict):
            raise AuthError("power levels users must be an object")
        for user_id, level in users.items():
            if not is_valid_user_id(user_id):
                raise AuthError(f"power levels users has invalid user ID {user_id!r}")
            if as_power_level(level, room_version) is None:
                raise AuthError(f"power level of {user_id} must be an integer")


def _check_level_mapping_change(
    room_version: RoomVersion,
    name: str,
    old_mapping: Any,
    new_mapping: Any,
    sender_level: PowerLevel,
) -> None:
    for key, old_level, new_level in _changed_levels(
        old_mapping, new_mapping, room_version
    ):
        # Changed or removed: the current value must not exceed the sender's level.
        if old_level is not None and old_level > sender_level:
            raise AuthError(f"cannot change {name}[{key!r}] from {old_level}")
        # Added or changed: the new value must not exceed the sender's level.
        if new_level is not None and new_level > sender_level:
            raise AuthError(f"cannot set {name}[{key!r}] to {new_level}")


def _check_users_change(
    room_version: RoomVersion,
    sender: str,
    old_mapping: Any,
    new_mapping: Any,
    sender_level: PowerLevel,
) -> None:
    for user_id, old_level, new_level in _changed_levels(
        old_mapping, new_mapping, room_version
    ):
        # Changed or removed, other than the sender's own entry: the current value
        # must be below the sender's level.
        if user_id != sender and old_level is not None and old_level >= sender_level:
            raise AuthError(
                f"cannot change the level of {user_id} ({old_level}), which is not "
                "below own level"
            )
        # Added or changed: the new value must not exceed the sender's level.
        if new_level is not None and new_level > sender_level:
            raise AuthError(f"cannot give {user_id} level {new_level}, above own level")


def _changed_levels(
    old_mapping: Any, new_mapping: Any, room_version: RoomVersion
) -> Iterator[tuple[str, int | None, int | None]]:
    """Yield `(key, old, new)` for each entry added, changed or removed."""
    old = _level_mapping(old_mapping, room_version)
    new = _level_mapping(new_mapping, room_version)
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            yield key, old.get(key), new.get(key)


def _level_mapping(mapping: Any, room_version: RoomVersion) -> dict[str, int]:
    if not isinstance(mapping, dict):
        return {}
    levels: dict[str, int] = {}
    for key, value in mapping.items():
        level = as_power_level(value, room_version)
        if level is not None:
            levels[key] = level
    return levels


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_int(item) for item in value.values())
