"""`/sync` filters, account data and ephemeral events.

Spec: Client-Server API, "Filtering", "Lazy-loading room members", "Client Config",
"Typing Notifications", "Receipts" and "Presence".
"""

from __future__ import annotations

from tests.client import RawClient
from tests.rooms.helpers import (
    V3,
    create_room,
    join,
    new_user,
    put_state,
    send_text,
    sync,
    timeline_bodies,
)


async def test_filter_by_id(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    for i in range(4):
        await send_text(client, alice, room, f"m{i}")
    created = await client.request(
        "POST",
        f"{V3}/user/{alice.user_id}/filter",
        {"room": {"timeline": {"limit": 1}}},
        token=alice.access_token,
    )
    assert created.status == 200, created.body
    body = await sync(client, alice, filter=created.body["filter_id"])
    timeline = body["rooms"]["join"][room]["timeline"]
    assert timeline_bodies(timeline["events"]) == ["m3"]
    assert timeline["limited"] is True


async def test_inline_filter_rooms_and_types(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    wanted = await create_room(client, alice)
    other = await create_room(client, alice)
    await send_text(client, alice, wanted, "hello")
    await put_state(client, alice, wanted, "m.room.topic", {"topic": "t"})
    body = await sync(
        client,
        alice,
        filter={
            "room": {
                "rooms": [wanted],
                "timeline": {"types": ["m.room.message"]},
            }
        },
    )
    assert set(body["rooms"]["join"]) == {wanted}
    events = body["rooms"]["join"][wanted]["timeline"]["events"]
    assert {e["type"] for e in events} == {"m.room.message"}
    assert other not in body["rooms"]["join"]


async def test_timeline_type_filter_fills_limit(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    await send_text(client, alice, room, "m0")
    await send_text(client, alice, room, "m1")
    for i in range(5):
        await put_state(client, alice, room, "org.example.noise", {"i": i}, str(i))
    body = await sync(
        client,
        alice,
        filter={"room": {"timeline": {"limit": 2, "types": ["m.room.message"]}}},
    )
    events = body["rooms"]["join"][room]["timeline"]["events"]
    assert timeline_bodies(events) == ["m0", "m1"]


async def test_lazy_load_members(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await join(client, carol, room)
    for i in range(3):
        await send_text(client, bob, room, f"b{i}")
    body = await sync(
        client,
        alice,
        filter={
            "room": {
                "timeline": {"limit": 3},
                "state": {"lazy_load_members": True},
            }
        },
    )
    state = body["rooms"]["join"][room]["state"]["events"]
    members = {e["state_key"] for e in state if e["type"] == "m.room.member"}
    assert members == {alice.user_id, bob.user_id}
    assert ("m.room.create", "") in {(e["type"], e["state_key"]) for e in state}


async def test_event_fields(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    await send_text(client, alice, room, "fields")
    body = await sync(
        client,
        alice,
        filter={"event_fields": ["type", "content.body"], "room": {"timeline": {"limit": 1}}},
    )
    events = body["rooms"]["join"][room]["timeline"]["events"]
    assert events == [{"type": "m.room.message", "content": {"body": "fields"}}]


async def test_account_data_global_and_room(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    first = await sync(client, alice)
    put_global = await client.request(
        "PUT",
        f"{V3}/user/{alice.user_id}/account_data/org.example.settings",
        {"theme": "dark"},
        token=alice.access_token,
    )
    put_room = await client.request(
        "PUT",
        f"{V3}/user/{alice.user_id}/rooms/{room}/account_data/org.example.room",
        {"pinned": True},
        token=alice.access_token,
    )
    assert put_global.status == 200
    assert put_room.status == 200
    second = await sync(client, alice, since=first["next_batch"])
    global_events = {e["type"]: e["content"] for e in second["account_data"]["events"]}
    room_events = {
        e["type"]: e["content"]
        for e in second["rooms"]["join"][room]["account_data"]["events"]
    }
    assert global_events["org.example.settings"] == {"theme": "dark"}
    assert room_events == {"org.example.room": {"pinned": True}}


async def test_typing_in_ephemeral(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    first = await sync(client, alice)
    response = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/typing/{bob.user_id}",
        {"typing": True, "timeout": 30000},
        token=bob.access_token,
    )
    assert response.status == 200
    second = await sync(client, alice, since=first["next_batch"])
    ephemeral = second["rooms"]["join"][room]["ephemeral"]["events"]
    typing = [e for e in ephemeral if e["type"] == "m.typing"]
    assert typing == [{"type": "m.typing", "content": {"user_ids": [bob.user_id]}}]


async def test_receipt_in_ephemeral(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    event_id = await send_text(client, alice, room, "read me")
    first = await sync(client, alice)
    response = await client.request(
        "POST",
        f"{V3}/rooms/{room}/receipt/m.read/{event_id}",
        {},
        token=bob.access_token,
    )
    assert response.status == 200
    second = await sync(client, alice, since=first["next_batch"])
    ephemeral = second["rooms"]["join"][room]["ephemeral"]["events"]
    receipts = [e for e in ephemeral if e["type"] == "m.receipt"]
    assert len(receipts) == 1
    assert bob.user_id in receipts[0]["content"][event_id]["m.read"]


async def test_presence_of_room_member(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    first = await sync(client, alice)
    response = await client.request(
        "PUT",
        f"{V3}/presence/{bob.user_id}/status",
        {"presence": "online", "status_msg": "here"},
        token=bob.access_token,
    )
    assert response.status == 200
    second = await sync(client, alice, since=first["next_batch"])
    events = [
        e for e in second.get("presence", {}).get("events", [])
        if e["sender"] == bob.user_id
    ]
    assert events[-1]["content"]["presence"] == "online"
    assert events[-1]["content"]["status_msg"] == "here"
