"""AccountDataStore against a real SQLite database."""

from __future__ import annotations

import asyncio

import pytest

from homeserver.account_data import AccountDataStore, ServerManagedType
from tests.ephemeral.conftest import ALICE, BOB, Core


async def test_global_set_and_get(core: Core) -> None:
    await core.account_data.set_by_client(ALICE, "org.example.a", {"x": 1})
    assert await core.account_data.get(ALICE, "org.example.a") == {"x": 1}
    assert await core.account_data.get(BOB, "org.example.a") is None


async def test_room_data_separate_from_global(core: Core) -> None:
    room = core.room_id
    await core.account_data.set_by_client(ALICE, "org.example.a", {"room": 1}, room)
    assert await core.account_data.get(ALICE, "org.example.a") is None
    assert await core.account_data.get(ALICE, "org.example.a", room) == {"room": 1}


@pytest.mark.parametrize("data_type", ["m.fully_read", "m.push_rules"])
async def test_managed_types_rejected(core: Core, data_type: str) -> None:
    for room_id in (None, core.room_id):
        with pytest.raises(ServerManagedType) as info:
            await core.account_data.set_by_client(ALICE, data_type, {}, room_id)
        assert info.value.status == 405
        assert info.value.errcode == "M_BAD_JSON"


async def test_push_rules_readable_without_storage(core: Core) -> None:
    content = await core.account_data.get(ALICE, "m.push_rules")
    assert content is not None
    assert "override" in content["global"]


async def test_changes_since_position(core: Core) -> None:
    store = core.account_data
    first = await store.set(ALICE, "org.example.a", {"n": 1})
    second = await store.set(ALICE, "org.example.b", {"n": 2}, core.room_id)
    assert second > first

    global_events, room_events = await store.get_changes(ALICE, first, second)
    assert global_events == []
    assert room_events == {
        core.room_id: [{"type": "org.example.b", "content": {"n": 2}}]
    }


async def test_initial_changes_include_push_rules(core: Core) -> None:
    position = await core.account_data.set(ALICE, "org.example.a", {"n": 1})
    global_events, _ = await core.account_data.get_changes(ALICE, 0, position)
    types = [event["type"] for event in global_events]
    assert types == ["org.example.a", "m.push_rules"]


async def test_overwrite_moves_row_forward(core: Core) -> None:
    store = core.account_data
    first = await store.set(ALICE, "org.example.a", {"n": 1})
    await store.set(ALICE, "org.example.b", {"n": 2})
    third = await store.set(ALICE, "org.example.a", {"n": 3})
    global_events, _ = await store.get_changes(ALICE, first, third)
    assert global_events == [
        {"type": "org.example.b", "content": {"n": 2}},
        {"type": "org.example.a", "content": {"n": 3}},
    ]


async def test_changes_exclude_other_users(core: Core) -> None:
    position = await core.account_data.set(BOB, "org.example.a", {"n": 1})
    global_events, room_events = await core.account_data.get_changes(ALICE, 0, position)
    assert [e["type"] for e in global_events] == ["m.push_rules"]
    assert room_events == {}


async def test_tags_add_and_remove(core: Core) -> None:
    store = core.account_data
    room = core.room_id
    await store.set_tag(ALICE, room, "m.favourite", {"order": 0.5})
    await store.set_tag(ALICE, room, "u.work", {})
    assert await store.get_tags(ALICE, room) == {
        "m.favourite": {"order": 0.5},
        "u.work": {},
    }
    assert await store.get(ALICE, "m.tag", room) == {
        "tags": {"m.favourite": {"order": 0.5}, "u.work": {}}
    }

    await store.remove_tag(ALICE, room, "m.favourite")
    assert await store.get_tags(ALICE, room) == {"u.work": {}}


async def test_removing_missing_tag_writes_nothing(core: Core) -> None:
    before = core.services.notifier.position("account_data")
    assert await core.account_data.remove_tag(ALICE, core.room_id, "u.none") is None
    assert core.services.notifier.position("account_data") == before


async def test_write_wakes_owner_sync(core: Core) -> None:
    notifier = core.services.notifier
    waiter = asyncio.create_task(notifier.wait_for_change(ALICE, 5))
    await asyncio.sleep(0)
    position = await core.account_data.set(ALICE, "org.example.a", {})
    assert await waiter is True
    assert notifier.position("account_data") == position


async def test_position_loaded_at_start(core: Core) -> None:
    position = await core.account_data.set(ALICE, "org.example.a", {})
    reloaded = AccountDataStore(core.services.db, core.services.notifier)
    core.services.notifier.set_position("account_data", 0)
    await reloaded.load_position()
    assert core.services.notifier.position("account_data") == position
    assert await reloaded.set(ALICE, "org.example.b", {}) == position + 1
