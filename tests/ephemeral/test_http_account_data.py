"""Account data, tags and read markers over HTTP against a real server."""

from __future__ import annotations

import pytest

from tests.client import RawClient
from tests.ephemeral.helpers import create_public_room, path, send_message


async def test_global_round_trip(client: RawClient) -> None:
    alice = await client.register("alice")
    url = path("user", alice.user_id, "account_data", "org.example.cfg")
    put = await client.request("PUT", url, {"a": 1}, token=alice.access_token)
    assert put.status == 200
    assert put.body == {}
    got = await client.request("GET", url, token=alice.access_token)
    assert got.status == 200
    assert got.body == {"a": 1}


async def test_room_round_trip(client: RawClient) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    url = path("user", alice.user_id, "rooms", room_id, "account_data", "org.example.r")
    put = await client.request("PUT", url, {"b": 2}, token=alice.access_token)
    assert put.status == 200
    got = await client.request("GET", url, token=alice.access_token)
    assert got.body == {"b": 2}
    global_url = path("user", alice.user_id, "account_data", "org.example.r")
    missing = await client.request("GET", global_url, token=alice.access_token)
    assert missing.status == 404
    assert missing.body["errcode"] == "M_NOT_FOUND"


async def test_other_user_forbidden(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    url = path("user", alice.user_id, "account_data", "org.example.cfg")
    for method, body in (("PUT", {"a": 1}), ("GET", None)):
        response = await client.request(method, url, body, token=bob.access_token)
        assert response.status == 403, method
        assert response.body["errcode"] == "M_FORBIDDEN"


@pytest.mark.parametrize("data_type", ["m.fully_read", "m.push_rules"])
async def test_managed_types_405(client: RawClient, data_type: str) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    for url in (
        path("user", alice.user_id, "account_data", data_type),
        path("user", alice.user_id, "rooms", room_id, "account_data", data_type),
    ):
        response = await client.request("PUT", url, {}, token=alice.access_token)
        assert response.status == 405, url
        assert response.body["errcode"] == "M_BAD_JSON"


async def test_bad_bodies(client: RawClient) -> None:
    alice = await client.register("alice")
    url = path("user", alice.user_id, "account_data", "org.example.cfg")
    not_json = await client.request("PUT", url, data=b"{nope", token=alice.access_token)
    assert not_json.status == 400
    assert not_json.body["errcode"] == "M_NOT_JSON"
    array = await client.request("PUT", url, [1, 2], token=alice.access_token)
    assert array.status == 400
    assert array.body["errcode"] == "M_BAD_JSON"


async def test_invalid_room_id(client: RawClient) -> None:
    alice = await client.register("alice")
    url = path("user", alice.user_id, "rooms", "not-a-room", "account_data", "x.y")
    response = await client.request("PUT", url, {}, token=alice.access_token)
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"


async def test_push_rules_readable_as_account_data(client: RawClient) -> None:
    alice = await client.register("alice")
    url = path("user", alice.user_id, "account_data", "m.push_rules")
    response = await client.request("GET", url, token=alice.access_token)
    assert response.status == 200
    assert "underride" in response.body["global"]


async def test_tags(client: RawClient) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    base = ("user", alice.user_id, "rooms", room_id, "tags")
    token = alice.access_token

    put = await client.request(
        "PUT", path(*base, "m.favourite"), {"order": 0.25}, token=token
    )
    assert put.status == 200
    await client.request("PUT", path(*base, "u.work"), {}, token=token)
    listed = await client.request("GET", path(*base), token=token)
    assert listed.body == {"tags": {"m.favourite": {"order": 0.25}, "u.work": {}}}

    deleted = await client.request("DELETE", path(*base, "m.favourite"), token=token)
    assert deleted.status == 200
    listed = await client.request("GET", path(*base), token=token)
    assert listed.body == {"tags": {"u.work": {}}}

    stored = await client.request(
        "GET",
        path("user", alice.user_id, "rooms", room_id, "account_data", "m.tag"),
        token=token,
    )
    assert stored.body == {"tags": {"u.work": {}}}


async def test_tag_bad_order(client: RawClient) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    url = path("user", alice.user_id, "rooms", room_id, "tags", "u.x")
    response = await client.request(
        "PUT", url, {"order": "high"}, token=alice.access_token
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_tags_other_user_forbidden(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice, bob)
    url = path("user", alice.user_id, "rooms", room_id, "tags")
    response = await client.request("GET", url, token=bob.access_token)
    assert response.status == 403


async def test_read_markers(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice, bob)
    event_id = await send_message(client, alice, room_id, "hello")

    response = await client.request(
        "POST",
        path("rooms", room_id, "read_markers"),
        {"m.fully_read": event_id, "m.read": event_id},
        token=bob.access_token,
    )
    assert response.status == 200
    marker = await client.request(
        "GET",
        path("user", bob.user_id, "rooms", room_id, "account_data", "m.fully_read"),
        token=bob.access_token,
    )
    assert marker.body == {"event_id": event_id}


async def test_read_markers_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    carol = await client.register("carol")
    room_id = await create_public_room(client, alice)
    event_id = await send_message(client, alice, room_id, "hello")
    url = path("rooms", room_id, "read_markers")

    outsider = await client.request(
        "POST", url, {"m.fully_read": event_id}, token=carol.access_token
    )
    assert outsider.status == 403
    unknown = await client.request(
        "POST", url, {"m.fully_read": "$unknown"}, token=alice.access_token
    )
    assert unknown.status == 404
    assert unknown.body["errcode"] == "M_NOT_FOUND"
    wrong_type = await client.request(
        "POST", url, {"m.read": 5}, token=alice.access_token
    )
    assert wrong_type.status == 400
