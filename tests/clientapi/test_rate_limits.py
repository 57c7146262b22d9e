"""Senders past their message rate get 429 M_LIMIT_EXCEEDED with a retry time."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from tests.client import RawClient
from tests.serverproc import ServerProcess


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path,
        overrides={
            "rate_limits": {
                "enabled": True,
                "message": {"per_second": 0.5, "burst_count": 3},
                "registration": {"per_second": 100, "burst_count": 100},
            }
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def limited_client(limited_server: ServerProcess) -> AsyncIterator[RawClient]:
    raw = RawClient(limited_server.base_url)
    try:
        yield raw
    finally:
        await raw.close()


async def test_message_burst_then_limit(limited_client: RawClient) -> None:
    alice = await limited_client.register("alice")
    bob = await limited_client.register("bob")
    created = await limited_client.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "public_chat"},
        token=alice.access_token,
    )
    room_id = created.body["room_id"]
    await limited_client.request(
        "POST", f"/_matrix/client/v3/join/{room_id}", {}, token=bob.access_token
    )

    statuses = []
    last = None
    for number in range(5):
        last = await limited_client.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t{number}",
            {"msgtype": "m.text", "body": f"message {number}"},
            token=bob.access_token,
        )
        statuses.append(last.status)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    assert last is not None
    assert last.body["errcode"] == "M_LIMIT_EXCEEDED"
    assert 0 < last.body["retry_after_ms"] <= 2000

    # The limit is per user: Alice still has her own burst.
    other = await limited_client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/a1",
        {"msgtype": "m.text", "body": "from alice"},
        token=alice.access_token,
    )
    assert other.status == 200
