"""Filter upload and download, filtered /sync, and push rules over HTTP."""

from __future__ import annotations

import json

from tests.client import RawClient
from tests.ephemeral.helpers import V3, create_public_room, path, send_message


async def test_filter_upload_and_download(client: RawClient) -> None:
    alice = await client.register("alice")
    definition = {
        "room": {"timeline": {"limit": 5, "types": ["m.room.message"]}},
        "presence": {"not_types": ["*"]},
    }
    created = await client.request(
        "POST",
        path("user", alice.user_id, "filter"),
        definition,
        token=alice.access_token,
    )
    assert created.status == 200
    filter_id = created.body["filter_id"]
    assert isinstance(filter_id, str)

    fetched = await client.request(
        "GET",
        path("user", alice.user_id, "filter", filter_id),
        token=alice.access_token,
    )
    assert fetched.status == 200
    assert fetched.body == definition


async def test_filter_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    url = path("user", alice.user_id, "filter")

    invalid = await client.request(
        "POST", url, {"room": {"timeline": {"limit": "ten"}}}, token=alice.access_token
    )
    assert invalid.status == 400
    assert invalid.body["errcode"] == "M_BAD_JSON"
    other_user = await client.request("POST", url, {}, token=bob.access_token)
    assert other_user.status == 403
    unknown = await client.request(
        "GET", path("user", alice.user_id, "filter", "42"), token=alice.access_token
    )
    assert unknown.status == 404
    assert unknown.body["errcode"] == "M_NOT_FOUND"

    created = await client.request("POST", url, {}, token=alice.access_token)
    foreign = await client.request(
        "GET",
        path("user", alice.user_id, "filter", created.body["filter_id"]),
        token=bob.access_token,
    )
    assert foreign.status == 403


async def test_sync_uses_filter_id_and_inline(client: RawClient) -> None:
    alice = await client.register("alice")
    room_id = await create_public_room(client, alice)
    for number in range(3):
        await send_message(client, alice, room_id, f"message {number}")
    definition = {"room": {"timeline": {"limit": 1, "types": ["m.room.message"]}}}
    created = await client.request(
        "POST",
        path("user", alice.user_id, "filter"),
        definition,
        token=alice.access_token,
    )

    for value in (created.body["filter_id"], json.dumps(definition)):
        response = await client.request(
            "GET",
            V3 + "/sync",
            token=alice.access_token,
            params={"filter": value, "timeout": "0"},
        )
        assert response.status == 200, response.body
        timeline = response.body["rooms"]["join"][room_id]["timeline"]
        assert [event["content"]["body"] for event in timeline["events"]] == [
            "message 2"
        ]
        assert timeline["limited"] is True


async def test_push_rules_endpoints(client: RawClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token

    everything = await client.request("GET", V3 + "/pushrules/", token=token)
    assert everything.status == 200
    ruleset = everything.body["global"]
    assert set(ruleset) == {"override", "content", "room", "sender", "underride"}
    invite = next(
        rule
        for rule in ruleset["override"]
        if rule["rule_id"] == ".m.rule.invite_for_me"
    )
    assert {"kind": "event_match", "key": "state_key", "pattern": alice.user_id} in (
        invite["conditions"]
    )

    global_only = await client.request("GET", V3 + "/pushrules/global/", token=token)
    assert global_only.body == ruleset

    rule = await client.request(
        "GET", V3 + "/pushrules/global/underride/.m.rule.message", token=token
    )
    assert rule.status == 200
    assert rule.body["actions"] == ["notify"]
    enabled = await client.request(
        "GET", V3 + "/pushrules/global/override/.m.rule.master/enabled", token=token
    )
    assert enabled.body == {"enabled": False}
    actions = await client.request(
        "GET", V3 + "/pushrules/global/underride/.m.rule.call/actions", token=token
    )
    assert actions.body == {
        "actions": ["notify", {"set_tweak": "sound", "value": "ring"}]
    }


async def test_push_rules_errors(client: RawClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    unknown = await client.request(
        "GET", V3 + "/pushrules/global/override/.m.rule.nope", token=token
    )
    assert unknown.status == 404
    assert unknown.body["errcode"] == "M_NOT_FOUND"
    bad_kind = await client.request(
        "GET", V3 + "/pushrules/global/weird/.m.rule.master", token=token
    )
    assert bad_kind.status == 400
    edit = await client.request(
        "PUT",
        V3 + "/pushrules/global/override/.m.rule.master/enabled",
        {"enabled": True},
        token=token,
    )
    assert edit.status == 405
    assert edit.body["errcode"] == "M_UNRECOGNIZED"
    unauthenticated = await client.request("GET", V3 + "/pushrules/")
    assert unauthenticated.status == 401


async def test_initial_sync_has_push_rules(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "GET", V3 + "/sync", token=alice.access_token, params={"timeout": "0"}
    )
    types = [event["type"] for event in response.body["account_data"]["events"]]
    assert "m.push_rules" in types
