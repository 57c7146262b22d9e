"""Concurrent requests that must behave as if they ran one after the other.

Spec: Client-Server API, "Transaction identifiers": a request that reuses an
access token's transaction ID is treated as a retry of the first, so concurrent
duplicates create one event and all get its ID.
"""

from __future__ import annotations

import asyncio
import secrets

from tests.client import RawClient
from tests.rooms.helpers import V3, create_room, new_user


async def test_same_txn_id_concurrently(client: RawClient) -> None:
    alice = await new_user(client, "txn")
    room = await create_room(client, alice)
    content = {"msgtype": "m.text", "body": "once"}
    sent_ids: list[str] = []
    # The race needs the duplicates to overlap on the server, so try a few rounds.
    for round_number in range(5):
        path = f"{V3}/rooms/{room}/send/m.room.message/txn{round_number}"
        responses = await asyncio.gather(
            *(
                client.request("PUT", path, content, token=alice.access_token)
                for _ in range(20)
            )
        )
        assert [response.status for response in responses] == [200] * 20
        event_ids = {response.body["event_id"] for response in responses}
        assert len(event_ids) == 1
        sent_ids.extend(event_ids)
    page = await client.request(
        "GET",
        f"{V3}/rooms/{room}/messages",
        token=alice.access_token,
        params={"dir": "f", "limit": "200"},
    )
    sent = [event for event in page.body["chunk"] if event["type"] == "m.room.message"]
    assert [event["event_id"] for event in sent] == sent_ids


async def test_same_register_name_concurrently(client: RawClient) -> None:
    name = f"race{secrets.token_hex(4)}"

    async def register() -> int:
        body = {"username": name, "password": "correct horse battery"}
        first = await client.request("POST", f"{V3}/register", body)
        if first.status != 401:
            return first.status
        body["auth"] = {"type": "m.login.dummy", "session": first.body["session"]}
        second = await client.request("POST", f"{V3}/register", body)
        return second.status

    statuses = await asyncio.gather(*(register() for _ in range(6)))
    assert sorted(statuses) == [200] + [400] * 5
