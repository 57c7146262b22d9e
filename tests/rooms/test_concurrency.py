"""Many users sending into one room at once.

The pipeline builds each event on top of the previous one under the room's lock, so the
room's event graph stays a single chain however many requests race.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from tests.client import RawClient
from tests.rooms.helpers import V3, create_room, join, messages, new_user
from tests.serverproc import ServerProcess

_SENDERS = 20


async def test_concurrent_senders_linear_graph(
    client: RawClient, server: ServerProcess
) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, preset="public_chat")
    users = [await new_user(client, f"sender{i}") for i in range(_SENDERS)]
    for user in users:
        assert await join(client, user, room) == 200

    async def send(index: int) -> tuple[int, str]:
        user = users[index]
        response = await client.request(
            "PUT",
            f"{V3}/rooms/{room}/send/m.room.message/race{index}",
            {"msgtype": "m.text", "body": f"race {index}"},
            token=user.access_token,
        )
        return response.status, response.body.get("event_id", "")

    results = await asyncio.gather(*(send(i) for i in range(_SENDERS)))
    assert [status for status, _ in results] == [200] * _SENDERS
    sent_ids = {event_id for _, event_id in results}
    assert len(sent_ids) == _SENDERS

    path = Path(server.config["data_dir"]) / "homeserver.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT event_id, json FROM events WHERE room_id = ?"
            " ORDER BY stream_ordering",
            (room,),
        ).fetchall()
    previous_id = None
    previous_depth = 0
    for event_id, text in rows:
        pdu = json.loads(text)
        expected_prev = [previous_id] if previous_id is not None else []
        assert pdu["prev_events"] == expected_prev, event_id
        assert pdu["depth"] > previous_depth, event_id
        previous_id = event_id
        previous_depth = pdu["depth"]

    page = await messages(
        client, alice, room, dir="f", limit=1000, filter={"types": ["m.room.message"]}
    )
    returned = [e["event_id"] for e in page["chunk"]]
    assert len(returned) == _SENDERS
    assert set(returned) == sent_ids
