"""E2EE.get_sync_data against a real SQLite database: batching and acknowledgement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from homeserver.e2ee import E2EE
from homeserver.e2ee.service import TO_DEVICE_BATCH_LIMIT
from homeserver.notifier import Notifier, StreamToken
from homeserver.storage.database import Database

ALICE = "@alice:test"
BOB = "@bob:test"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(str(tmp_path / "e2ee.db"), "NORMAL")
    await db.open()
    async with db.transaction("add_devices") as txn:
        for user_id, device_id in ((ALICE, "A1"), (BOB, "B1"), (BOB, "B2")):
            await txn.execute(
                "INSERT INTO devices (user_id, device_id) VALUES (?, ?)",
                (user_id, device_id),
            )
    try:
        yield db
    finally:
        await db.close()


async def test_batches_continue_where_they_stopped(database: Database) -> None:
    notifier = Notifier()
    e2ee = E2EE(database, notifier, "test")
    await e2ee.start()
    total = TO_DEVICE_BATCH_LIMIT + 30
    for index in range(total):
        await e2ee.to_device.send(
            ALICE, "A1", "m.test", f"t{index}", {BOB: {"B1": {"n": index}}}
        )
    upto = notifier.current_token()
    assert upto.to_device == total

    first = await e2ee.get_sync_data(BOB, "B1", None, upto)
    assert [e["content"]["n"] for e in first["to_device"]["events"]] == list(
        range(TO_DEVICE_BATCH_LIMIT)
    )
    assert first["_to_device_position"] == TO_DEVICE_BATCH_LIMIT

    since = upto.advance(to_device=first["_to_device_position"])
    second = await e2ee.get_sync_data(BOB, "B1", since, upto)
    assert [e["content"]["n"] for e in second["to_device"]["events"]] == list(
        range(TO_DEVICE_BATCH_LIMIT, total)
    )
    assert second["_to_device_position"] == total

    # The second sync acknowledged the first batch, which is gone from storage.
    remaining = await database.fetchvalue("SELECT COUNT(*) FROM device_inbox")
    assert remaining == total - TO_DEVICE_BATCH_LIMIT


async def test_initial_sync_has_no_device_lists(database: Database) -> None:
    notifier = Notifier()
    e2ee = E2EE(database, notifier, "test")
    await e2ee.start()
    data = await e2ee.get_sync_data(BOB, "B1", None, notifier.current_token())
    assert data["device_lists"] == {"changed": [], "left": []}
    assert data["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert data["device_unused_fallback_key_types"] == []
    assert data["to_device"] == {"events": []}


async def test_positions_reload_after_restart(
    tmp_path: Path, database: Database
) -> None:
    notifier = Notifier()
    e2ee = E2EE(database, notifier, "test")
    await e2ee.start()
    await e2ee.to_device.send(ALICE, "A1", "m.test", "t", {BOB: {"*": {"n": 1}}})
    async with database.transaction("change") as txn:
        await e2ee.mark_device_list_changed(txn, BOB)

    reloaded = Notifier()
    await E2EE(database, reloaded, "test").start()
    assert reloaded.position("to_device") == 2
    assert reloaded.position("device_lists") == 1


async def test_own_device_change_is_reported(database: Database) -> None:
    notifier = Notifier()
    e2ee = E2EE(database, notifier, "test")
    await e2ee.start()
    since = notifier.current_token()
    async with database.transaction("change") as txn:
        await e2ee.mark_device_list_changed(txn, BOB)

    data = await e2ee.get_sync_data(BOB, "B1", since, notifier.current_token())
    assert data["device_lists"]["changed"] == [BOB]
    unrelated = await e2ee.get_sync_data(ALICE, "A1", since, notifier.current_token())
    assert unrelated["device_lists"]["changed"] == []


async def test_token_before_messages_sees_none_after_upto(database: Database) -> None:
    notifier = Notifier()
    e2ee = E2EE(database, notifier, "test")
    await e2ee.start()
    await e2ee.to_device.send(ALICE, "A1", "m.test", "t1", {BOB: {"B1": {"n": 1}}})
    upto = notifier.current_token()
    await e2ee.to_device.send(ALICE, "A1", "m.test", "t2", {BOB: {"B1": {"n": 2}}})

    data = await e2ee.get_sync_data(BOB, "B1", StreamToken(), upto)
    assert [e["content"]["n"] for e in data["to_device"]["events"]] == [1]
    assert data["_to_device_position"] == upto.to_device
