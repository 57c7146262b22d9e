"""Leaving a room ends the user's typing notification there."""

from __future__ import annotations

import uuid

from tests.client import RawClient

PREFIX = "/_matrix/client/v3"


def _typing_users(sync_body: dict, room_id: str) -> list[str] | None:
    room = sync_body.get("rooms", {}).get("join", {}).get(room_id)
    if room is None:
        return None
    for event in room.get("ephemeral", {}).get("events", []):
        if event["type"] == "m.typing":
            return event["content"]["user_ids"]
    return None


async def test_leaving_stops_typing(client: RawClient) -> None:
    suffix = uuid.uuid4().hex[:8]
    alice = await client.register(f"alice-{suffix}")
    bob = await client.register(f"bob-{suffix}")
    created = await client.request(
        "POST", PREFIX + "/createRoom", {"preset": "public_chat"}, token=alice.access_token
    )
    room_id = created.body["room_id"]
    await client.request("POST", f"{PREFIX}/join/{room_id}", {}, token=bob.access_token)

    typing = await client.request(
        "PUT",
        f"{PREFIX}/rooms/{room_id}/typing/{bob.user_id}",
        {"typing": True, "timeout": 60000},
        token=bob.access_token,
    )
    assert typing.status == 200, typing.body
    first = await client.request("GET", PREFIX + "/sync", token=alice.access_token)
    assert _typing_users(first.body, room_id) == [bob.user_id]

    await client.request(
        "POST", f"{PREFIX}/rooms/{room_id}/leave", {}, token=bob.access_token
    )
    later = await client.request(
        "GET",
        PREFIX + "/sync",
        token=alice.access_token,
        params={"since": first.body["next_batch"], "timeout": "5000"},
    )
    assert _typing_users(later.body, room_id) == []
