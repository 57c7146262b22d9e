"""Bad requests get the spec's error codes and statuses, never a 500."""

from __future__ import annotations

import pytest

from tests.client import RawClient


async def test_unknown_endpoint_is_unrecognized(client: RawClient) -> None:
    response = await client.request("GET", "/_matrix/client/v3/no/such/endpoint")
    assert response.status == 404
    assert response.body["errcode"] == "M_UNRECOGNIZED"


async def test_wrong_method_is_unrecognized_405(client: RawClient) -> None:
    response = await client.request("DELETE", "/_matrix/client/versions")
    assert response.status == 405
    assert response.body["errcode"] == "M_UNRECOGNIZED"


async def test_missing_token(client: RawClient) -> None:
    response = await client.request("GET", "/_matrix/client/v3/joined_rooms")
    assert response.status == 401
    assert response.body["errcode"] == "M_MISSING_TOKEN"


async def test_unknown_token(client: RawClient) -> None:
    response = await client.request(
        "GET", "/_matrix/client/v3/joined_rooms", token="mat_not_a_real_token"
    )
    assert response.status == 401
    assert response.body["errcode"] == "M_UNKNOWN_TOKEN"


async def test_body_not_json(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        data=b"{not json",
        token=alice.access_token,
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_NOT_JSON"


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42"])
async def test_body_not_object_is_bad_json(client: RawClient, body: bytes) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST", "/_matrix/client/v3/createRoom", data=body, token=alice.access_token
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_float_in_event_content_is_bad_json(client: RawClient) -> None:
    alice = await client.register("alice")
    room = await client.request(
        "POST", "/_matrix/client/v3/createRoom", {}, token=alice.access_token
    )
    response = await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room.body['room_id']}/send/m.custom/t1",
        data=b'{"value": 1.5}',
        token=alice.access_token,
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_integer_out_of_range_is_bad_json(client: RawClient) -> None:
    alice = await client.register("alice")
    room = await client.request(
        "POST", "/_matrix/client/v3/createRoom", {}, token=alice.access_token
    )
    response = await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room.body['room_id']}/send/m.custom/t1",
        data=b'{"value": 9007199254740992}',
        token=alice.access_token,
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_oversized_event_is_too_large(client: RawClient) -> None:
    alice = await client.register("alice")
    room = await client.request(
        "POST", "/_matrix/client/v3/createRoom", {}, token=alice.access_token
    )
    response = await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room.body['room_id']}/send/m.custom/t1",
        {"blob": "x" * 70000},
        token=alice.access_token,
    )
    assert response.status == 413
    assert response.body["errcode"] == "M_TOO_LARGE"


async def test_body_over_limit_is_too_large(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"name": "x" * (2 * 1024 * 1024)},
        token=alice.access_token,
    )
    assert response.status == 413
    assert response.body["errcode"] == "M_TOO_LARGE"


async def test_send_to_unknown_room_not_found(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "PUT",
        "/_matrix/client/v3/rooms/!nope:localhost/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "hi"},
        token=alice.access_token,
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"


async def test_send_without_membership_forbidden(client: RawClient) -> None:
    alice = await client.register("alice")
    eve = await client.register("eve")
    room = await client.request(
        "POST", "/_matrix/client/v3/createRoom", {}, token=alice.access_token
    )
    response = await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room.body['room_id']}/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "let me in"},
        token=eve.access_token,
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_bad_sync_token_invalid_param(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "GET", "/_matrix/client/v3/sync?since=garbage", token=alice.access_token
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"


async def test_unsupported_room_version(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"room_version": "999"},
        token=alice.access_token,
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"


async def test_cors_preflight(client: RawClient) -> None:
    response = await client.request(
        "OPTIONS",
        "/_matrix/client/v3/createRoom",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
