"""Auth rules after the membership rule: sender membership, send levels, state
keys, power levels events, and the auth events selection."""

import pytest

from homeserver.events.auth import (
    AuthError,
    auth_types_for_event,
    check_auth_events_selection,
    get_send_level,
    get_user_power_level,
)
from homeserver.events.power_levels import INFINITE_POWER_LEVEL
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

from tests.events.room_builder import ALICE, BOB, CAROL, Room

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL_VERSIONS = pytest.mark.parametrize(
    "room_version", [V10, V11, V12], ids=lambda version: version.identifier
)
PRE_V12 = pytest.mark.parametrize("room_version", [V10, V11], ids=["10", "11"])


def make_room(room_version, users=None, **levels) -> Room:
    """Return a room where Alice (creator) and Bob (level 50 by default) joined."""
    room = Room(room_version)
    user_levels = {BOB: 50, **(users or {})}
    if not room_version.privileged_creators:
        user_levels.setdefault(ALICE, 100)
    room.force("m.room.power_levels", "", {"users": user_levels, **levels})
    room.set_membership(BOB, "join")
    return room


def power_levels(room: Room, sender: str, content: dict):
    """Build a power levels event that keeps the current `users` unless replaced."""
    current = room.state.get(("m.room.power_levels", ""))
    users = dict(current.content.get("users", {})) if current else {}
    users.update(content.get("users", {}))
    content = {**content, "users": users}
    return room.event("m.room.power_levels", sender, content, "")


# Sender membership, send levels and state keys


@ALL_VERSIONS
def test_message_from_member_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(room.event("m.room.message", BOB, {"body": "hi"}))


@ALL_VERSIONS
@pytest.mark.parametrize("membership", [None, "invite", "leave", "knock", "ban"])
def test_message_from_non_member_rejected(room_version, membership) -> None:
    room = make_room(room_version)
    if membership is not None:
        room.set_membership(CAROL, membership)
    with pytest.raises(AuthError, match="not joined"):
        room.check(room.event("m.room.message", CAROL, {"body": "hi"}))


@ALL_VERSIONS
def test_third_party_invite_event_needs_invite_level(room_version) -> None:
    room = make_room(room_version, invite=60)
    event = room.event("m.room.third_party_invite", BOB, {}, "token")
    with pytest.raises(AuthError, match="invite level"):
        room.check(event)


@ALL_VERSIONS
def test_third_party_invite_event_at_invite_level_allowed(room_version) -> None:
    # The invite level alone decides, even when state_default is higher.
    room = make_room(room_version, invite=50, state_default=90)
    room.check(room.event("m.room.third_party_invite", BOB, {}, "token"))


@ALL_VERSIONS
def test_state_below_state_default_rejected(room_version) -> None:
    room = make_room(room_version, state_default=60)
    with pytest.raises(AuthError, match="needed to send m.room.topic"):
        room.check(room.event("m.room.topic", BOB, {"topic": "t"}, ""))


@ALL_VERSIONS
def test_state_default_is_50_when_unset(room_version) -> None:
    room = make_room(room_version, users={BOB: 49})
    with pytest.raises(AuthError, match="level 50"):
        room.check(room.event("m.room.topic", BOB, {"topic": "t"}, ""))


@ALL_VERSIONS
def test_events_entry_overrides_default(room_version) -> None:
    room = make_room(room_version, events={"m.room.topic": 10})
    room.check(room.event("m.room.topic", BOB, {"topic": "t"}, ""))


@ALL_VERSIONS
def test_message_below_events_default_rejected(room_version) -> None:
    room = make_room(room_version, events_default=51)
    with pytest.raises(AuthError, match="needed to send m.room.message"):
        room.check(room.event("m.room.message", BOB, {"body": "hi"}))


@ALL_VERSIONS
def test_redaction_ignores_redact_level(room_version) -> None:
    room = make_room(room_version, redact=100)
    room.check(room.event("m.room.redaction", BOB, {"redacts": "$x"}, redacts="$x"))


@ALL_VERSIONS
def test_state_keyed_to_other_user_rejected(room_version) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match="keyed to user"):
        room.check(room.event("com.example.state", BOB, {}, ALICE))


@ALL_VERSIONS
def test_state_keyed_to_own_user_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(room.event("com.example.state", BOB, {}, BOB))


@PRE_V12
def test_no_power_levels_creator_has_100(room_version) -> None:
    room = Room(room_version)
    assert get_user_power_level(ALICE, room.state, room_version) == 100
    assert get_user_power_level(BOB, room.state, room_version) == 0


def test_v12_creators_have_infinite_power() -> None:
    room = Room(V12, create_content={"additional_creators": [BOB]})
    room.force("m.room.power_levels", "", {"users_default": 10})
    assert get_user_power_level(ALICE, room.state, V12) == INFINITE_POWER_LEVEL
    assert get_user_power_level(BOB, room.state, V12) == INFINITE_POWER_LEVEL
    assert get_user_power_level(CAROL, room.state, V12) == 10


def test_send_level_defaults_without_power_levels() -> None:
    assert get_send_level("m.room.topic", "", None, V11) == 50
    assert get_send_level("m.room.message", None, None, V11) == 0


# Power levels events


@ALL_VERSIONS
@pytest.mark.parametrize(
    "name",
    [
        "users_default",
        "events_default",
        "state_default",
        "ban",
        "redact",
        "kick",
        "invite",
    ],
)
@pytest.mark.parametrize("value", ["50", 50.0, None, True])
def test_power_levels_non_integer_level_rejected(room_version, name, value) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match=name):
        room.check(power_levels(room, ALICE, {name: value}))


@ALL_VERSIONS
@pytest.mark.parametrize("name", ["events", "notifications"])
@pytest.mark.parametrize("value", [[], {"key": "50"}, {"key": None}])
def test_power_levels_bad_level_mapping_rejected(room_version, name, value) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match=name):
        room.check(power_levels(room, ALICE, {name: value}))


@ALL_VERSIONS
@pytest.mark.parametrize(
    "users", [[], {"bob": 10}, {"@bob": 10}, {BOB: "10"}, {BOB: False}]
)
def test_power_levels_bad_users_rejected(room_version, users) -> None:
    room = make_room(room_version)
    event = room.event("m.room.power_levels", ALICE, {"users": users}, "")
    with pytest.raises(AuthError, match="users|power level of"):
        room.check(event)


@ALL_VERSIONS
def test_first_power_levels_allowed(room_version) -> None:
    room = Room(room_version)
    room.check(power_levels(room, ALICE, {"users": {BOB: 100}, "ban": 1000}))


@ALL_VERSIONS
def test_power_levels_change_within_own_level_allowed(room_version) -> None:
    room = make_room(room_version)
    content = {"users": {BOB: 50, CAROL: 40}, "kick": 40, "events": {"x": 50}}
    room.check(power_levels(room, BOB, content))


@ALL_VERSIONS
def test_named_level_raised_above_own_rejected(room_version) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match="cannot set ban"):
        room.check(power_levels(room, BOB, {"users": {BOB: 50}, "ban": 51}))


@ALL_VERSIONS
def test_named_level_above_own_cannot_change(room_version) -> None:
    room = make_room(room_version, kick=60)
    with pytest.raises(AuthError, match="cannot change kick"):
        room.check(power_levels(room, BOB, {"users": {BOB: 50}, "kick": 10}))


@ALL_VERSIONS
def test_named_level_above_own_cannot_be_removed(room_version) -> None:
    room = make_room(
        room_version, state_default=60, events={"m.room.power_levels": 50}
    )
    content = {"users": {BOB: 50}, "events": {"m.room.power_levels": 50}}
    with pytest.raises(AuthError, match="cannot change state_default"):
        room.check(power_levels(room, BOB, content))


@ALL_VERSIONS
def test_named_level_added_above_own_rejected(room_version) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match="cannot set redact"):
        room.check(power_levels(room, BOB, {"users": {BOB: 50}, "redact": 60}))


@ALL_VERSIONS
@pytest.mark.parametrize("name", ["events", "notifications"])
def test_mapping_entry_added_above_own_rejected(room_version, name) -> None:
    room = make_room(room_version)
    content = {"users": {BOB: 50}, name: {"m.room.name": 51}}
    with pytest.raises(AuthError, match=f"cannot set {name}"):
        room.check(power_levels(room, BOB, content))


@ALL_VERSIONS
@pytest.mark.parametrize("name", ["events", "notifications"])
def test_mapping_entry_above_own_cannot_be_removed(room_version, name) -> None:
    room = make_room(room_version, **{name: {"room": 60}})
    with pytest.raises(AuthError, match=f"cannot change {name}"):
        room.check(power_levels(room, BOB, {"users": {BOB: 50}}))


@ALL_VERSIONS
def test_demoting_equal_level_user_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 50})
    content = {"users": {BOB: 50, CAROL: 0}}
    with pytest.raises(AuthError, match="level of @carol"):
        room.check(power_levels(room, BOB, content))


@ALL_VERSIONS
def test_demoting_lower_level_user_allowed(room_version) -> None:
    room = make_room(room_version, users={CAROL: 49})
    room.check(power_levels(room, BOB, {"users": {CAROL: 0}}))


@ALL_VERSIONS
def test_removing_higher_user_entry_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 60})
    event = power_levels(room, BOB, {})
    del event.content["users"][CAROL]
    with pytest.raises(AuthError, match="level of @carol"):
        room.check(event)


@ALL_VERSIONS
def test_demoting_self_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(power_levels(room, BOB, {"users": {BOB: 10}}))


@ALL_VERSIONS
def test_promoting_above_own_level_rejected(room_version) -> None:
    room = make_room(room_version)
    content = {"users": {BOB: 50, CAROL: 51}}
    with pytest.raises(AuthError, match="cannot give @carol"):
        room.check(power_levels(room, BOB, content))


@ALL_VERSIONS
def test_promoting_to_own_level_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(power_levels(room, BOB, {"users": {BOB: 50, CAROL: 50}}))


@pytest.mark.parametrize("listed", [ALICE, BOB])
def test_v12_power_levels_listing_creator_rejected(listed) -> None:
    room = Room(V12, create_content={"additional_creators": [BOB]})
    with pytest.raises(AuthError, match="room creators"):
        room.check(power_levels(room, ALICE, {"users": {listed: 100}}))


@PRE_V12
def test_pre_v12_power_levels_may_list_creator(room_version) -> None:
    room = Room(room_version)
    room.check(power_levels(room, ALICE, {"users": {ALICE: 100}}))


def test_v12_creator_may_set_any_level() -> None:
    room = make_room(V12)
    content = {"users": {BOB: 2**53 - 1}, "ban": 2**53 - 1}
    room.check(power_levels(room, ALICE, content))


# Auth events selection


@ALL_VERSIONS
def test_auth_types_for_message(room_version) -> None:
    types = auth_types_for_event(room_version, "m.room.message", BOB, None, {})
    expected = {("m.room.power_levels", ""), ("m.room.member", BOB)}
    if room_version.create_event_in_auth_events:
        expected.add(("m.room.create", ""))
    assert types == expected


@ALL_VERSIONS
def test_auth_types_for_create_is_empty(room_version) -> None:
    assert auth_types_for_event(room_version, "m.room.create", ALICE, "", {}) == set()


def test_auth_types_for_third_party_invite_member() -> None:
    content = {"membership": "invite", "third_party_invite": {"signed": {"token": "t"}}}
    types = auth_types_for_event(V11, "m.room.member", ALICE, BOB, content)
    assert types == {
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.member", BOB),
        ("m.room.join_rules", ""),
        ("m.room.third_party_invite", "t"),
    }


def test_auth_types_for_restricted_join() -> None:
    content = {"membership": "join", "join_authorised_via_users_server": CAROL}
    types = auth_types_for_event(V12, "m.room.member", BOB, BOB, content)
    assert types == {
        ("m.room.power_levels", ""),
        ("m.room.member", BOB),
        ("m.room.join_rules", ""),
        ("m.room.member", CAROL),
    }


def test_auth_types_for_leave_has_no_join_rules() -> None:
    content = {"membership": "leave"}
    types = auth_types_for_event(V11, "m.room.member", BOB, BOB, content)
    assert ("m.room.join_rules", "") not in types


def selection_room(room_version) -> Room:
    room = make_room(room_version)
    room.force("m.room.join_rules", "", {"join_rule": "public"})
    return room


def auth_events_for(room: Room, event) -> list:
    types = auth_types_for_event(
        room.room_version, event.type, event.sender, event.state_key, event.content
    )
    return [room.state[key] for key in sorted(types) if key in room.state]


@ALL_VERSIONS
def test_selection_valid_allowed(room_version) -> None:
    room = selection_room(room_version)
    event = room.member(CAROL, "join")
    check_auth_events_selection(room_version, event, auth_events_for(room, event))


@ALL_VERSIONS
def test_selection_duplicate_rejected(room_version) -> None:
    room = selection_room(room_version)
    event = room.member(CAROL, "join")
    auth_events = auth_events_for(room, event)
    duplicate = room.event("m.room.join_rules", ALICE, {"join_rule": "invite"}, "")
    with pytest.raises(AuthError, match="more than one"):
        check_auth_events_selection(room_version, event, auth_events + [duplicate])


@ALL_VERSIONS
def test_selection_unexpected_entry_rejected(room_version) -> None:
    room = selection_room(room_version)
    event = room.event("m.room.message", BOB, {"body": "hi"})
    auth_events = auth_events_for(room, event) + [room.state[("m.room.join_rules", "")]]
    with pytest.raises(AuthError, match="cannot use"):
        check_auth_events_selection(room_version, event, auth_events)


@PRE_V12
def test_selection_missing_create_rejected(room_version) -> None:
    room = selection_room(room_version)
    event = room.event("m.room.message", BOB, {"body": "hi"})
    auth_events = [
        auth_event
        for auth_event in auth_events_for(room, event)
        if auth_event.type != "m.room.create"
    ]
    with pytest.raises(AuthError, match="no m.room.create"):
        check_auth_events_selection(room_version, event, auth_events)


def test_v12_selection_with_create_rejected() -> None:
    room = selection_room(V12)
    event = room.event("m.room.message", BOB, {"body": "hi"})
    auth_events = auth_events_for(room, event) + [room.create]
    with pytest.raises(AuthError, match="cannot use"):
        check_auth_events_selection(V12, event, auth_events)


@ALL_VERSIONS
def test_selection_other_room_rejected(room_version) -> None:
    room = selection_room(room_version)
    event = room.event("m.room.message", BOB, {"body": "hi"})
    other_room_id = "!" + "O" * 43 if room_version is V12 else "!other:a.example"
    foreign = room.event(
        "m.room.power_levels", ALICE, {}, "", room_id=other_room_id
    )
    auth_events = [
        auth_event
        for auth_event in auth_events_for(room, event)
        if auth_event.type != "m.room.power_levels"
    ]
    with pytest.raises(AuthError, match="is in room"):
        check_auth_events_selection(room_version, event, auth_events + [foreign])
