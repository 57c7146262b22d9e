"""device_lists in /sync and GET /keys/changes, driven by key uploads and membership."""

from __future__ import annotations

from tests.client import RawClient, User
from tests.e2ee.keyring import PREFIX, TestDevice, upload_device


async def _sync(client: RawClient, user: User, since: str | None = None) -> dict:
    params = {"timeout": "0"}
    if since is not None:
        params["since"] = since
    response = await client.request(
        "GET", PREFIX + "/sync", token=user.access_token, params=params
    )
    assert response.status == 200, response.body
    return response.body


async def _room_with(client: RawClient, owner: User, *members: User) -> str:
    response = await client.request(
        "POST",
        PREFIX + "/createRoom",
        {"preset": "public_chat"},
        token=owner.access_token,
    )
    assert response.status == 200, response.body
    room_id = response.body["room_id"]
    for member in members:
        await _join(client, member, room_id)
    return room_id


async def _join(client: RawClient, user: User, room_id: str) -> None:
    response = await client.request(
        "POST", f"{PREFIX}/rooms/{room_id}/join", {}, token=user.access_token
    )
    assert response.status == 200, response.body


async def _login(client: RawClient, user: User) -> User:
    response = await client.request(
        "POST",
        PREFIX + "/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.user_id},
            "password": user.password,
        },
    )
    assert response.status == 200, response.body
    body = response.body
    return User(body["user_id"], body["access_token"], body["device_id"], user.password)


async def test_key_upload_reaches_room_members(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    dave = await client.register("dave")
    await _room_with(client, alice, bob)
    start = (await _sync(client, bob))["next_batch"]

    await upload_device(
        client, alice.access_token, TestDevice(alice.user_id, alice.device_id)
    )
    await upload_device(
        client, dave.access_token, TestDevice(dave.user_id, dave.device_id)
    )

    body = await _sync(client, bob, start)
    assert alice.user_id in body["device_lists"]["changed"]
    assert dave.user_id not in body["device_lists"]["changed"]

    changes = await client.request(
        "GET",
        PREFIX + "/keys/changes",
        token=bob.access_token,
        params={"from": start, "to": body["next_batch"]},
    )
    assert changes.status == 200
    assert alice.user_id in changes.body["changed"]
    assert dave.user_id not in changes.body["changed"]


async def test_new_member_is_changed_and_leaver_left(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await _room_with(client, alice, bob)
    start = (await _sync(client, bob))["next_batch"]

    await _join(client, carol, room_id)
    joined = await _sync(client, bob, start)
    assert carol.user_id in joined["device_lists"]["changed"]

    response = await client.request(
        "POST", f"{PREFIX}/rooms/{room_id}/leave", {}, token=carol.access_token
    )
    assert response.status == 200
    left = await _sync(client, bob, joined["next_batch"])
    assert carol.user_id in left["device_lists"]["left"]
    assert carol.user_id not in left["device_lists"]["changed"]


async def test_joining_room_reports_its_members(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await _room_with(client, alice)
    start = (await _sync(client, bob))["next_batch"]

    await _join(client, bob, room_id)
    body = await _sync(client, bob, start)
    assert alice.user_id in body["device_lists"]["changed"]


async def test_deleted_device_is_reported(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await _room_with(client, alice, bob)
    phone = await _login(client, alice)
    await upload_device(
        client, phone.access_token, TestDevice(alice.user_id, phone.device_id), otks=3
    )
    start = (await _sync(client, bob))["next_batch"]

    response = await client.request(
        "POST", PREFIX + "/logout", {}, token=phone.access_token
    )
    assert response.status == 200

    body = await _sync(client, bob, start)
    assert alice.user_id in body["device_lists"]["changed"]
    keys = await client.request(
        "POST",
        PREFIX + "/keys/query",
        {"device_keys": {alice.user_id: []}},
        token=bob.access_token,
    )
    assert phone.device_id not in keys.body["device_keys"][alice.user_id]
    claim = await client.request(
        "POST",
        PREFIX + "/keys/claim",
        {"one_time_keys": {alice.user_id: {phone.device_id: "signed_curve25519"}}},
        token=bob.access_token,
    )
    assert claim.body["one_time_keys"] == {}


async def test_keys_changes_needs_from(client: RawClient) -> None:
    alice = await client.register("alice")
    missing = await client.request(
        "GET", PREFIX + "/keys/changes", token=alice.access_token
    )
    assert missing.status == 400
    assert missing.body["errcode"] == "M_MISSING_PARAM"
    invalid = await client.request(
        "GET",
        PREFIX + "/keys/changes",
        token=alice.access_token,
        params={"from": "nope"},
    )
    assert invalid.status == 400
    assert invalid.body["errcode"] == "M_INVALID_PARAM"
