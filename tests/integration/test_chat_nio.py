"""Two matrix-nio clients chat through the real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)

from tests.nio_helpers import new_nio_client
from tests.serverproc import ServerProcess


async def _sync_until(
    client: AsyncClient,
    predicate: Callable[[SyncResponse], bool],
    attempts: int = 10,
) -> SyncResponse:
    """Long-poll until one response satisfies `predicate`."""
    for _ in range(attempts):
        response = await client.sync(timeout=3000)
        assert isinstance(response, SyncResponse), response
        if predicate(response):
            return response
    raise AssertionError("the expected sync response never arrived")


def _timeline(response: SyncResponse, room_id: str) -> list[Any]:
    room = response.rooms.join.get(room_id)
    return room.timeline.events if room is not None else []


def _bodies(response: SyncResponse, room_id: str) -> list[str]:
    return [
        event.body for event in _timeline(response, room_id) if hasattr(event, "body")
    ]


def _ephemeral(response: SyncResponse, room_id: str) -> list[Any]:
    room = response.rooms.join.get(room_id)
    return room.ephemeral if room is not None else []


@pytest.fixture
async def alice_and_bob(server: ServerProcess, tmp_path: Path):
    alice = await new_nio_client(server, "alice", tmp_path)
    bob = await new_nio_client(server, "bob", tmp_path)
    try:
        yield alice, bob
    finally:
        await alice.close()
        await bob.close()


async def test_two_users_chat(alice_and_bob) -> None:
    alice, bob = alice_and_bob
    await alice.sync(timeout=0)
    await bob.sync(timeout=0)

    created = await alice.room_create(name="Lunch", invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id

    invited = await _sync_until(bob, lambda r: room_id in r.rooms.invite)
    invite_state = invited.rooms.invite[room_id].invite_state
    assert any(e.__class__.__name__ == "RoomNameEvent" for e in invite_state) or any(
        getattr(e, "name", None) == "Lunch" for e in invite_state
    )

    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined

    sent = await alice.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "hello bob"}
    )
    assert isinstance(sent, RoomSendResponse), sent
    seen_by_bob = await _sync_until(bob, lambda r: "hello bob" in _bodies(r, room_id))
    assert "hello bob" in _bodies(seen_by_bob, room_id)

    await bob.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "hi alice"}
    )
    seen_by_alice = await _sync_until(
        alice, lambda r: "hi alice" in _bodies(r, room_id)
    )
    sender = next(
        e.sender
        for e in _timeline(seen_by_alice, room_id)
        if getattr(e, "body", None) == "hi alice"
    )
    assert sender == bob.user_id


async def test_typing_and_receipts_reach_other_user(alice_and_bob) -> None:
    alice, bob = alice_and_bob
    created = await alice.room_create(invite=[bob.user_id])
    room_id = created.room_id
    await bob.join(room_id)
    await alice.sync(timeout=0)
    await bob.sync(timeout=0)

    await alice.room_typing(room_id, typing_state=True, timeout=30000)

    def alice_typing(response: SyncResponse) -> bool:
        return any(
            getattr(e, "users", None) == [alice.user_id]
            for e in _ephemeral(response, room_id)
        )

    await _sync_until(bob, alice_typing)

    sent = await bob.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "read me"}
    )
    await alice.update_receipt_marker(room_id, sent.event_id)

    def alice_read(response: SyncResponse) -> bool:
        for event in _ephemeral(response, room_id):
            for receipt in getattr(event, "receipts", []):
                if receipt.event_id == sent.event_id and receipt.user_id == alice.user_id:
                    return True
        return False

    await _sync_until(bob, alice_read)

    await alice.room_typing(room_id, typing_state=False)

    def nobody_typing(response: SyncResponse) -> bool:
        return any(
            getattr(e, "users", None) == [] for e in _ephemeral(response, room_id)
        )

    await _sync_until(bob, nobody_typing)


async def test_history_pages_back_in_order(alice_and_bob) -> None:
    alice, bob = alice_and_bob
    created = await alice.room_create(invite=[bob.user_id])
    room_id = created.room_id
    await bob.join(room_id)
    for number in range(25):
        await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": f"message {number}"}
        )

    first = await bob.sync(timeout=0)
    room = first.rooms.join[room_id]
    assert room.timeline.limited is True
    bodies = [e.body for e in room.timeline.events if hasattr(e, "body")]
    assert bodies[-1] == "message 24"

    collected = list(reversed(bodies))
    token = room.timeline.prev_batch
    while True:
        page = await bob.room_messages(room_id, start=token, limit=7)
        assert isinstance(page, RoomMessagesResponse), page
        collected.extend(e.body for e in page.chunk if hasattr(e, "body"))
        if not page.chunk or page.end is None:
            break
        token = page.end
    expected = [f"message {n}" for n in reversed(range(25))]
    assert collected == expected


async def test_redaction_removes_content(alice_and_bob, server: ServerProcess) -> None:
    alice, bob = alice_and_bob
    created = await alice.room_create(invite=[bob.user_id])
    room_id = created.room_id
    await bob.join(room_id)
    secret = "the secret plan"
    sent = await alice.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": secret}
    )
    redacted = await alice.room_redact(room_id, sent.event_id, reason="oops")
    assert redacted.event_id.startswith("$")

    response = await bob.room_messages(room_id, start="", limit=20)
    assert isinstance(response, RoomMessagesResponse), response
    original = next(e for e in response.chunk if e.event_id == sent.event_id)
    assert original.source["content"] == {}
    assert original.source["unsigned"]["redacted_because"]["event_id"] == (
        redacted.event_id
    )

    # The content is gone from the database file, not only hidden.
    await alice.close()
    await bob.close()
    server.stop()
    database = Path(server.config["data_dir"]) / "homeserver.db"
    for path in database.parent.glob("homeserver.db*"):
        assert secret.encode() not in path.read_bytes(), path


async def test_profile_change_reaches_room(alice_and_bob) -> None:
    alice, bob = alice_and_bob
    created = await alice.room_create(invite=[bob.user_id])
    room_id = created.room_id
    await bob.join(room_id)
    await bob.sync(timeout=0)

    await alice.set_displayname("Alice Liddell")

    def renamed(response: SyncResponse) -> bool:
        return any(
            getattr(e, "state_key", None) == alice.user_id
            and e.source["content"].get("displayname") == "Alice Liddell"
            for e in _timeline(response, room_id)
        )

    await _sync_until(bob, renamed)
    room = bob.rooms[room_id]
    assert room.user_name(alice.user_id) == "Alice Liddell"


async def test_long_poll_wakes_on_message(alice_and_bob) -> None:
    alice, bob = alice_and_bob
    created = await alice.room_create(invite=[bob.user_id])
    room_id = created.room_id
    await bob.join(room_id)
    await bob.sync(timeout=0)

    async def send_later() -> None:
        await asyncio.sleep(0.5)
        await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "wake up"}
        )

    task = asyncio.create_task(send_later())
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await bob.sync(timeout=20000)
    elapsed = loop.time() - started
    await task
    assert "wake up" in _bodies(response, room_id)
    # Woken by the send, not by the 20 s timeout.
    assert elapsed < 10
