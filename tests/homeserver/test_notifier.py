"""Sync tokens and waking long-polls."""

from __future__ import annotations

import asyncio

import pytest

from homeserver.errors import InvalidParam
from homeserver.notifier import Notifier, StreamToken


def test_stream_token_round_trip() -> None:
    token = StreamToken(1, 2, 3, 4, 5, 6, 7)
    assert token.serialize() == "s1_2_3_4_5_6_7"
    assert StreamToken.parse(token.serialize()) == token


@pytest.mark.parametrize("text", ["", "x1_2", "s1_a", "s-1_2", "s1_2_3_4_5_6_7_8"])
def test_malformed_token_rejected(text: str) -> None:
    with pytest.raises(InvalidParam):
        StreamToken.parse(text)


async def test_notify_wakes_only_named_users() -> None:
    notifier = Notifier()
    alice = asyncio.create_task(notifier.wait_for_change("@alice:test", 5))
    bob = asyncio.create_task(notifier.wait_for_change("@bob:test", 0.3))
    await asyncio.sleep(0.05)
    notifier.notify("events", 1, ["@alice:test"])
    assert await alice is True
    assert await bob is False
    assert notifier.current_token().events == 1
