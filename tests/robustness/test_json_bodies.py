"""Request bodies that are JSON by grammar but that the server cannot store or send.

Spec: Client-Server API, "Standard error response" (M_NOT_JSON, M_BAD_JSON) and
Appendices, "Canonical JSON". Each rejected body must leave nothing behind, so the
tests read the target back after the rejection.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import quote

from tests.client import RawClient, Response, User
from tests.rooms.helpers import V3, create_room, new_user


def _account_data_path(user: User, data_type: str) -> str:
    return f"{V3}/user/{quote(user.user_id)}/account_data/{data_type}"


async def _put_raw(client: RawClient, user: User, path: str, raw: bytes) -> Response:
    return await client.request(
        "PUT",
        path,
        data=raw,
        token=user.access_token,
        headers={"Content-Type": "application/json"},
    )


async def _send_raw(client: RawClient, prefix: str, raw: bytes) -> Response:
    """Send `raw` as an m.room.message into a new room of a new user."""
    user = await new_user(client, prefix)
    room = await create_room(client, user)
    path = f"{V3}/rooms/{room}/send/m.room.message/{secrets.token_hex(4)}"
    return await _put_raw(client, user, path, raw)


def _content_nested(depth: int) -> bytes:
    return b'{"body":"x","a":' + b"[" * depth + b"]" * depth + b"}"


async def test_deeply_nested_body_rejected(client: RawClient) -> None:
    alice = await new_user(client, "nest")
    path = _account_data_path(alice, "m.nested")
    raw = b'{"a":' + b"[" * 10000 + b"]" * 10000 + b"}"
    response = await _put_raw(client, alice, path, raw)
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"
    stored = await client.request("GET", path, token=alice.access_token)
    assert stored.status == 404


async def test_nested_event_content_rejected(client: RawClient) -> None:
    # Shallow enough for the JSON parser, deep enough for recursive event code.
    response = await _send_raw(client, "nestev", _content_nested(500))
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_moderate_nesting_accepted(client: RawClient) -> None:
    response = await _send_raw(client, "nestok", _content_nested(50))
    assert response.status == 200, response.body


async def test_lone_surrogate_rejected(client: RawClient) -> None:
    alice = await new_user(client, "surr")
    path = _account_data_path(alice, "m.surrogate")
    response = await _put_raw(client, alice, path, b'{"a": "x\\ud800y"}')
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"
    stored = await client.request("GET", path, token=alice.access_token)
    assert stored.status == 404
    sync = await client.request("GET", f"{V3}/sync", token=alice.access_token)
    assert sync.status == 200


async def test_lone_surrogate_key_rejected(client: RawClient) -> None:
    response = await _send_raw(client, "surrk", b'{"body": "x", "\\udc00": 1}')
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_surrogate_pair_accepted(client: RawClient) -> None:
    alice = await new_user(client, "pair")
    path = _account_data_path(alice, "m.emoji")
    response = await _put_raw(client, alice, path, b'{"a": "\\ud83d\\ude00"}')
    assert response.status == 200, response.body
    stored = await client.request("GET", path, token=alice.access_token)
    assert stored.body == {"a": "\U0001f600"}


async def test_overflowing_number_rejected(client: RawClient) -> None:
    # 1e400 is valid JSON grammar but overflows to infinity, which would be
    # written back to clients as the invalid JSON token `Infinity`.
    alice = await new_user(client, "inf")
    path = _account_data_path(alice, "m.infinite")
    response = await _put_raw(client, alice, path, b'{"a": 1e400}')
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"
    stored = await client.request("GET", path, token=alice.access_token)
    assert stored.status == 404


async def test_overflowing_number_in_event(client: RawClient) -> None:
    response = await _send_raw(client, "infev", b'{"body": "x", "n": -1e400}')
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"


async def test_deep_filter_query_rejected(client: RawClient) -> None:
    alice = await new_user(client, "qf")
    room = await create_room(client, alice)
    deep = "[" * 3000 + "]" * 3000
    messages = await client.request(
        "GET",
        f"{V3}/rooms/{room}/messages",
        token=alice.access_token,
        params={"filter": deep},
    )
    assert messages.status == 400
    assert messages.body["errcode"] == "M_BAD_JSON"
    nested = '{"room":' * 3000 + "{}" + "}" * 3000
    sync = await client.request(
        "GET", f"{V3}/sync", token=alice.access_token, params={"filter": nested}
    )
    assert sync.status == 400
    assert sync.body["errcode"] == "M_BAD_JSON"


async def test_deep_public_rooms_token_rejected(client: RawClient) -> None:
    alice = await new_user(client, "pr")
    deep = ("[" * 3000 + "]" * 3000).encode()
    token = base64.urlsafe_b64encode(deep).decode().rstrip("=")
    response = await client.request(
        "GET", f"{V3}/publicRooms", token=alice.access_token, params={"since": token}
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"
