"""ReceiptStore against a real database and event pipeline."""

from __future__ import annotations

import asyncio

import pytest

from homeserver.errors import Forbidden, InvalidParam, NotFound
from tests.ephemeral.conftest import ALICE, BOB, CAROL, Core, create_room


async def _message(core: Core, body: str = "hi", **content: object) -> str:
    item = await core.services.pipeline.send(
        core.room_id,
        ALICE,
        "m.room.message",
        {"msgtype": "m.text", "body": body, **content},
    )
    return item.event.event_id


async def test_read_receipt_in_sync_shape(core: Core) -> None:
    event_id = await _message(core)
    position = await core.receipts.set_receipt(core.room_id, BOB, "m.read", event_id)
    assert position is not None

    result = await core.receipts.get_for_rooms([core.room_id], 0, position, ALICE)
    event = result[core.room_id]
    assert event["type"] == "m.receipt"
    data = event["content"][event_id]["m.read"][BOB]
    assert isinstance(data["ts"], int)
    assert "thread_id" not in data


async def test_private_receipt_only_for_owner(core: Core) -> None:
    event_id = await _message(core)
    position = await core.receipts.set_receipt(
        core.room_id, BOB, "m.read.private", event_id
    )
    assert position is not None
    for_alice = await core.receipts.get_for_rooms([core.room_id], 0, position, ALICE)
    for_bob = await core.receipts.get_for_rooms([core.room_id], 0, position, BOB)
    assert for_alice == {}
    assert BOB in for_bob[core.room_id]["content"][event_id]["m.read.private"]


async def test_not_joined_forbidden(core: Core) -> None:
    event_id = await _message(core)
    with pytest.raises(Forbidden):
        await core.receipts.set_receipt(core.room_id, CAROL, "m.read", event_id)


async def test_unknown_event_not_found(core: Core) -> None:
    with pytest.raises(NotFound):
        await core.receipts.set_receipt(core.room_id, BOB, "m.read", "$missing")


async def test_event_of_other_room_not_found(core: Core) -> None:
    other_room = await create_room(core.services, BOB, [])
    other = await core.services.pipeline.send(
        other_room, BOB, "m.room.message", {"msgtype": "m.text", "body": "x"}
    )
    with pytest.raises(NotFound):
        await core.receipts.set_receipt(
            core.room_id, BOB, "m.read", other.event.event_id
        )


async def test_unknown_receipt_type_rejected(core: Core) -> None:
    event_id = await _message(core)
    with pytest.raises(InvalidParam):
        await core.receipts.set_receipt(core.room_id, BOB, "m.seen", event_id)


async def test_threaded_receipts_kept_apart(core: Core) -> None:
    root = await _message(core, "root")
    reply = await _message(
        core, "reply", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )
    await core.receipts.set_receipt(core.room_id, BOB, "m.read", root, "main")
    await core.receipts.set_receipt(core.room_id, BOB, "m.read", reply, root)
    position = await core.receipts.set_receipt(core.room_id, BOB, "m.read", root)

    result = await core.receipts.get_for_rooms([core.room_id], 0, position, ALICE)
    content = result[core.room_id]["content"]
    assert content[reply]["m.read"][BOB]["thread_id"] == root
    # The main-timeline receipt and the unthreaded one share the event but not the key.
    assert content[root]["m.read"][BOB].get("thread_id") is None
    rows = await core.services.db.fetchall(
        "SELECT thread_id FROM receipts WHERE user_id = ? ORDER BY thread_id", (BOB,)
    )
    assert [row[0] for row in rows] == ["", root, "main"]


async def test_thread_mismatch_rejected(core: Core) -> None:
    root = await _message(core, "root")
    reply = await _message(
        core, "reply", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )
    with pytest.raises(InvalidParam):
        await core.receipts.set_receipt(core.room_id, BOB, "m.read", reply, "main")


async def test_thread_with_fully_read_rejected(core: Core) -> None:
    event_id = await _message(core)
    with pytest.raises(InvalidParam):
        await core.receipts.set_receipt(
            core.room_id, BOB, "m.fully_read", event_id, "main"
        )


async def test_receipt_never_moves_back(core: Core) -> None:
    older = await _message(core, "one")
    newer = await _message(core, "two")
    await core.receipts.set_receipt(core.room_id, BOB, "m.read", newer)
    assert await core.receipts.set_receipt(core.room_id, BOB, "m.read", older) is None
    stored = await core.services.db.fetchvalue(
        "SELECT event_id FROM receipts WHERE user_id = ?", (BOB,)
    )
    assert stored == newer


async def test_changes_after_since_only(core: Core) -> None:
    first_event = await _message(core, "one")
    second_event = await _message(core, "two")
    first = await core.receipts.set_receipt(core.room_id, BOB, "m.read", first_event)
    second = await core.receipts.set_receipt(
        core.room_id, ALICE, "m.read", second_event
    )
    assert first is not None and second is not None
    result = await core.receipts.get_for_rooms([core.room_id], first, second, BOB)
    assert list(result[core.room_id]["content"]) == [second_event]


async def test_fully_read_is_account_data(core: Core) -> None:
    event_id = await _message(core)
    await core.receipts.set_receipt(core.room_id, BOB, "m.fully_read", event_id)
    content = await core.account_data.get(BOB, "m.fully_read", core.room_id)
    assert content == {"event_id": event_id}
    assert await core.services.db.fetchvalue("SELECT COUNT(*) FROM receipts") == 0


async def test_read_markers_set_all(core: Core) -> None:
    event_id = await _message(core)
    await core.receipts.set_read_markers(
        core.room_id,
        BOB,
        {"m.fully_read": event_id, "m.read": event_id, "m.read.private": event_id},
    )
    types = await core.services.db.fetchall(
        "SELECT receipt_type FROM receipts WHERE user_id = ? ORDER BY receipt_type",
        (BOB,),
    )
    assert [row[0] for row in types] == ["m.read", "m.read.private"]
    content = await core.account_data.get(BOB, "m.fully_read", core.room_id)
    assert content == {"event_id": event_id}


async def test_read_markers_bad_event_writes_nothing(core: Core) -> None:
    event_id = await _message(core)
    with pytest.raises(NotFound):
        await core.receipts.set_read_markers(
            core.room_id, BOB, {"m.read": event_id, "m.fully_read": "$missing"}
        )
    assert await core.services.db.fetchvalue("SELECT COUNT(*) FROM receipts") == 0


async def test_receipt_wakes_room_members(core: Core) -> None:
    event_id = await _message(core)
    notifier = core.services.notifier
    waiter = asyncio.create_task(notifier.wait_for_change(ALICE, 5))
    await asyncio.sleep(0)
    await core.receipts.set_receipt(core.room_id, BOB, "m.read", event_id)
    assert await waiter is True


async def test_private_receipt_does_not_wake_others(core: Core) -> None:
    event_id = await _message(core)
    notifier = core.services.notifier
    waiter = asyncio.create_task(notifier.wait_for_change(ALICE, 0.3))
    await asyncio.sleep(0)
    await core.receipts.set_receipt(core.room_id, BOB, "m.read.private", event_id)
    assert await waiter is False
