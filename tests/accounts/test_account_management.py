"""POST /account/password and /account/deactivate, both behind password UIA."""

from __future__ import annotations

from tests.accounts.helpers import CLIENT, login, password_auth, with_password_auth
from tests.client import RawClient

PASSWORD = f"{CLIENT}/account/password"
DEACTIVATE = f"{CLIENT}/account/deactivate"
WHOAMI = f"{CLIENT}/account/whoami"


async def test_password_change_requires_uia(client: RawClient) -> None:
    user = await client.register("alice", "old")
    response = await client.request(
        "POST", PASSWORD, {"new_password": "new"}, token=user.access_token
    )
    assert response.status == 401
    assert response.body["flows"] == [{"stages": ["m.login.password"]}]
    assert response.body["completed"] == []


async def test_password_change_wrong_password(client: RawClient) -> None:
    user = await client.register("alice", "old")
    first = await client.request(
        "POST", PASSWORD, {"new_password": "new"}, token=user.access_token
    )
    session = first.body["session"]
    response = await client.request(
        "POST",
        PASSWORD,
        {"new_password": "new", "auth": password_auth(user, session, "bad")},
        token=user.access_token,
    )
    assert response.status == 401
    assert response.body["errcode"] == "M_FORBIDDEN"
    assert response.body["session"] == session
    still_old = await login(client, "alice", "old")
    assert still_old.status == 200


async def test_password_change_logs_out_others(client: RawClient) -> None:
    user = await client.register("alice", "old")
    other = await login(client, "alice", "old")
    response = await with_password_auth(
        client, "POST", PASSWORD, user, {"new_password": "new"}
    )
    assert response.status == 200, response.body
    assert response.body == {}

    current = await client.request("GET", WHOAMI, token=user.access_token)
    assert current.status == 200
    revoked = await client.request("GET", WHOAMI, token=other.body["access_token"])
    assert revoked.status == 401
    assert revoked.body["errcode"] == "M_UNKNOWN_TOKEN"
    devices = await client.request("GET", f"{CLIENT}/devices", token=user.access_token)
    assert [d["device_id"] for d in devices.body["devices"]] == [user.device_id]

    assert (await login(client, "alice", "old")).status == 403
    assert (await login(client, "alice", "new")).status == 200


async def test_password_change_keeping_devices(client: RawClient) -> None:
    user = await client.register("alice", "old")
    other = await login(client, "alice", "old")
    response = await with_password_auth(
        client,
        "POST",
        PASSWORD,
        user,
        {"new_password": "new", "logout_devices": False},
    )
    assert response.status == 200, response.body
    kept = await client.request("GET", WHOAMI, token=other.body["access_token"])
    assert kept.status == 200


async def test_password_change_missing_new_password(client: RawClient) -> None:
    user = await client.register("alice", "old")
    response = await with_password_auth(client, "POST", PASSWORD, user, {})
    assert response.status == 400
    assert response.body["errcode"] == "M_MISSING_PARAM"


async def test_uia_session_bound_to_endpoint(client: RawClient) -> None:
    user = await client.register("alice", "old")
    first = await client.request(
        "POST", PASSWORD, {"new_password": "new"}, token=user.access_token
    )
    response = await client.request(
        "POST",
        DEACTIVATE,
        {"auth": password_auth(user, first.body["session"])},
        token=user.access_token,
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"
    still_active = await client.request("GET", WHOAMI, token=user.access_token)
    assert still_active.status == 200


async def test_uia_session_bound_to_user(client: RawClient) -> None:
    alice = await client.register("alice", "pw")
    bob = await client.register("bob", "pw")
    first = await client.request("POST", DEACTIVATE, {}, token=alice.access_token)
    response = await client.request(
        "POST",
        DEACTIVATE,
        {"auth": password_auth(bob, first.body["session"])},
        token=bob.access_token,
    )
    assert response.status == 403


async def test_uia_password_of_other_user(client: RawClient) -> None:
    alice = await client.register("alice", "pw")
    bob = await client.register("bob", "pw")
    first = await client.request("POST", DEACTIVATE, {}, token=alice.access_token)
    # Alice's session, Bob's correct credentials: the stage must not pass.
    response = await client.request(
        "POST",
        DEACTIVATE,
        {"auth": password_auth(bob, first.body["session"])},
        token=alice.access_token,
    )
    assert response.status == 401
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_deactivate_account(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    response = await with_password_auth(
        client, "POST", DEACTIVATE, user, {"erase": False}
    )
    assert response.status == 200, response.body
    assert response.body["id_server_unbind_result"] == "success"

    after = await client.request("GET", WHOAMI, token=user.access_token)
    assert after.status == 401
    assert after.body["errcode"] == "M_UNKNOWN_TOKEN"
    relogin = await login(client, "alice", "pw")
    assert relogin.status == 403
    assert relogin.body["errcode"] == "M_USER_DEACTIVATED"
    available = await client.request(
        "GET", f"{CLIENT}/register/available", params={"username": "alice"}
    )
    assert available.status == 400
    assert available.body["errcode"] == "M_USER_IN_USE"


async def test_deactivate_leaves_rooms(client: RawClient) -> None:
    alice = await client.register("alice", "pw")
    bob = await client.register("bob", "pw")
    created = await client.request(
        "POST",
        f"{CLIENT}/createRoom",
        {"preset": "public_chat"},
        token=bob.access_token,
    )
    assert created.status == 200, created.body
    room_id = created.body["room_id"]
    joined = await client.request(
        "POST", f"{CLIENT}/rooms/{room_id}/join", {}, token=alice.access_token
    )
    assert joined.status == 200, joined.body

    response = await with_password_auth(client, "POST", DEACTIVATE, alice, {})
    assert response.status == 200, response.body

    member = await client.request(
        "GET",
        f"{CLIENT}/rooms/{room_id}/state/m.room.member/{alice.user_id}",
        token=bob.access_token,
    )
    assert member.status == 200, member.body
    assert member.body["membership"] == "leave"
