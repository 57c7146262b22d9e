"""The rule that m.room.encryption cannot be turned off or changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from homeserver.e2ee import check_state_event
from homeserver.errors import Forbidden
from tests.client import RawClient
from tests.e2ee.keyring import PREFIX

MEGOLM = "m.megolm.v1.aes-sha2"


@dataclass
class _StateEvent:
    content: dict[str, Any]


@dataclass
class _Snapshot:
    state: dict[tuple[str, str], _StateEvent] = field(default_factory=dict)

    def get(self, event_type: str, state_key: str = "") -> _StateEvent | None:
        return self.state.get((event_type, state_key))


ENCRYPTED = _Snapshot({("m.room.encryption", ""): _StateEvent({"algorithm": MEGOLM})})


def test_first_encryption_event_allowed() -> None:
    check_state_event(_Snapshot(), "m.room.encryption", "", {"algorithm": MEGOLM})
    check_state_event(None, "m.room.encryption", "", {"algorithm": MEGOLM})


def test_same_algorithm_allowed() -> None:
    check_state_event(
        ENCRYPTED,
        "m.room.encryption",
        "",
        {"algorithm": MEGOLM, "rotation_period_ms": 1},
    )


def test_empty_content_rejected() -> None:
    with pytest.raises(Forbidden):
        check_state_event(ENCRYPTED, "m.room.encryption", "", {})


def test_other_algorithm_rejected() -> None:
    with pytest.raises(Forbidden):
        check_state_event(ENCRYPTED, "m.room.encryption", "", {"algorithm": "m.none"})


def test_other_events_ignored() -> None:
    check_state_event(ENCRYPTED, "m.room.topic", "", {})
    check_state_event(ENCRYPTED, "m.room.encryption", "other", {})


def test_redacted_encryption_can_be_set_again() -> None:
    redacted = _Snapshot({("m.room.encryption", ""): _StateEvent({})})
    check_state_event(redacted, "m.room.encryption", "", {"algorithm": MEGOLM})


async def test_server_rejects_disabling_encryption(client: RawClient) -> None:
    alice = await client.register("alice")
    created = await client.request(
        "POST",
        PREFIX + "/createRoom",
        {
            "initial_state": [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": MEGOLM},
                }
            ]
        },
        token=alice.access_token,
    )
    assert created.status == 200, created.body
    room_id = created.body["room_id"]

    for content in ({}, {"algorithm": "m.none"}):
        response = await client.request(
            "PUT",
            f"{PREFIX}/rooms/{room_id}/state/m.room.encryption",
            content,
            token=alice.access_token,
        )
        assert response.status == 403, content
        assert response.body["errcode"] == "M_FORBIDDEN", content

    state = await client.request(
        "GET",
        f"{PREFIX}/rooms/{room_id}/state/m.room.encryption",
        token=alice.access_token,
    )
    assert state.body == {"algorithm": MEGOLM}
