"""Auth rule 1 (create events) and the rules before the membership rules."""

import pytest

from homeserver.events.auth import AuthError, check_auth_rules
from homeserver.events.event import Event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

from tests.events.event_builders import make_pdu
from tests.events.room_builder import ALICE, BOB, Room

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL_VERSIONS = pytest.mark.parametrize(
    "room_version", [V10, V11, V12], ids=lambda version: version.identifier
)


def create_event(room_version, content=None, **kwargs) -> Event:
    if content is None:
        content = {"room_version": room_version.identifier}
        if room_version is V10:
            content["creator"] = ALICE
    if room_version is V12:
        kwargs.setdefault("room_id", None)
    else:
        kwargs.setdefault("room_id", "!room:a.example")
    pdu = make_pdu(
        room_version,
        event_type="m.room.create",
        sender=ALICE,
        state_key="",
        content=content,
        depth=1,
        **kwargs,
    )
    return Event(pdu, room_version)


@ALL_VERSIONS
def test_create_allowed(room_version) -> None:
    check_auth_rules(room_version, create_event(room_version), {})


@ALL_VERSIONS
def test_create_with_prev_events_rejected(room_version) -> None:
    event = create_event(room_version, prev_events=["$" + "P" * 43])
    with pytest.raises(AuthError, match="prev_events"):
        check_auth_rules(room_version, event, {})


@ALL_VERSIONS
def test_create_with_unknown_room_version_rejected(room_version) -> None:
    content = {"room_version": "999", "creator": ALICE}
    with pytest.raises(AuthError, match="room version"):
        check_auth_rules(room_version, create_event(room_version, content), {})


@ALL_VERSIONS
def test_create_without_room_version_allowed(room_version) -> None:
    content = {"creator": ALICE}
    check_auth_rules(room_version, create_event(room_version, content), {})


@pytest.mark.parametrize("room_version", [V10, V11], ids=["10", "11"])
def test_create_room_domain_mismatch_rejected(room_version) -> None:
    event = create_event(room_version, room_id="!room:b.example")
    with pytest.raises(AuthError, match="domain"):
        check_auth_rules(room_version, event, {})


def test_v10_create_without_creator_rejected() -> None:
    event = create_event(V10, {"room_version": "10"})
    with pytest.raises(AuthError, match="creator"):
        check_auth_rules(V10, event, {})


def test_v11_create_without_creator_allowed() -> None:
    check_auth_rules(V11, create_event(V11, {"room_version": "11"}), {})


def test_v12_create_with_room_id_rejected() -> None:
    event = create_event(V12, room_id="!" + "R" * 43)
    with pytest.raises(AuthError, match="room_id"):
        check_auth_rules(V12, event, {})


def test_v12_additional_creators_allowed() -> None:
    content = {"room_version": "12", "additional_creators": [BOB]}
    check_auth_rules(V12, create_event(V12, content), {})


@pytest.mark.parametrize(
    "additional_creators",
    ["@bob:b.example", [5], ["bob"], ["@bob"], ["@bob:b.example", "not a user"]],
)
def test_v12_invalid_additional_creators_rejected(additional_creators) -> None:
    content = {"room_version": "12", "additional_creators": additional_creators}
    with pytest.raises(AuthError, match="additional_creators"):
        check_auth_rules(V12, create_event(V12, content), {})


def test_v11_additional_creators_not_validated() -> None:
    content = {"room_version": "11", "additional_creators": "anything"}
    check_auth_rules(V11, create_event(V11, content), {})


@ALL_VERSIONS
def test_event_without_create_in_state_rejected(room_version) -> None:
    room = Room(room_version)
    event = room.event("m.room.message", ALICE, {"body": "hi"})
    state = dict(room.state)
    del state[("m.room.create", "")]
    with pytest.raises(AuthError, match="m.room.create"):
        check_auth_rules(room_version, event, state)


def test_v12_room_id_not_from_create_rejected() -> None:
    room = Room(V12)
    event = room.event("m.room.message", ALICE, {"body": "hi"}, room_id="!" + "X" * 43)
    with pytest.raises(AuthError, match="not derived"):
        room.check(event)


@ALL_VERSIONS
def test_auth_event_from_other_room_rejected(room_version) -> None:
    room = Room(room_version)
    other_room_id = "!" + "O" * 43 if room_version is V12 else "!other:a.example"
    event = room.event("m.room.message", ALICE, {"body": "hi"})
    state = dict(room.state)
    state[("m.room.topic", "")] = room.event(
        "m.room.topic", ALICE, {}, "", room_id=other_room_id
    )
    with pytest.raises(AuthError, match="is in room"):
        check_auth_rules(room_version, event, state)


@ALL_VERSIONS
def test_non_federating_room_rejects_other_server(room_version) -> None:
    room = Room(room_version, create_content={"m.federate": False})
    room.force("m.room.join_rules", "", {"join_rule": "public"})
    with pytest.raises(AuthError, match="does not federate"):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_non_federating_room_allows_same_server(room_version) -> None:
    room = Room(room_version, create_content={"m.federate": False})
    room.force("m.room.join_rules", "", {"join_rule": "public"})
    room.check(room.member("@dave:a.example", "join"))


@ALL_VERSIONS
def test_federating_room_allows_other_server(room_version) -> None:
    room = Room(room_version, create_content={"m.federate": True})
    room.force("m.room.join_rules", "", {"join_rule": "public"})
    room.check(room.member(BOB, "join"))
