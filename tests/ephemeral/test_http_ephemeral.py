"""Receipts, typing and presence over HTTP, and their delivery through /sync."""

from __future__ import annotations

from pathlib import Path

from tests.client import RawClient, User
from tests.ephemeral.helpers import V3, create_public_room, path, send_message
from tests.serverproc import ServerProcess


async def _sync(client: RawClient, user: User, since: str | None = None) -> dict:
    params = {"timeout": "0"}
    if since is not None:
        params["since"] = since
    response = await client.request(
        "GET", V3 + "/sync", token=user.access_token, params=params
    )
    assert response.status == 200, response.body
    return response.body


def _ephemeral(body: dict, room_id: str, event_type: str) -> list[dict]:
    room = body.get("rooms", {}).get("join", {}).get(room_id, {})
    events = room.get("ephemeral", {}).get("events", [])
    return [event for event in events if event["type"] == event_type]


async def test_receipt_in_sync(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice, bob)
    event_id = await send_message(client, alice, room_id, "hello")
    since = (await _sync(client, alice))["next_batch"]

    response = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read", event_id),
        {"thread_id": "main"},
        token=bob.access_token,
    )
    assert response.status == 200
    assert response.body == {}

    receipts = _ephemeral(await _sync(client, alice, since), room_id, "m.receipt")
    assert len(receipts) == 1
    data = receipts[0]["content"][event_id]["m.read"][bob.user_id]
    assert data["thread_id"] == "main"
    assert isinstance(data["ts"], int)


async def test_private_receipt_hidden(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice, bob)
    event_id = await send_message(client, alice, room_id, "hello")
    await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read.private", event_id),
        {},
        token=bob.access_token,
    )
    assert _ephemeral(await _sync(client, alice), room_id, "m.receipt") == []
    own = _ephemeral(await _sync(client, bob), room_id, "m.receipt")
    assert bob.user_id in own[0]["content"][event_id]["m.read.private"]


async def test_receipt_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    carol = await client.register("carol")
    room_id = await create_public_room(client, alice)
    event_id = await send_message(client, alice, room_id, "hello")

    outsider = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read", event_id),
        {},
        token=carol.access_token,
    )
    assert outsider.status == 403
    assert outsider.body["errcode"] == "M_FORBIDDEN"

    unknown = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read", "$nope"),
        {},
        token=alice.access_token,
    )
    assert unknown.status == 404

    empty_thread = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read", event_id),
        {"thread_id": ""},
        token=alice.access_token,
    )
    assert empty_thread.status == 400
    assert empty_thread.body["errcode"] == "M_INVALID_PARAM"

    bad_type = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.seen", event_id),
        {},
        token=alice.access_token,
    )
    assert bad_type.status == 400

    not_json = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.read", event_id),
        data=b"[",
        token=alice.access_token,
    )
    assert not_json.status == 400


async def test_fully_read_receipt_type(client: RawClient) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    event_id = await send_message(client, alice, room_id, "hello")
    response = await client.request(
        "POST",
        path("rooms", room_id, "receipt", "m.fully_read", event_id),
        {},
        token=alice.access_token,
    )
    assert response.status == 200
    body = await _sync(client, alice)
    room = body["rooms"]["join"][room_id]
    account_data = {e["type"]: e["content"] for e in room["account_data"]["events"]}
    assert account_data["m.fully_read"] == {"event_id": event_id}


async def test_typing_in_sync(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice, bob)
    since = (await _sync(client, bob))["next_batch"]

    url = path("rooms", room_id, "typing", alice.user_id)
    start = await client.request(
        "PUT", url, {"typing": True, "timeout": 30000}, token=alice.access_token
    )
    assert start.status == 200
    body = await _sync(client, bob, since)
    typing = _ephemeral(body, room_id, "m.typing")
    assert typing == [{"type": "m.typing", "content": {"user_ids": [alice.user_id]}}]

    stop = await client.request("PUT", url, {"typing": False}, token=alice.access_token)
    assert stop.status == 200
    typing = _ephemeral(
        await _sync(client, bob, body["next_batch"]), room_id, "m.typing"
    )
    assert typing == [{"type": "m.typing", "content": {"user_ids": []}}]


async def test_typing_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await create_public_room(client, alice)

    other_user = await client.request(
        "PUT",
        path("rooms", room_id, "typing", alice.user_id),
        {"typing": True},
        token=bob.access_token,
    )
    assert other_user.status == 403
    not_joined = await client.request(
        "PUT",
        path("rooms", room_id, "typing", bob.user_id),
        {"typing": True},
        token=bob.access_token,
    )
    assert not_joined.status == 403
    missing = await client.request(
        "PUT",
        path("rooms", room_id, "typing", alice.user_id),
        {},
        token=alice.access_token,
    )
    assert missing.status == 400
    assert missing.body["errcode"] == "M_MISSING_PARAM"
    bad_timeout = await client.request(
        "PUT",
        path("rooms", room_id, "typing", alice.user_id),
        {"typing": True, "timeout": "soon"},
        token=alice.access_token,
    )
    assert bad_timeout.status == 400
    assert bad_timeout.body["errcode"] == "M_BAD_JSON"


async def test_presence_round_trip(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await create_public_room(client, alice, bob)
    url = path("presence", alice.user_id, "status")

    put = await client.request(
        "PUT",
        url,
        {"presence": "online", "status_msg": "here"},
        token=alice.access_token,
    )
    assert put.status == 200
    got = await client.request("GET", url, token=bob.access_token)
    assert got.status == 200
    assert got.body["presence"] == "online"
    assert got.body["status_msg"] == "here"
    assert got.body["currently_active"] is True
    assert isinstance(got.body["last_active_ago"], int)

    events = (await _sync(client, bob)).get("presence", {}).get("events", [])
    senders = {event["sender"]: event["content"] for event in events}
    assert senders[alice.user_id]["presence"] == "online"


async def test_presence_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    url = path("presence", alice.user_id, "status")

    other_user = await client.request(
        "PUT", url, {"presence": "online"}, token=bob.access_token
    )
    assert other_user.status == 403
    bad_state = await client.request(
        "PUT", url, {"presence": "asleep"}, token=alice.access_token
    )
    assert bad_state.status == 400
    missing = await client.request("PUT", url, {}, token=alice.access_token)
    assert missing.status == 400
    no_shared_room = await client.request("GET", url, token=bob.access_token)
    assert no_shared_room.status == 403
    unknown = await client.request(
        "GET", path("presence", "@ghost:localhost", "status"), token=alice.access_token
    )
    assert unknown.status == 404


async def test_presence_disabled(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, overrides={"presence_enabled": False})
    server.start()
    client = RawClient(server.base_url)
    try:
        alice = await client.register("alice")
        url = path("presence", alice.user_id, "status")
        put = await client.request(
            "PUT", url, {"presence": "online"}, token=alice.access_token
        )
        assert put.status == 200
        got = await client.request("GET", url, token=alice.access_token)
        assert got.status == 200
        assert got.body == {"presence": "offline"}
        body = await _sync(client, alice)
        assert body.get("presence", {}).get("events", []) == []
    finally:
        await client.close()
        server.stop()
