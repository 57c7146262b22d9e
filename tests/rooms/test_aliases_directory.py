"""Room aliases, canonical alias checks and the public room directory.

Spec: Client-Server API, "Room aliases" and "Listing rooms" (directory.yaml,
list_public_rooms.yaml).
"""

from __future__ import annotations

import secrets

from tests.client import RawClient, User
from tests.rooms.helpers import V3, create_room, join, new_user, put_state


def _alias() -> str:
    return f"#a{secrets.token_hex(5)}:localhost"


def _path(alias: str) -> str:
    return f"{V3}/directory/room/{alias.replace('#', '%23')}"


async def _put_alias(client: RawClient, user: User, alias: str, room: str) -> int:
    response = await client.request(
        "PUT", _path(alias), {"room_id": room}, token=user.access_token
    )
    return response.status


async def test_alias_create_resolve_delete(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    alias = _alias()
    assert await _put_alias(client, alice, alias, room) == 200
    resolved = await client.request("GET", _path(alias))
    assert resolved.status == 200
    assert resolved.body["room_id"] == room
    assert resolved.body["servers"] == ["localhost"]

    listed = await client.request(
        "GET", f"{V3}/rooms/{room}/aliases", token=alice.access_token
    )
    assert listed.body["aliases"] == [alias]

    deleted = await client.request("DELETE", _path(alias), token=alice.access_token)
    assert deleted.status == 200
    gone = await client.request("GET", _path(alias))
    assert gone.status == 404
    assert gone.body["errcode"] == "M_NOT_FOUND"


async def test_alias_reuse_is_conflict(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    alias = _alias()
    assert await _put_alias(client, alice, alias, room) == 200
    response = await client.request(
        "PUT", _path(alias), {"room_id": room}, token=alice.access_token
    )
    assert response.status == 409
    assert response.body["errcode"] == "M_UNKNOWN"


async def test_alias_delete_permissions(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await join(client, carol, room)
    bobs_alias = _alias()
    assert await _put_alias(client, bob, bobs_alias, room) == 200

    stranger = await new_user(client, "eve")
    denied_stranger = await client.request(
        "DELETE", _path(bobs_alias), token=stranger.access_token
    )
    denied_member = await client.request(
        "DELETE", _path(bobs_alias), token=carol.access_token
    )
    assert denied_stranger.status == 403
    assert denied_member.status == 403
    # The room admin may delete an alias someone else created.
    by_admin = await client.request("DELETE", _path(bobs_alias), token=alice.access_token)
    assert by_admin.status == 200

    own_alias = _alias()
    assert await _put_alias(client, carol, own_alias, room) == 200
    by_creator = await client.request(
        "DELETE", _path(own_alias), token=carol.access_token
    )
    assert by_creator.status == 200


async def test_alias_for_room_not_joined_forbidden(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    eve = await new_user(client, "eve")
    room = await create_room(client, alice)
    assert await _put_alias(client, eve, _alias(), room) == 403


async def test_alias_of_other_server_rejected(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    response = await client.request(
        "PUT",
        _path("#x:elsewhere.example"),
        {"room_id": room},
        token=alice.access_token,
    )
    assert response.status == 400


async def test_canonical_alias_must_point_to_room(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    other = await create_room(client, alice)
    mine = _alias()
    theirs = _alias()
    assert await _put_alias(client, alice, mine, room) == 200
    assert await _put_alias(client, alice, theirs, other) == 200

    good = await put_state(client, alice, room, "m.room.canonical_alias", {"alias": mine})
    wrong = await put_state(
        client, alice, room, "m.room.canonical_alias", {"alias": theirs}
    )
    wrong_alt = await put_state(
        client,
        alice,
        room,
        "m.room.canonical_alias",
        {"alias": mine, "alt_aliases": [theirs]},
    )
    unknown = await put_state(
        client, alice, room, "m.room.canonical_alias", {"alias": _alias()}
    )
    assert good.status == 200
    assert wrong.status == 400
    assert wrong.body["errcode"] == "M_BAD_ALIAS"
    assert wrong_alt.status == 400
    assert wrong_alt.body["errcode"] == "M_BAD_ALIAS"
    assert unknown.status == 400
    assert unknown.body["errcode"] == "M_BAD_ALIAS"


async def test_canonical_alias_invalid_syntax(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    response = await put_state(
        client, alice, room, "m.room.canonical_alias", {"alias": "not-an-alias"}
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"


async def test_directory_visibility_get_put(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    path = f"{V3}/directory/list/room/{room}"

    initial = await client.request("GET", path)
    assert initial.status == 200
    assert initial.body == {"visibility": "private"}
    denied = await client.request(
        "PUT", path, {"visibility": "public"}, token=bob.access_token
    )
    assert denied.status == 403
    published = await client.request(
        "PUT", path, {"visibility": "public"}, token=alice.access_token
    )
    assert published.status == 200
    after = await client.request("GET", path)
    assert after.body == {"visibility": "public"}
    unknown = await client.request("GET", f"{V3}/directory/list/room/!nope:localhost")
    assert unknown.status == 404


async def test_public_rooms_pagination(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    marker = secrets.token_hex(6)
    rooms = {
        await create_room(client, alice, visibility="public", name=f"{marker} {i}")
        for i in range(5)
    }
    seen: list[str] = []
    since = None
    for _ in range(10):
        body: dict = {"limit": 2, "filter": {"generic_search_term": marker}}
        if since is not None:
            body["since"] = since
        page = await client.request(
            "POST", f"{V3}/publicRooms", body, token=alice.access_token
        )
        assert page.status == 200, page.body
        assert len(page.body["chunk"]) <= 2
        seen.extend(entry["room_id"] for entry in page.body["chunk"])
        since = page.body.get("next_batch")
        if since is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == rooms


async def test_public_rooms_get_since_and_prev_batch(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    for i in range(3):
        await create_room(client, alice, visibility="public", name=f"get {i}")
    first = await client.request("GET", f"{V3}/publicRooms", params={"limit": "1"})
    second = await client.request(
        "GET",
        f"{V3}/publicRooms",
        params={"limit": "1", "since": first.body["next_batch"]},
    )
    assert first.status == 200
    assert len(first.body["chunk"]) == 1
    assert "prev_batch" not in first.body
    assert second.status == 200
    assert second.body["chunk"][0]["room_id"] != first.body["chunk"][0]["room_id"]
    assert "prev_batch" in second.body
    assert second.body["total_room_count_estimate"] >= 3


async def test_public_rooms_entry_fields(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    marker = secrets.token_hex(6)
    local = f"pub{marker}"
    room = await create_room(
        client,
        alice,
        visibility="public",
        name=f"Name {marker}",
        topic="About things",
        room_alias_name=local,
    )
    page = await client.request(
        "POST",
        f"{V3}/publicRooms",
        {"filter": {"generic_search_term": marker.upper()}},
        token=alice.access_token,
    )
    assert [entry["room_id"] for entry in page.body["chunk"]] == [room]
    entry = page.body["chunk"][0]
    assert entry["name"] == f"Name {marker}"
    assert entry["topic"] == "About things"
    assert entry["canonical_alias"] == f"#{local}:localhost"
    assert entry["num_joined_members"] == 1
    assert entry["world_readable"] is False
    assert entry["guest_can_join"] is False
    assert entry["join_rule"] == "public"
