"""`/sync` long-polling: answer at once with data, wait for the timeout without.

Spec: Client-Server API, "Syncing", the `timeout` parameter of sync.yaml.
"""

from __future__ import annotations

import asyncio
import time

from tests.client import RawClient
from tests.rooms.helpers import (
    create_room,
    join,
    new_user,
    send_text,
    sync,
    timeline_bodies,
)


async def test_returns_at_once_with_data(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    first = await sync(client, alice)
    await send_text(client, alice, room, "waiting")
    started = time.monotonic()
    second = await sync(client, alice, since=first["next_batch"], timeout=10_000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert timeline_bodies(second["rooms"]["join"][room]["timeline"]["events"]) == [
        "waiting"
    ]


async def test_waits_until_timeout_without_data(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    await create_room(client, alice)
    first = await sync(client, alice)
    started = time.monotonic()
    second = await sync(client, alice, since=first["next_batch"], timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.95
    assert elapsed < 2.0
    assert second["rooms"]["join"] == {}
    assert second["next_batch"] == first["next_batch"]


async def test_wakes_when_other_user_sends(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    first = await sync(client, alice)

    async def send_later() -> None:
        await asyncio.sleep(0.5)
        await send_text(client, bob, room, "wake up")

    started = time.monotonic()
    second, _ = await asyncio.gather(
        sync(client, alice, since=first["next_batch"], timeout=20_000), send_later()
    )
    elapsed = time.monotonic() - started
    assert elapsed < 5.0
    events = second["rooms"]["join"][room]["timeline"]["events"]
    assert timeline_bodies(events) == ["wake up"]


async def test_not_woken_by_unrelated_room(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    carol = await new_user(client, "carol")
    await create_room(client, alice)
    elsewhere = await create_room(client, carol)
    first = await sync(client, alice)

    async def send_later() -> None:
        await asyncio.sleep(0.2)
        await send_text(client, carol, elsewhere, "not for alice")

    started = time.monotonic()
    second, _ = await asyncio.gather(
        sync(client, alice, since=first["next_batch"], timeout=1500), send_later()
    )
    elapsed = time.monotonic() - started
    assert elapsed >= 1.4
    assert second["rooms"]["join"] == {}


async def test_typing_elsewhere_does_not_end_wait(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    carol = await new_user(client, "carol")
    shared = await create_room(client, alice, preset="public_chat")
    await join(client, bob, shared)
    elsewhere = await create_room(client, carol)
    await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{shared}/typing/{bob.user_id}",
        {"typing": True, "timeout": 30000},
        token=bob.access_token,
    )
    first = await sync(client, alice)
    # Typing in a room alice is not in moves the typing stream but is no news to her.
    await client.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{elsewhere}/typing/{carol.user_id}",
        {"typing": True, "timeout": 30000},
        token=carol.access_token,
    )
    started = time.monotonic()
    second = await sync(client, alice, since=first["next_batch"], timeout=1000)
    elapsed = time.monotonic() - started
    assert second["rooms"]["join"] == {}
    assert elapsed >= 0.95
