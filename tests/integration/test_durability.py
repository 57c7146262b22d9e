"""An acknowledged send survives a SIGKILL of the server."""

from __future__ import annotations

from tests.client import RawClient
from tests.serverproc import ServerProcess


async def test_sent_events_survive_sigkill(server: ServerProcess) -> None:
    client = RawClient(server.base_url)
    try:
        alice = await client.register("alice")
        created = await client.request(
            "POST", "/_matrix/client/v3/createRoom", {}, token=alice.access_token
        )
        room_id = created.body["room_id"]
        event_ids = []
        for number in range(20):
            response = await client.request(
                "PUT",
                f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/txn{number}",
                {"msgtype": "m.text", "body": f"durable {number}"},
                token=alice.access_token,
            )
            assert response.status == 200, response.body
            event_ids.append(response.body["event_id"])
        # Kill straight after the last 200, with no chance to flush anything.
        server.kill()
    finally:
        await client.close()

    server.start()
    client = RawClient(server.base_url)
    try:
        for event_id in event_ids:
            response = await client.request(
                "GET",
                f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}",
                token=alice.access_token,
            )
            assert response.status == 200, (event_id, response.body)
        last = await client.request(
            "GET",
            f"/_matrix/client/v3/rooms/{room_id}/event/{event_ids[-1]}",
            token=alice.access_token,
        )
        assert last.body["content"]["body"] == "durable 19"

        # The transaction ID is remembered across the restart too.
        retried = await client.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/txn19",
            {"msgtype": "m.text", "body": "durable 19"},
            token=alice.access_token,
        )
        assert retried.body["event_id"] == event_ids[-1]

        # New events still chain onto the old ones after the restart.
        after = await client.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/after",
            {"msgtype": "m.text", "body": "after restart"},
            token=alice.access_token,
        )
        assert after.status == 200, after.body
        page = await client.request(
            "GET",
            f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=2",
            token=alice.access_token,
        )
        bodies = [event["content"]["body"] for event in page.body["chunk"]]
        assert bodies == ["after restart", "durable 19"]
    finally:
        await client.close()
