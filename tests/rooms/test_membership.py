"""Joining, inviting, leaving, kicking, banning and member lists.

Spec: Client-Server API, "Room membership" (joining.yaml, inviting.yaml, leaving.yaml,
kicking.yaml, banning.yaml, list_joined_rooms.yaml, rooms.yaml members endpoints).
"""

from __future__ import annotations

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
)


async def test_join_public_room(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    response = await client.request(
        "POST", f"{V3}/rooms/{room}/join", {}, token=bob.access_token
    )
    assert response.status == 200
    assert response.body == {"room_id": room}


async def test_join_invite_only_without_invite(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="private_chat")
    response = await client.request(
        "POST", f"{V3}/join/{room}", {}, token=bob.access_token
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_invite_then_join(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="private_chat")
    assert await invite(client, alice, room, bob.user_id) == 200
    assert await join(client, bob, room) == 200
    joined = await client.request("GET", f"{V3}/joined_rooms", token=bob.access_token)
    assert joined.body["joined_rooms"] == [room]


async def test_reject_invite(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, invite=[bob.user_id])
    assert await leave(client, bob, room) == 200
    members = await client.request(
        "GET", f"{V3}/rooms/{room}/members", token=alice.access_token
    )
    by_user = {e["state_key"]: e["content"]["membership"] for e in members.body["chunk"]}
    assert by_user[bob.user_id] == "leave"
    # The invite is gone: joining now fails.
    assert await join(client, bob, room) == 403


async def test_invite_unknown_user_is_not_found(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    assert await invite(client, alice, room, "@nobody-here:localhost") == 404


async def test_leave_then_forget_hides_room_from_sync(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    before = await sync(client, bob)
    assert await leave(client, bob, room) == 200

    after_leave = await sync(client, bob, since=before["next_batch"])
    assert room in after_leave["rooms"]["leave"]
    assert room not in after_leave["rooms"]["join"]

    forget = await client.request(
        "POST", f"{V3}/rooms/{room}/forget", {}, token=bob.access_token
    )
    assert forget.status == 200
    full = await sync(client, bob, filter={"room": {"include_leave": True}})
    assert room not in full["rooms"]["leave"]


async def test_forget_while_joined_rejected(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    response = await client.request(
        "POST", f"{V3}/rooms/{room}/forget", {}, token=alice.access_token
    )
    assert response.status in (400, 403)


async def test_kick_needs_power(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await join(client, carol, room)

    denied = await client.request(
        "POST",
        f"{V3}/rooms/{room}/kick",
        {"user_id": carol.user_id},
        token=bob.access_token,
    )
    assert denied.status == 403

    kicked = await client.request(
        "POST",
        f"{V3}/rooms/{room}/kick",
        {"user_id": carol.user_id, "reason": "spam"},
        token=alice.access_token,
    )
    assert kicked.status == 200
    member = await client.request(
        "GET",
        f"{V3}/rooms/{room}/state/m.room.member/{carol.user_id}",
        token=alice.access_token,
    )
    assert member.body == {"membership": "leave", "reason": "spam"}
    # A kicked user may join a public room again.
    assert await join(client, carol, room) == 200


async def test_ban_blocks_rejoin_until_unban(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    banned = await client.request(
        "POST",
        f"{V3}/rooms/{room}/ban",
        {"user_id": bob.user_id},
        token=alice.access_token,
    )
    assert banned.status == 200
    assert await join(client, bob, room) == 403

    unbanned = await client.request(
        "POST",
        f"{V3}/rooms/{room}/unban",
        {"user_id": bob.user_id},
        token=alice.access_token,
    )
    assert unbanned.status == 200
    assert await join(client, bob, room) == 200


async def test_ban_by_member_without_power(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    response = await client.request(
        "POST",
        f"{V3}/rooms/{room}/ban",
        {"user_id": alice.user_id},
        token=bob.access_token,
    )
    assert response.status == 403


async def test_join_by_alias(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    local = f"hall-{alice.user_id[1:9]}"
    room = await create_room(
        client, alice, preset="public_chat", room_alias_name=local
    )
    response = await client.request(
        "POST", f"{V3}/join/%23{local}:localhost", {}, token=bob.access_token
    )
    assert response.status == 200
    assert response.body["room_id"] == room


async def test_members_filters(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await invite(client, alice, room, carol.user_id)

    async def members(**params: str) -> dict[str, str]:
        response = await client.request(
            "GET",
            f"{V3}/rooms/{room}/members",
            token=alice.access_token,
            params=params,
        )
        assert response.status == 200, response.body
        return {e["state_key"]: e["content"]["membership"] for e in response.body["chunk"]}

    everyone = await members()
    joined = await members(membership="join")
    not_joined = await members(not_membership="join")
    assert everyone == {
        alice.user_id: "join",
        bob.user_id: "join",
        carol.user_id: "invite",
    }
    assert set(joined) == {alice.user_id, bob.user_id}
    assert not_joined == {carol.user_id: "invite"}


async def test_joined_members(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await client.request(
        "PUT",
        f"{V3}/profile/{bob.user_id}/displayname",
        {"displayname": "Bobby"},
        token=bob.access_token,
    )
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/joined_members", token=alice.access_token
    )
    assert response.status == 200
    assert set(response.body["joined"]) == {alice.user_id, bob.user_id}
    assert response.body["joined"][bob.user_id]["display_name"] == "Bobby"


async def test_members_of_stranger_forbidden(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    eve = await new_user(client, "eve")
    room = await create_room(client, alice)
    members = await client.request(
        "GET", f"{V3}/rooms/{room}/members", token=eve.access_token
    )
    joined = await client.request(
        "GET", f"{V3}/rooms/{room}/joined_members", token=eve.access_token
    )
    assert members.status == 403
    assert joined.status == 403


async def test_left_member_reads_state_at_departure(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat", name="Before")
    await join(client, bob, room)
    await leave(client, bob, room)
    await put_state(client, alice, room, "m.room.name", {"name": "After"})
    await send_text(client, alice, room, "unseen")
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/state/m.room.name", token=bob.access_token
    )
    assert response.status == 200
    assert response.body == {"name": "Before"}
