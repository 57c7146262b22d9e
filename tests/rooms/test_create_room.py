"""`POST /createRoom`: presets, options and room versions.

Spec: Client-Server API, "Creation" (create_room.yaml) and the room version pages.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from canonicaljson import encode_canonical_json
from unpaddedbase64 import encode_base64

from tests.client import RawClient
from tests.rooms.helpers import (
    V3,
    create_room,
    get_state_content,
    new_user,
    put_state,
)
from tests.serverproc import ServerProcess


async def _state_event(
    client: RawClient, token: str, room: str, event_type: str, state_key: str = ""
) -> dict[str, Any]:
    response = await client.request(
        "GET",
        f"{V3}/rooms/{room}/state/{event_type}/{state_key}",
        token=token,
        params={"format": "event"},
    )
    assert response.status == 200, response.body
    return response.body


def _stored_pdu(server: ServerProcess, event_id: str) -> dict[str, Any]:
    path = Path(server.config["data_dir"]) / "homeserver.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT json FROM events WHERE event_id = ?", (event_id,))
        text = row.fetchone()[0]
    return json.loads(text)


@pytest.mark.parametrize(
    ("preset", "join_rule", "guest_access"),
    [
        ("private_chat", "invite", "can_join"),
        ("trusted_private_chat", "invite", "can_join"),
        ("public_chat", "public", "forbidden"),
    ],
)
async def test_preset_state(
    client: RawClient, preset: str, join_rule: str, guest_access: str
) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, preset=preset)
    join_rules = await get_state_content(client, alice, room, "m.room.join_rules")
    history = await get_state_content(client, alice, room, "m.room.history_visibility")
    guests = await get_state_content(client, alice, room, "m.room.guest_access")
    assert join_rules["join_rule"] == join_rule
    assert history["history_visibility"] == "shared"
    assert guests["guest_access"] == guest_access


async def test_visibility_public_picks_public_preset(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, visibility="public")
    join_rules = await get_state_content(client, alice, room, "m.room.join_rules")
    assert join_rules["join_rule"] == "public"


async def test_trusted_private_chat_invitees_get_creator_power(
    client: RawClient,
) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(
        client, alice, preset="trusted_private_chat", invite=[bob.user_id]
    )
    levels = await get_state_content(client, alice, room, "m.room.power_levels")
    assert levels["users"][bob.user_id] == 100


async def test_default_version_is_12_with_hash_room_id(
    client: RawClient, server: ServerProcess
) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice)
    create = await _state_event(client, alice.access_token, room, "m.room.create")
    assert create["content"]["room_version"] == "12"
    assert ":" not in room
    assert room[1:] == create["event_id"][1:]
    assert "creator" not in create["content"]

    pdu = _stored_pdu(server, create["event_id"])
    assert "room_id" not in pdu
    # The reference hash covers the redacted event without signatures and unsigned;
    # a v12 create event keeps its whole content when redacted.
    for key in ("signatures", "unsigned"):
        pdu.pop(key, None)
    expected = encode_base64(
        hashlib.sha256(encode_canonical_json(pdu)).digest(), urlsafe=True
    )
    assert room == "!" + expected


async def test_v12_creator_not_in_power_level_users(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, room_version="12")
    levels = await get_state_content(client, alice, room, "m.room.power_levels")
    assert alice.user_id not in levels["users"]
    # The creator still has the power to change state at level 100.
    response = await put_state(client, alice, room, "m.room.tombstone", {"body": "x"})
    assert response.status == 200, response.body


async def test_v11_room_has_server_name_and_no_creator(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, room_version="11")
    create = await _state_event(client, alice.access_token, room, "m.room.create")
    levels = await get_state_content(client, alice, room, "m.room.power_levels")
    assert room.endswith(":localhost")
    assert create["content"]["room_version"] == "11"
    assert "creator" not in create["content"]
    assert levels["users"][alice.user_id] == 100


async def test_v10_room_has_creator(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, room_version="10")
    create = await _state_event(client, alice.access_token, room, "m.room.create")
    assert room.endswith(":localhost")
    assert create["content"]["creator"] == alice.user_id
    assert create["content"]["room_version"] == "10"


async def test_unknown_room_version_rejected(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    response = await client.request(
        "POST",
        f"{V3}/createRoom",
        {"room_version": "999"},
        token=alice.access_token,
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"


async def test_name_topic_and_creation_content(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(
        client,
        alice,
        name="The Room",
        topic="Things",
        creation_content={"m.federate": False, "type": "org.example.kind"},
    )
    name = await get_state_content(client, alice, room, "m.room.name")
    topic = await get_state_content(client, alice, room, "m.room.topic")
    create = await get_state_content(client, alice, room, "m.room.create")
    assert name == {"name": "The Room"}
    assert topic["topic"] == "Things"
    assert create["m.federate"] is False
    assert create["type"] == "org.example.kind"


async def test_invite_with_is_direct(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    bob = await new_user(client, "bob")
    room = await create_room(client, alice, invite=[bob.user_id], is_direct=True)
    member = await get_state_content(client, alice, room, "m.room.member", bob.user_id)
    assert member["membership"] == "invite"
    assert member["is_direct"] is True


async def test_initial_state_overrides_preset(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(
        client,
        alice,
        preset="private_chat",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "content": {"history_visibility": "joined"},
            },
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "public"}},
            {"type": "org.example.custom", "state_key": "k", "content": {"a": 1}},
        ],
    )
    history = await get_state_content(client, alice, room, "m.room.history_visibility")
    join_rules = await get_state_content(client, alice, room, "m.room.join_rules")
    custom = await get_state_content(client, alice, room, "org.example.custom", "k")
    assert history["history_visibility"] == "joined"
    assert join_rules["join_rule"] == "public"
    assert custom == {"a": 1}


async def test_initial_state_cannot_override_reserved(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    response = await client.request(
        "POST",
        f"{V3}/createRoom",
        {
            "initial_state": [
                {"type": "m.room.power_levels", "content": {"users_default": 100}},
                {"type": "m.room.create", "content": {"room_version": "10"}},
                {
                    "type": "m.room.member",
                    "state_key": alice.user_id,
                    "content": {"membership": "leave"},
                },
            ]
        },
        token=alice.access_token,
    )
    if response.status != 200:
        # Rejecting the request is also acceptable; it must not apply the state.
        assert response.status == 400
        return
    room = response.body["room_id"]
    levels = await get_state_content(client, alice, room, "m.room.power_levels")
    create = await get_state_content(client, alice, room, "m.room.create")
    member = await get_state_content(
        client, alice, room, "m.room.member", alice.user_id
    )
    assert levels["users_default"] == 0
    assert create["room_version"] == "12"
    assert member["membership"] == "join"


async def test_power_level_override(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(
        client,
        alice,
        power_level_content_override={"events_default": 20, "invite": 75},
    )
    levels = await get_state_content(client, alice, room, "m.room.power_levels")
    assert levels["events_default"] == 20
    assert levels["invite"] == 75
    assert levels["ban"] == 50


async def test_room_alias_name_sets_canonical_alias(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    local = f"lobby-{alice.user_id[1:8]}"
    room = await create_room(client, alice, room_alias_name=local)
    canonical = await get_state_content(client, alice, room, "m.room.canonical_alias")
    resolved = await client.request("GET", f"{V3}/directory/room/%23{local}:localhost")
    assert canonical["alias"] == f"#{local}:localhost"
    assert resolved.status == 200
    assert resolved.body["room_id"] == room


async def test_room_alias_name_reuse_is_room_in_use(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    local = f"taken-{alice.user_id[1:8]}"
    await create_room(client, alice, room_alias_name=local)
    response = await client.request(
        "POST", f"{V3}/createRoom", {"room_alias_name": local}, token=alice.access_token
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_ROOM_IN_USE"


async def test_public_visibility_lists_room(client: RawClient) -> None:
    alice = await new_user(client, "alice")
    room = await create_room(client, alice, visibility="public", name="Listed")
    private = await create_room(client, alice, name="Unlisted")
    response = await client.request("GET", f"{V3}/publicRooms")
    listed = {entry["room_id"] for entry in response.body["chunk"]}
    assert response.status == 200
    assert room in listed
    assert private not in listed
