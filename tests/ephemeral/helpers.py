"""Room set-up through the real Client-Server API, for the HTTP tests."""

from __future__ import annotations

from urllib.parse import quote

from tests.client import RawClient, User

V3 = "/_matrix/client/v3"


def path(*parts: str) -> str:
    """Join path segments under the v3 prefix, percent-encoding each segment."""
    return V3 + "".join("/" + quote(part, safe="") for part in parts)


async def create_public_room(client: RawClient, creator: User, *members: User) -> str:
    response = await client.request(
        "POST",
        V3 + "/createRoom",
        {"preset": "public_chat"},
        token=creator.access_token,
    )
    assert response.status == 200, response.body
    room_id = response.body["room_id"]
    for member in members:
        joined = await client.request(
            "POST", path("rooms", room_id, "join"), {}, token=member.access_token
        )
        assert joined.status == 200, joined.body
    return room_id


async def send_message(client: RawClient, user: User, room_id: str, body: str) -> str:
    response = await client.request(
        "PUT",
        path("rooms", room_id, "send", "m.room.message", f"txn-{body}"),
        {"msgtype": "m.text", "body": body},
        token=user.access_token,
    )
    assert response.status == 200, response.body
    return response.body["event_id"]
