"""TypingTracker with real timers and the real notifier."""

from __future__ import annotations

import asyncio

import pytest

from homeserver.errors import Forbidden
from homeserver.notifier import Notifier
from homeserver.typing import MAX_TIMEOUT_MS, TypingTracker

ROOM = "!room:test"
ALICE = "@alice:test"
BOB = "@bob:test"
CAROL = "@carol:test"


async def _joined(room_id: str) -> set[str] | None:
    return {ALICE, BOB} if room_id == ROOM else None


@pytest.fixture
def notifier() -> Notifier:
    return Notifier()


@pytest.fixture
async def tracker(notifier: Notifier):
    tracker = TypingTracker(notifier, _joined)
    yield tracker
    tracker.close()


async def test_start_typing_listed(tracker: TypingTracker) -> None:
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    assert tracker.get_for_rooms([ROOM]) == {
        ROOM: {"type": "m.typing", "content": {"user_ids": [ALICE]}}
    }
    assert tracker.position == 1


async def test_stop_typing_clears(tracker: TypingTracker) -> None:
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    await tracker.set_typing(ROOM, ALICE, False)
    assert tracker.get_for_rooms([ROOM]) == {}
    assert tracker.position == 2


async def test_changed_room_reported_empty(tracker: TypingTracker) -> None:
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    before_stop = tracker.position
    await tracker.set_typing(ROOM, ALICE, False)
    assert tracker.changed_rooms_since(before_stop) == {ROOM}
    assert tracker.changed_rooms_since(tracker.position) == set()
    assert tracker.get_for_rooms([ROOM], since=before_stop) == {
        ROOM: {"type": "m.typing", "content": {"user_ids": []}}
    }


async def test_renewal_is_not_a_change(tracker: TypingTracker) -> None:
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    assert tracker.position == 1


async def test_timeout_expires_and_notifies(
    tracker: TypingTracker, notifier: Notifier
) -> None:
    await tracker.set_typing(ROOM, ALICE, True, 50)
    woke = await notifier.wait_for_change(BOB, 2)
    assert woke is True
    assert tracker.typing_users(ROOM) == []
    assert tracker.position == 2
    assert notifier.position("typing") == 2


async def test_start_wakes_joined_users(
    tracker: TypingTracker, notifier: Notifier
) -> None:
    waiter = asyncio.create_task(notifier.wait_for_change(BOB, 2))
    await asyncio.sleep(0)
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    assert await waiter is True


async def test_timeout_capped(tracker: TypingTracker) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await tracker.set_typing(ROOM, ALICE, True, 10 * MAX_TIMEOUT_MS)
    handle = tracker._timers[ROOM][ALICE]
    assert handle.when() - start <= MAX_TIMEOUT_MS / 1000 + 1


async def test_not_joined_forbidden(tracker: TypingTracker) -> None:
    with pytest.raises(Forbidden):
        await tracker.set_typing(ROOM, CAROL, True, 1000)
    with pytest.raises(Forbidden):
        await tracker.set_typing("!other:test", ALICE, True, 1000)


async def test_two_users_sorted(tracker: TypingTracker) -> None:
    await tracker.set_typing(ROOM, BOB, True, 10_000)
    await tracker.set_typing(ROOM, ALICE, True, 10_000)
    assert tracker.typing_users(ROOM) == [ALICE, BOB]
