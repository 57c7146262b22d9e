"""Pagination tokens whose positions do not fit a 64-bit database integer.

Spec: Client-Server API, "Pagination": tokens are opaque to clients, so a token the
server did not issue is an invalid parameter (400 M_INVALID_PARAM), not a 500.
"""

from __future__ import annotations

import pytest

from tests.client import RawClient
from tests.rooms.helpers import V3, create_room, new_user

HUGE = "9" * 25


@pytest.mark.parametrize(
    "token",
    [f"s{HUGE}", f"s1_{HUGE}", f"t{HUGE}_1", f"t1_{HUGE}", f"t-{HUGE}_1"],
)
async def test_messages_huge_from_token(client: RawClient, token: str) -> None:
    alice = await new_user(client, "tok")
    room = await create_room(client, alice)
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/messages",
        token=alice.access_token,
        params={"from": token, "dir": "b"},
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"

