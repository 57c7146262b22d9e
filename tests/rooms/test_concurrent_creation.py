"""Rooms created at the same moment by one user stay distinct."""

from __future__ import annotations

import asyncio
import uuid

from tests.client import RawClient

PREFIX = "/_matrix/client/v3"


async def test_simultaneous_creates_make_distinct_rooms(client: RawClient) -> None:
    """Regression: a v12 room ID is its create event's hash, and two identical create
    events in one millisecond made the second room collide with the first."""
    alice = await client.register(f"alice-{uuid.uuid4().hex[:8]}")
    responses = await asyncio.gather(
        *(
            client.request("POST", PREFIX + "/createRoom", {}, token=alice.access_token)
            for _ in range(30)
        )
    )
    statuses = [response.status for response in responses]
    assert statuses == [200] * 30
    room_ids = {response.body["room_id"] for response in responses}
    assert len(room_ids) == 30
    joined = await client.request(
        "GET", PREFIX + "/joined_rooms", token=alice.access_token
    )
    assert room_ids <= set(joined.body["joined_rooms"])
