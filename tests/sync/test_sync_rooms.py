"""`/sync` room sections: timelines, state, invites, departures and summaries.

Spec: Client-Server API, "Syncing" (sync.yaml).
"""

from __future__ import annotations

from typing import Any

from tests.client import RawClient
from tests.rooms.helpers import (
    V3,
    create_room,
    invite,
    join,
    leave,
    new_user,
    put_state,
    send_text,
    sync,
    timeline_bodies,
)


def _keys(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["type"], e["state_key"]) for e in events}


async def test_initial_sync_state_and_timeline(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, name="Initial")
    for i in range(5):
        await send_text(client, alice, room, f"m{i}")
    body = await sync(client, alice, filter={"room": {"timeline": {"limit": 3}}})
    joined = body["rooms"]["join"][room]
    timeline = joined["timeline"]
    assert timeline_bodies(timeline["events"]) == ["m2", "m3", "m4"]
    assert timeline["limited"] is True
    assert isinstance(timeline["prev_batch"], str)
    state_keys = _keys(joined["state"]["events"])
    assert ("m.room.create", "") in state_keys
    assert ("m.room.name", "") in state_keys
    assert ("m.room.member", alice.user_id) in state_keys
    for event in joined["timeline"]["events"] + joined["state"]["events"]:
        assert "room_id" not in event


async def test_initial_sync_state_excludes_timeline(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    await send_text(client, alice, room, "before")
    await put_state(client, alice, room, "m.room.topic", {"topic": "late"})
    body = await sync(client, alice, filter={"room": {"timeline": {"limit": 1}}})
    joined = body["rooms"]["join"][room]
    assert [e["type"] for e in joined["timeline"]["events"]] == ["m.room.topic"]
    # The state section is the state at the start of the timeline, so the topic
    # event that the timeline carries is not repeated there.
    assert ("m.room.topic", "") not in _keys(joined["state"]["events"])


async def test_unlimited_initial_sync_not_limited(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    body = await sync(client, alice, filter={"room": {"timeline": {"limit": 50}}})
    timeline = body["rooms"]["join"][room]["timeline"]
    assert timeline["limited"] is False
    assert timeline["events"][0]["type"] == "m.room.create"


async def test_incremental_only_changed_rooms(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    quiet = await create_room(client, alice)
    busy = await create_room(client, alice)
    first = await sync(client, alice)
    await send_text(client, alice, busy, "news")
    await put_state(client, alice, busy, "m.room.name", {"name": "Renamed"})
    second = await sync(client, alice, since=first["next_batch"])
    assert set(second["rooms"]["join"]) == {busy}
    room = second["rooms"]["join"][busy]
    assert [e["type"] for e in room["timeline"]["events"]] == [
        "m.room.message",
        "m.room.name",
    ]
    assert room["timeline"]["limited"] is False
    assert room["state"]["events"] == []
    assert quiet not in second["rooms"]["join"]


async def test_limited_incremental_state_delta(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, name="Old")
    first = await sync(client, alice)
    await put_state(client, alice, room, "m.room.name", {"name": "New"})
    for i in range(5):
        await send_text(client, alice, room, f"m{i}")
    second = await sync(
        client,
        alice,
        since=first["next_batch"],
        filter={"room": {"timeline": {"limit": 2}}},
    )
    joined = second["rooms"]["join"][room]
    assert joined["timeline"]["limited"] is True
    assert timeline_bodies(joined["timeline"]["events"]) == ["m3", "m4"]
    state = {(e["type"], e["state_key"]): e for e in joined["state"]["events"]}
    assert set(state) == {("m.room.name", "")}
    assert state[("m.room.name", "")]["content"] == {"name": "New"}


async def test_newly_joined_room_full_state(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat", name="Joinable")
    for i in range(3):
        await send_text(client, alice, room, f"m{i}")
    first = await sync(client, bob)
    assert room not in first["rooms"]["join"]
    await join(client, bob, room)
    second = await sync(client, bob, since=first["next_batch"])
    joined = second["rooms"]["join"][room]
    keys = _keys(joined["state"]["events"]) | _keys(
        [e for e in joined["timeline"]["events"] if "state_key" in e]
    )
    assert ("m.room.create", "") in keys
    assert ("m.room.name", "") in keys
    assert ("m.room.power_levels", "") in keys
    assert ("m.room.member", bob.user_id) in keys


async def test_invite_section_stripped_state(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, name="Invitation")
    first = await sync(client, bob)
    await invite(client, alice, room, bob.user_id)
    second = await sync(client, bob, since=first["next_batch"])
    events = second["rooms"]["invite"][room]["invite_state"]["events"]
    by_key = {(e["type"], e["state_key"]): e for e in events}
    assert ("m.room.create", "") in by_key
    assert by_key[("m.room.name", "")]["content"] == {"name": "Invitation"}
    assert by_key[("m.room.member", bob.user_id)]["content"]["membership"] == "invite"
    for event in events:
        assert {"type", "state_key", "content", "sender"} <= set(event)
    assert room not in second["rooms"]["join"]
    # The invite is not repeated in the next incremental sync.
    third = await sync(client, bob, since=second["next_batch"])
    assert room not in third["rooms"]["invite"]


async def test_initial_sync_lists_pending_invite(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, invite=[bob.user_id])
    body = await sync(client, bob)
    assert room in body["rooms"]["invite"]


async def test_leave_section_after_leave_kick_ban(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    rooms = [await create_room(client, alice, preset="public_chat") for _ in range(3)]
    for room in rooms:
        await join(client, bob, room)
    first = await sync(client, bob)
    left, kicked, banned = rooms
    await send_text(client, alice, left, "bye soon")
    await leave(client, bob, left)
    await client.request(
        "POST",
        f"{V3}/rooms/{kicked}/kick",
        {"user_id": bob.user_id},
        token=alice.access_token,
    )
    await client.request(
        "POST",
        f"{V3}/rooms/{banned}/ban",
        {"user_id": bob.user_id},
        token=alice.access_token,
    )
    await send_text(client, alice, left, "after leaving")
    second = await sync(client, bob, since=first["next_batch"])
    assert set(second["rooms"]["leave"]) == set(rooms)
    assert not set(rooms) & set(second["rooms"]["join"])
    left_timeline = second["rooms"]["leave"][left]["timeline"]["events"]
    assert timeline_bodies(left_timeline) == ["bye soon"]
    assert left_timeline[-1]["type"] == "m.room.member"
    memberships = {
        room: second["rooms"]["leave"][room]["timeline"]["events"][-1]["content"][
            "membership"
        ]
        for room in (kicked, banned)
    }
    assert memberships == {kicked: "leave", banned: "ban"}


async def test_full_state_repeats_state(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, name="Full")
    first = await sync(client, alice)
    second = await sync(client, alice, since=first["next_batch"], full_state="true")
    joined = second["rooms"]["join"][room]
    assert ("m.room.name", "") in _keys(joined["state"]["events"])
    assert ("m.room.create", "") in _keys(joined["state"]["events"])


async def test_summary_heroes_and_counts(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await invite(client, alice, room, carol.user_id)
    body = await sync(client, alice)
    summary = body["rooms"]["join"][room]["summary"]
    assert summary["m.joined_member_count"] == 2
    assert summary["m.invited_member_count"] == 1
    assert set(summary["m.heroes"]) == {bob.user_id, carol.user_id}


async def test_next_batch_always_advances(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    first = await sync(client, alice)
    await send_text(client, alice, room, "x")
    second = await sync(client, alice, since=first["next_batch"])
    third = await sync(client, alice, since=second["next_batch"])
    assert second["next_batch"] != first["next_batch"]
    assert third["next_batch"] == second["next_batch"]
    assert third["rooms"]["join"] == {}


async def test_history_visibility_joined_in_sync(client: RawClient) -> None:
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
    await send_text(client, alice, room, "private past")
    await join(client, bob, room)
    body = await sync(client, bob)
    bodies = timeline_bodies(body["rooms"]["join"][room]["timeline"]["events"])
    assert "private past" not in bodies
