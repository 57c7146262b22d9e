"""Room state reads and writes, sending with transaction IDs, and redaction.

Spec: Client-Server API, room_state.yaml, room_send.yaml, redaction.yaml and
"Transaction identifiers".
"""

from __future__ import annotations

from typing import Any

from tests.client import RawClient, User
from tests.rooms.helpers import (
    V3,
    create_room,
    get_state_content,
    join,
    new_user,
    put_state,
    send_text,
)


async def _login_again(client: RawClient, user: User) -> User:
    """Log in as `user` on a second device."""
    response = await client.request(
        "POST",
        f"{V3}/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.user_id},
            "password": user.password,
        },
    )
    assert response.status == 200, response.body
    return User(
        user.user_id, response.body["access_token"], response.body["device_id"],
        user.password,
    )


async def _event(client: RawClient, user: User, room: str, event_id: str) -> Any:
    return await client.request(
        "GET", f"{V3}/rooms/{room}/event/{event_id}", token=user.access_token
    )


async def test_get_all_state(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, name="Stateful")
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/state", token=alice.access_token
    )
    assert response.status == 200
    keys = {(e["type"], e["state_key"]) for e in response.body}
    assert ("m.room.create", "") in keys
    assert ("m.room.member", alice.user_id) in keys
    assert ("m.room.name", "") in keys
    assert ("m.room.power_levels", "") in keys
    for event in response.body:
        assert event["room_id"] == room


async def test_get_state_event_formats(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, topic="Hello")
    content = await get_state_content(client, alice, room, "m.room.topic")
    full = await client.request(
        "GET",
        f"{V3}/rooms/{room}/state/m.room.topic/",
        token=alice.access_token,
        params={"format": "event"},
    )
    assert content["topic"] == "Hello"
    assert full.status == 200
    assert full.body["type"] == "m.room.topic"
    assert full.body["content"]["topic"] == "Hello"
    assert full.body["sender"] == alice.user_id
    assert full.body["event_id"].startswith("$")


async def test_missing_state_event_is_not_found(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/state/m.room.avatar", token=alice.access_token
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"


async def test_put_state_without_state_key(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    no_slash = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/state/m.room.name",
        {"name": "one"},
        token=alice.access_token,
    )
    assert no_slash.status == 200
    assert no_slash.body["event_id"].startswith("$")
    assert (await get_state_content(client, alice, room, "m.room.name"))["name"] == "one"
    with_slash = await put_state(client, alice, room, "m.room.name", {"name": "two"})
    assert with_slash.status == 200
    assert (await get_state_content(client, alice, room, "m.room.name"))["name"] == "two"


async def test_state_key_with_slashes(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    response = await put_state(
        client, alice, room, "org.example.path", {"v": 1}, "a/b/c"
    )
    assert response.status == 200, response.body
    content = await get_state_content(client, alice, room, "org.example.path", "a/b/c")
    state = await client.request(
        "GET", f"{V3}/rooms/{room}/state", token=alice.access_token
    )
    assert content == {"v": 1}
    assert ("org.example.path", "a/b/c") in {
        (e["type"], e["state_key"]) for e in state.body
    }


async def test_low_power_user_cannot_set_name(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    response = await put_state(client, bob, room, "m.room.name", {"name": "mine"})
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_txn_id_is_idempotent_per_device(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    first = await send_text(client, alice, room, "once", txn_id="same")
    retry = await send_text(client, alice, room, "once", txn_id="same")
    other_device = await _login_again(client, alice)
    from_other = await send_text(client, other_device, room, "once", txn_id="same")
    assert retry == first
    assert from_other != first


async def test_transaction_id_only_for_sending_device(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    other_device = await _login_again(client, alice)
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    event_id = await send_text(client, alice, room, "hi", txn_id="t-42")

    own = await _event(client, alice, room, event_id)
    other = await _event(client, other_device, room, event_id)
    foreign = await _event(client, bob, room, event_id)
    assert own.body["unsigned"]["transaction_id"] == "t-42"
    assert "transaction_id" not in other.body["unsigned"]
    assert "transaction_id" not in foreign.body["unsigned"]


async def test_redact_own_event(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    event_id = await send_text(client, bob, room, "oops")
    response = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/redact/{event_id}/r1",
        {"reason": "typo"},
        token=bob.access_token,
    )
    assert response.status == 200, response.body
    redacted = await _event(client, alice, room, event_id)
    assert redacted.body["content"] == {}
    assert redacted.body["unsigned"]["redacted_because"]["sender"] == bob.user_id


async def test_redact_others_needs_power(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    alice_event = await send_text(client, alice, room, "important")
    bob_event = await send_text(client, bob, room, "rude")

    denied = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/redact/{alice_event}/r1",
        {},
        token=bob.access_token,
    )
    allowed = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/redact/{bob_event}/r2",
        {},
        token=alice.access_token,
    )
    assert denied.status == 403
    assert allowed.status == 200
    kept = await _event(client, alice, room, alice_event)
    assert kept.body["content"]["body"] == "important"


async def test_unknown_event_is_not_found(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    other_room = await create_room(client, alice)
    event_id = await send_text(client, alice, other_room, "elsewhere")
    unknown = await _event(client, alice, room, "$doesnotexist")
    wrong_room = await _event(client, alice, room, event_id)
    assert unknown.status == 404
    assert wrong_room.status == 404
    assert wrong_room.body["errcode"] == "M_NOT_FOUND"


async def test_send_by_non_member_forbidden(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    eve = await new_user(client, "eve")
    room = await create_room(client, alice, preset="public_chat")
    response = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/send/m.room.message/x",
        {"msgtype": "m.text", "body": "hi"},
        token=eve.access_token,
    )
    assert response.status == 403
