"""PresenceTracker against a real database with a shared room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from homeserver.errors import Forbidden, NotFound
from homeserver.presence import PresenceTracker
from tests.ephemeral.conftest import ALICE, BOB, CAROL, Core


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def presence(core: Core, clock: Clock) -> AsyncIterator[PresenceTracker]:
    tracker = PresenceTracker(
        core.services.db, core.services.notifier, "test", clock=clock
    )
    await tracker.start()
    yield tracker
    tracker.close()


async def _stored_rows(core: Core) -> int:
    return await core.services.db.fetchvalue("SELECT COUNT(*) FROM presence")


async def test_set_online_and_get(presence: PresenceTracker, clock: Clock) -> None:
    await presence.set_status(ALICE, "online", "at lunch")
    clock.now += 2.5
    content = await presence.get(BOB, ALICE)
    assert content["presence"] == "online"
    assert content["status_msg"] == "at lunch"
    assert content["last_active_ago"] == 2500
    assert content["currently_active"] is True


async def test_unavailable_omits_currently_active(presence: PresenceTracker) -> None:
    await presence.set_status(ALICE, "unavailable")
    content = await presence.get(ALICE, ALICE)
    assert content["presence"] == "unavailable"
    assert "currently_active" not in content
    assert "status_msg" not in content


async def test_never_seen_user_offline(presence: PresenceTracker) -> None:
    assert await presence.get(BOB, ALICE) == {"presence": "offline"}


async def test_unknown_local_user_not_found(presence: PresenceTracker) -> None:
    with pytest.raises(NotFound):
        await presence.get(ALICE, "@nobody:test")


async def test_no_shared_room_forbidden(presence: PresenceTracker) -> None:
    with pytest.raises(Forbidden):
        await presence.get(CAROL, ALICE)


async def test_repeated_sync_writes_once(
    core: Core, presence: PresenceTracker, clock: Clock
) -> None:
    await presence.set_from_sync(ALICE, "online")
    position = core.services.notifier.position("presence")
    for _ in range(5):
        clock.now += 1
        await presence.set_from_sync(ALICE, None)
    assert core.services.notifier.position("presence") == position
    assert await _stored_rows(core) == 1
    content = await presence.get(ALICE, ALICE)
    assert content["last_active_ago"] == 0


async def test_sync_offline_changes_nothing(
    core: Core, presence: PresenceTracker
) -> None:
    await presence.set_from_sync(ALICE, "offline")
    assert await _stored_rows(core) == 0


async def test_sync_unavailable_after_online_elsewhere(
    presence: PresenceTracker,
) -> None:
    await presence.set_from_sync(ALICE, "online")
    await presence.set_from_sync(ALICE, "unavailable")
    content = await presence.get(ALICE, ALICE)
    assert content["presence"] == "online"


async def test_sync_unavailable_alone(presence: PresenceTracker) -> None:
    await presence.set_from_sync(ALICE, "unavailable")
    content = await presence.get(ALICE, ALICE)
    assert content["presence"] == "unavailable"


async def test_changes_for_room_members(core: Core, presence: PresenceTracker) -> None:
    await presence.set_status(ALICE, "online")
    await presence.set_status(CAROL, "online")
    upto = core.services.notifier.position("presence")

    events = await presence.get_changes(BOB, 0, upto)
    assert [event["sender"] for event in events] == [ALICE]
    assert events[0]["type"] == "m.presence"
    assert events[0]["content"]["presence"] == "online"

    own = await presence.get_changes(CAROL, 0, upto)
    assert [event["sender"] for event in own] == [CAROL]


async def test_changes_after_since_only(core: Core, presence: PresenceTracker) -> None:
    await presence.set_status(ALICE, "online")
    since = core.services.notifier.position("presence")
    await presence.set_status(BOB, "unavailable")
    upto = core.services.notifier.position("presence")
    events = await presence.get_changes(ALICE, since, upto)
    assert [event["sender"] for event in events] == [BOB]


async def test_change_wakes_room_members(core: Core, presence: PresenceTracker) -> None:
    waiter = asyncio.create_task(core.services.notifier.wait_for_change(BOB, 2))
    await asyncio.sleep(0)
    await presence.set_status(ALICE, "online")
    assert await waiter is True


async def test_idle_user_goes_offline(core: Core) -> None:
    tracker = PresenceTracker(
        core.services.db, core.services.notifier, "test", offline_after_ms=100
    )
    await tracker.start()
    try:
        await tracker.set_from_sync(ALICE, "online")
        woke = await core.services.notifier.wait_for_change(BOB, 3)
        assert woke is True
        content = await tracker.get(BOB, ALICE)
        assert content["presence"] == "offline"
        stored = await core.services.db.fetchvalue(
            "SELECT state FROM presence WHERE user_id = ?", (ALICE,)
        )
        assert stored == "offline"
    finally:
        tracker.close()


async def test_syncing_user_stays_online(core: Core) -> None:
    tracker = PresenceTracker(
        core.services.db, core.services.notifier, "test", offline_after_ms=200
    )
    await tracker.start()
    try:
        for _ in range(6):
            await tracker.set_from_sync(ALICE, "online")
            await asyncio.sleep(0.05)
        content = await tracker.get(ALICE, ALICE)
        assert content["presence"] == "online"
    finally:
        tracker.close()


async def test_disabled_stores_nothing(core: Core) -> None:
    tracker = PresenceTracker(
        core.services.db, core.services.notifier, "test", enabled=False
    )
    await tracker.start()
    await tracker.set_status(ALICE, "online", "hello")
    await tracker.set_from_sync(ALICE, "online")
    assert await _stored_rows(core) == 0
    assert await tracker.get(ALICE, ALICE) == {"presence": "offline"}
    assert await tracker.get_changes(ALICE, 0, 100) == []


async def test_restart_keeps_online_users(core: Core, clock: Clock) -> None:
    first = PresenceTracker(
        core.services.db, core.services.notifier, "test", clock=clock
    )
    await first.start()
    await first.set_status(ALICE, "online", "busy")
    first.close()
    position = core.services.notifier.position("presence")

    core.services.notifier.set_position("presence", 0)
    second = PresenceTracker(
        core.services.db, core.services.notifier, "test", clock=clock
    )
    await second.start()
    try:
        assert core.services.notifier.position("presence") == position
        content = await second.get(ALICE, ALICE)
        assert content["presence"] == "online"
        assert content["status_msg"] == "busy"
    finally:
        second.close()
