"""Request helpers shared by the room and sync tests."""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.client import RawClient, User

V3 = "/_matrix/client/v3"


async def new_user(client: RawClient, name: str) -> User:
    """Register a user whose name is unique on a server shared by a whole module."""
    return await client.register(f"{name}{secrets.token_hex(4)}")


async def create_room(client: RawClient, user: User, **body: Any) -> str:
    response = await client.request(
        "POST", f"{V3}/createRoom", body, token=user.access_token
    )
    assert response.status == 200, response.body
    return response.body["room_id"]


async def join(client: RawClient, user: User, room: str) -> int:
    response = await client.request(
        "POST", f"{V3}/join/{room}", {}, token=user.access_token
    )
    return response.status


async def invite(client: RawClient, user: User, room: str, target: str) -> int:
    response = await client.request(
        "POST",
        f"{V3}/rooms/{room}/invite",
        {"user_id": target},
        token=user.access_token,
    )
    return response.status


async def leave(client: RawClient, user: User, room: str) -> int:
    response = await client.request(
        "POST", f"{V3}/rooms/{room}/leave", {}, token=user.access_token
    )
    return response.status


async def send_text(
    client: RawClient, user: User, room: str, body: str, txn_id: str | None = None
) -> str:
    txn = txn_id or secrets.token_hex(8)
    response = await client.request(
        "PUT",
        f"{V3}/rooms/{room}/send/m.room.message/{txn}",
        {"msgtype": "m.text", "body": body},
        token=user.access_token,
    )
    assert response.status == 200, response.body
    return response.body["event_id"]


async def put_state(
    client: RawClient,
    user: User,
    room: str,
    event_type: str,
    content: dict[str, Any],
    state_key: str = "",
) -> Any:
    return await client.request(
        "PUT",
        f"{V3}/rooms/{room}/state/{event_type}/{state_key}",
        content,
        token=user.access_token,
    )


async def get_state_content(
    client: RawClient, user: User, room: str, event_type: str, state_key: str = ""
) -> Any:
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/state/{event_type}/{state_key}",
        token=user.access_token,
    )
    assert response.status == 200, response.body
    return response.body


async def messages(
    client: RawClient, user: User, room: str, **params: Any
) -> dict[str, Any]:
    query = {
        key: json.dumps(value) if isinstance(value, dict) else str(value)
        for key, value in params.items()
    }
    response = await client.request(
        "GET", f"{V3}/rooms/{room}/messages", token=user.access_token, params=query
    )
    assert response.status == 200, response.body
    return response.body


async def sync(
    client: RawClient,
    user: User,
    since: str | None = None,
    filter: dict[str, Any] | str | None = None,
    timeout: int = 0,
    **params: Any,
) -> dict[str, Any]:
    query: dict[str, str] = {"timeout": str(timeout)}
    if since is not None:
        query["since"] = since
    if filter is not None:
        query["filter"] = filter if isinstance(filter, str) else json.dumps(filter)
    query.update({key: str(value) for key, value in params.items()})
    response = await client.request(
        "GET", f"{V3}/sync", token=user.access_token, params=query
    )
    assert response.status == 200, response.body
    return response.body


def timeline_bodies(events: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in events if e["type"] == "m.room.message"]
