"""The `Event` wrapper, client serialization and stripped state."""

from homeserver.events.client_format import serialize_for_client
from homeserver.events.event import Event
from homeserver.events.hashing import compute_event_id
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.stripped import STRIPPED_STATE_TYPES, stripped_state

from tests.events.event_builders import make_event, make_pdu

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]


def test_event_properties() -> None:
    pdu = make_pdu(
        V11,
        event_type="m.room.topic",
        sender="@a:example.org",
        state_key="",
        content={"topic": "t"},
        prev_events=["$p"],
        auth_events=["$a"],
        depth=7,
    )
    event = Event(pdu, V11)
    assert event.event_id == compute_event_id(pdu, V11)
    assert event.room_id == "!room:example.org"
    assert event.type == "m.room.topic"
    assert event.state_key == ""
    assert event.is_state()
    assert event.sender == "@a:example.org"
    assert event.content == {"topic": "t"}
    assert event.depth == 7
    assert event.prev_event_ids == ["$p"]
    assert event.auth_event_ids == ["$a"]
    assert event.room_version is V11


def test_message_event_has_no_state_key() -> None:
    event = make_event(V11, event_type="m.room.message", sender="@a:example.org")
    assert event.state_key is None
    assert not event.is_state()


def test_given_event_id_is_kept() -> None:
    pdu = make_pdu(V11, event_type="m.room.message", sender="@a:example.org")
    assert Event(pdu, V11, "$given").event_id == "$given"


def test_redacts_top_level_before_v11() -> None:
    event = make_event(
        V10,
        event_type="m.room.redaction",
        sender="@a:example.org",
        content={"redacts": "$in_content"},
        redacts="$top_level",
    )
    assert event.redacts == "$top_level"


def test_redacts_in_content_since_v11() -> None:
    event = make_event(
        V11,
        event_type="m.room.redaction",
        sender="@a:example.org",
        content={"redacts": "$in_content"},
        redacts="$top_level",
    )
    assert event.redacts == "$in_content"


def test_redacted_copy_keeps_event_id() -> None:
    event = make_event(
        V11,
        event_type="m.room.message",
        sender="@a:example.org",
        content={"body": "secret"},
    )
    redacted = event.redacted_copy()
    assert redacted.content == {}
    assert redacted.event_id == event.event_id
    assert event.content == {"body": "secret"}
    assert compute_event_id(redacted.pdu, V11) == event.event_id


def test_serialize_client_state_event() -> None:
    event = make_event(
        V11,
        event_type="m.room.name",
        sender="@a:example.org",
        state_key="",
        content={"name": "N"},
    )
    event.unsigned["age"] = 5
    serialized = serialize_for_client(event)
    assert serialized == {
        "event_id": event.event_id,
        "room_id": "!room:example.org",
        "sender": "@a:example.org",
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "N"},
        "origin_server_ts": event.origin_server_ts,
        "unsigned": {"age": 5},
    }


def test_serialize_sync_drops_room_id() -> None:
    event = make_event(V11, event_type="m.room.message", sender="@a:example.org")
    serialized = serialize_for_client(event, format="sync")
    assert "room_id" not in serialized
    assert "state_key" not in serialized


def test_serialize_redaction_has_redacts_in_both_places() -> None:
    v10_event = make_event(
        V10, event_type="m.room.redaction", sender="@a:example.org", redacts="$x"
    )
    v11_event = make_event(
        V11,
        event_type="m.room.redaction",
        sender="@a:example.org",
        content={"redacts": "$x"},
    )
    for event in (v10_event, v11_event):
        serialized = serialize_for_client(event)
        assert serialized["redacts"] == "$x"
        assert serialized["content"]["redacts"] == "$x"


def test_serialize_v12_create_has_derived_room_id() -> None:
    create = make_event(
        V12,
        event_type="m.room.create",
        sender="@a:example.org",
        state_key="",
        room_id=None,
        content={"room_version": "12"},
    )
    serialized = serialize_for_client(create)
    assert serialized["room_id"] == "!" + create.event_id[1:]


def test_stripped_state_shape() -> None:
    create = make_event(
        V11,
        event_type="m.room.create",
        sender="@a:example.org",
        state_key="",
        content={"room_version": "11"},
    )
    message = make_event(V11, event_type="m.room.message", sender="@a:example.org")
    assert stripped_state([create, message]) == [
        {
            "type": "m.room.create",
            "state_key": "",
            "content": {"room_version": "11"},
            "sender": "@a:example.org",
        }
    ]


def test_stripped_state_types_include_create() -> None:
    assert ("m.room.create", "") in STRIPPED_STATE_TYPES
