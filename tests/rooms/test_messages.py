"""`/messages` pagination and `/context`.

Spec: Client-Server API, message_pagination.yaml and event_context.yaml. A pagination
token is a position between events: paginating from it in either direction continues
from that point without repeating or skipping events.
"""

from __future__ import annotations

from tests.client import RawClient, User
from tests.rooms.helpers import (
    V3,
    create_room,
    join,
    leave,
    messages,
    new_user,
    put_state,
    send_text,
    sync,
    timeline_bodies,
)


async def _room_with_messages(
    client: RawClient, count: int
) -> tuple[User, str, list[str]]:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, preset="public_chat")
    bodies = [f"m{i}" for i in range(count)]
    for body in bodies:
        await send_text(client, alice, room, body)
    return alice, room, bodies


async def test_backwards_newest_first(client: RawClient) -> None:
    alice, room, bodies = await _room_with_messages(client, 5)
    page = await messages(client, alice, room, dir="b", limit=3)
    assert timeline_bodies(page["chunk"]) == ["m4", "m3", "m2"]
    assert "end" in page


async def test_forwards_oldest_first(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 3)
    page = await messages(client, alice, room, dir="f", limit=100)
    assert page["chunk"][0]["type"] == "m.room.create"
    assert timeline_bodies(page["chunk"]) == ["m0", "m1", "m2"]
    assert "end" not in page


async def test_backward_pages_cover_all_once(client: RawClient) -> None:
    alice, room, bodies = await _room_with_messages(client, 12)
    seen: list[str] = []
    token = None
    for _ in range(20):
        params = {"dir": "b", "limit": 4}
        if token is not None:
            params["from"] = token
        page = await messages(client, alice, room, **params)
        seen.extend(e["event_id"] for e in page["chunk"])
        if "end" not in page:
            break
        token = page["end"]
    all_events = await messages(client, alice, room, dir="f", limit=1000)
    assert len(seen) == len(set(seen))
    assert seen == [e["event_id"] for e in reversed(all_events["chunk"])]


async def test_same_token_same_page(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 8)
    first = await messages(client, alice, room, dir="b", limit=3)
    again_a = await messages(client, alice, room, dir="b", limit=3, **{"from": first["end"]})
    await send_text(client, alice, room, "later")
    again_b = await messages(client, alice, room, dir="b", limit=3, **{"from": first["end"]})
    assert timeline_bodies(again_a["chunk"]) == ["m4", "m3", "m2"]
    assert [e["event_id"] for e in again_a["chunk"]] == [
        e["event_id"] for e in again_b["chunk"]
    ]


async def test_forward_from_backward_end_continues(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 6)
    back = await messages(client, alice, room, dir="b", limit=3)
    assert timeline_bodies(back["chunk"]) == ["m5", "m4", "m3"]
    # `end` sits just before m3, so paginating forwards from it starts with m3.
    forward = await messages(
        client, alice, room, dir="f", limit=2, **{"from": back["end"]}
    )
    assert timeline_bodies(forward["chunk"]) == ["m3", "m4"]


async def test_from_sync_prev_batch(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 6)
    response = await sync(
        client, alice, filter={"room": {"timeline": {"limit": 2}}}
    )
    timeline = response["rooms"]["join"][room]["timeline"]
    assert timeline_bodies(timeline["events"]) == ["m4", "m5"]
    assert timeline["limited"] is True
    older = await messages(
        client, alice, room, dir="b", limit=2, **{"from": timeline["prev_batch"]}
    )
    assert timeline_bodies(older["chunk"]) == ["m3", "m2"]
    forward = await messages(
        client, alice, room, dir="f", limit=1, **{"from": timeline["prev_batch"]}
    )
    assert timeline_bodies(forward["chunk"]) == ["m4"]


async def test_from_next_batch_forwards(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 2)
    response = await sync(client, alice)
    await send_text(client, alice, room, "new1")
    await send_text(client, alice, room, "new2")
    page = await messages(
        client, alice, room, dir="f", limit=10, **{"from": response["next_batch"]}
    )
    assert timeline_bodies(page["chunk"]) == ["new1", "new2"]


async def test_to_token_stops(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 6)
    first = await messages(client, alice, room, dir="b", limit=2)
    assert timeline_bodies(first["chunk"]) == ["m5", "m4"]
    # Backwards from the newest event down to `first.end` returns exactly that page.
    bounded = await messages(
        client, alice, room, dir="b", limit=10, to=first["end"]
    )
    assert timeline_bodies(bounded["chunk"]) == ["m5", "m4"]
    # Forwards from the start up to `first.end` stops before m4.
    forwards = await messages(
        client, alice, room, dir="f", limit=100, to=first["end"]
    )
    assert timeline_bodies(forwards["chunk"])[-1] == "m3"


async def test_type_and_sender_filters(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 2)
    bob = await new_user(client, "bob")
    await join(client, bob, room)
    await send_text(client, bob, room, "from bob")
    await put_state(client, alice, room, "m.room.topic", {"topic": "t"})

    only_messages = await messages(
        client, alice, room, dir="b", limit=50, filter={"types": ["m.room.message"]}
    )
    no_messages = await messages(
        client, alice, room, dir="b", limit=50,
        filter={"not_types": ["m.room.message"]},
    )
    by_bob = await messages(
        client, alice, room, dir="b", limit=50, filter={"senders": [bob.user_id]}
    )
    assert {e["type"] for e in only_messages["chunk"]} == {"m.room.message"}
    assert len(only_messages["chunk"]) == 3
    assert "m.room.message" not in {e["type"] for e in no_messages["chunk"]}
    assert {e["sender"] for e in by_bob["chunk"]} == {bob.user_id}
    assert timeline_bodies(by_bob["chunk"]) == ["from bob"]


async def test_filter_fills_limit(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 3)
    for i in range(10):
        await put_state(client, alice, room, "org.example.noise", {"i": i}, str(i))
    page = await messages(
        client, alice, room, dir="b", limit=3, filter={"types": ["m.room.message"]}
    )
    assert timeline_bodies(page["chunk"]) == ["m2", "m1", "m0"]


async def test_lazy_load_members_returns_state(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 1)
    bob = await new_user(client, "bob")
    await join(client, bob, room)
    await send_text(client, bob, room, "hello")
    page = await messages(
        client, alice, room, dir="b", limit=1, filter={"lazy_load_members": True}
    )
    members = {e["state_key"] for e in page["state"] if e["type"] == "m.room.member"}
    assert members == {bob.user_id}


async def test_left_user_sees_up_to_leave(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 1)
    bob = await new_user(client, "bob")
    await join(client, bob, room)
    await send_text(client, alice, room, "while bob here")
    await leave(client, bob, room)
    await send_text(client, alice, room, "after bob left")
    page = await messages(client, bob, room, dir="b", limit=50)
    bodies = timeline_bodies(page["chunk"])
    assert "while bob here" in bodies
    assert "after bob left" not in bodies
    assert page["chunk"][0]["type"] == "m.room.member"
    assert page["chunk"][0]["state_key"] == bob.user_id


async def test_joined_visibility_hides_history(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(
        client,
        alice,
        preset="public_chat",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "content": {"history_visibility": "joined"},
            }
        ],
    )
    await send_text(client, alice, room, "secret")
    await join(client, bob, room)
    await send_text(client, alice, room, "welcome")
    page = await messages(client, bob, room, dir="b", limit=50)
    bodies = timeline_bodies(page["chunk"])
    assert bodies == ["welcome"]


async def test_stranger_cannot_read(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 1)
    eve = await new_user(client, "eve")
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/messages", token=eve.access_token
    )
    assert response.status == 403


async def test_context_around_event(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 9)
    target = await messages(client, alice, room, dir="b", limit=5)
    middle = target["chunk"][4]  # m4
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/context/{middle['event_id']}",
        token=alice.access_token,
        params={"limit": "4"},
    )
    assert response.status == 200, response.body
    body = response.body
    assert body["event"]["event_id"] == middle["event_id"]
    assert timeline_bodies(body["events_before"]) == ["m3", "m2"]
    assert timeline_bodies(body["events_after"]) == ["m5", "m6"]
    state_types = {e["type"] for e in body["state"]}
    assert "m.room.create" in state_types
    assert "m.room.member" in state_types

    older = await messages(
        client, alice, room, dir="b", limit=2, **{"from": body["start"]}
    )
    newer = await messages(client, alice, room, dir="f", limit=2, **{"from": body["end"]})
    assert timeline_bodies(older["chunk"]) == ["m1", "m0"]
    assert timeline_bodies(newer["chunk"]) == ["m7", "m8"]


async def test_context_unknown_event(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 1)
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/context/$nope", token=alice.access_token
    )
    assert response.status == 404


async def test_context_tokens_at_room_edges(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 3)
    everything = await messages(client, alice, room, dir="f", limit=100)
    first = everything["chunk"][1]
    last = everything["chunk"][-1]

    async def context(event_id: str) -> dict:
        response = await client.request(
            "GET",
            f"{V3}/rooms/{room}/context/{event_id}",
            token=alice.access_token,
            params={"limit": "20"},
        )
        assert response.status == 200, response.body
        return response.body

    at_start = await context(first["event_id"])
    at_end = await context(last["event_id"])
    assert len(at_start["events_before"]) == 1
    older = await messages(client, alice, room, dir="b", **{"from": at_start["start"]})
    assert older["chunk"] == []
    assert at_end["events_after"] == []
    newer = await messages(client, alice, room, dir="f", **{"from": at_end["end"]})
    assert newer["chunk"] == []
    await send_text(client, alice, room, "next")
    newer = await messages(client, alice, room, dir="f", **{"from": at_end["end"]})
    assert timeline_bodies(newer["chunk"]) == ["next"]


async def test_context_limit_one_skips_nothing(client: RawClient) -> None:
    alice, room, _ = await _room_with_messages(client, 4)
    latest = await messages(client, alice, room, dir="b", limit=2)
    target = latest["chunk"][1]  # m2
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/context/{target['event_id']}",
        token=alice.access_token,
        params={"limit": "1"},
    )
    body = response.body
    assert body["events_before"] == []
    assert timeline_bodies(body["events_after"]) == ["m3"]
    older = await messages(client, alice, room, dir="b", limit=1, **{"from": body["start"]})
    assert timeline_bodies(older["chunk"]) == ["m1"]


async def test_context_state_at_last_event(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, name="Old name")
    target = await send_text(client, alice, room, "target")
    await put_state(client, alice, room, "m.room.name", {"name": "New name"})
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/context/{target}",
        token=alice.access_token,
        params={"limit": "10"},
    )
    body = response.body
    assert [e["type"] for e in body["events_after"]] == ["m.room.name"]
    names = [e["content"]["name"] for e in body["state"] if e["type"] == "m.room.name"]
    assert names == ["New name"]
