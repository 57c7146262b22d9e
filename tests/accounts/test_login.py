"""GET/POST /login, /logout, /logout/all and /account/whoami."""

from __future__ import annotations

import aiohttp

from tests.accounts.helpers import CLIENT, login
from tests.client import RawClient

WHOAMI = f"{CLIENT}/account/whoami"


async def test_login_flows(client: RawClient) -> None:
    response = await client.request("GET", f"{CLIENT}/login")
    assert response.status == 200
    assert {"type": "m.login.password"} in response.body["flows"]


async def test_login_with_localpart(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(client, "alice", "secret")
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@alice:localhost"
    assert response.body["device_id"]
    whoami = await client.request("GET", WHOAMI, token=response.body["access_token"])
    assert whoami.status == 200
    assert whoami.body["device_id"] == response.body["device_id"]


async def test_login_with_full_user_id(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(client, "@alice:localhost", "secret")
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@alice:localhost"


async def test_login_ignores_case(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(client, "ALICE", "secret")
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@alice:localhost"


async def test_login_deprecated_user_field(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await client.request(
        "POST",
        f"{CLIENT}/login",
        {"type": "m.login.password", "user": "alice", "password": "secret"},
    )
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@alice:localhost"


async def test_login_r0_prefix(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await client.request(
        "POST",
        "/_matrix/client/r0/login",
        {"type": "m.login.password", "user": "alice", "password": "secret"},
    )
    assert response.status == 200, response.body


async def test_login_wrong_password(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(client, "alice", "wrong")
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_login_unknown_user(client: RawClient) -> None:
    response = await login(client, "nobody", "secret")
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_login_other_server_user(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(client, "@alice:elsewhere.example", "secret")
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_login_unsupported_type(client: RawClient) -> None:
    response = await client.request(
        "POST", f"{CLIENT}/login", {"type": "m.login.token", "token": "abc"}
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_UNKNOWN"


async def test_login_device_name(client: RawClient) -> None:
    await client.register("alice", "secret")
    response = await login(
        client, "alice", "secret", initial_device_display_name="Laptop"
    )
    assert response.status == 200
    device_id = response.body["device_id"]
    device = await client.request(
        "GET", f"{CLIENT}/devices/{device_id}", token=response.body["access_token"]
    )
    assert device.body["display_name"] == "Laptop"


async def test_login_reuses_device_id(client: RawClient) -> None:
    await client.register("alice", "secret")
    first = await login(
        client, "alice", "secret", device_id="KEEPME", initial_device_display_name="A"
    )
    second = await login(
        client, "alice", "secret", device_id="KEEPME", initial_device_display_name="B"
    )
    assert first.status == 200
    assert second.status == 200
    assert second.body["device_id"] == "KEEPME"
    # The device keeps its first name, and its earlier token is replaced.
    device = await client.request(
        "GET", f"{CLIENT}/devices/KEEPME", token=second.body["access_token"]
    )
    assert device.body["display_name"] == "A"
    old = await client.request("GET", WHOAMI, token=first.body["access_token"])
    assert old.status == 401
    assert old.body["errcode"] == "M_UNKNOWN_TOKEN"
    devices = await client.request(
        "GET", f"{CLIENT}/devices", token=second.body["access_token"]
    )
    ids = [d["device_id"] for d in devices.body["devices"]]
    assert ids.count("KEEPME") == 1


async def test_logout_revokes_token_and_device(client: RawClient) -> None:
    user = await client.register("alice", "secret")
    other = await login(client, "alice", "secret")
    response = await client.request(
        "POST", f"{CLIENT}/logout", {}, token=user.access_token
    )
    assert response.status == 200
    assert response.body == {}
    after = await client.request("GET", WHOAMI, token=user.access_token)
    assert after.status == 401
    assert after.body["errcode"] == "M_UNKNOWN_TOKEN"
    devices = await client.request(
        "GET", f"{CLIENT}/devices", token=other.body["access_token"]
    )
    ids = [d["device_id"] for d in devices.body["devices"]]
    assert user.device_id not in ids
    assert other.body["device_id"] in ids


async def test_logout_all(client: RawClient) -> None:
    user = await client.register("alice", "secret")
    other = await login(client, "alice", "secret")
    response = await client.request(
        "POST", f"{CLIENT}/logout/all", {}, token=user.access_token
    )
    assert response.status == 200
    for token in (user.access_token, other.body["access_token"]):
        after = await client.request("GET", WHOAMI, token=token)
        assert after.status == 401
        assert after.body["errcode"] == "M_UNKNOWN_TOKEN"
    again = await login(client, "alice", "secret")
    devices = await client.request(
        "GET", f"{CLIENT}/devices", token=again.body["access_token"]
    )
    assert [d["device_id"] for d in devices.body["devices"]] == [
        again.body["device_id"]
    ]


async def test_whoami_without_token(client: RawClient) -> None:
    response = await client.request("GET", WHOAMI)
    assert response.status == 401
    assert response.body["errcode"] == "M_MISSING_TOKEN"


async def test_login_rate_limited_per_user(custom_server) -> None:
    overrides = {
        "rate_limits": {
            "enabled": True,
            "login": {"per_second": 0.01, "burst_count": 3},
            "registration": {"per_second": 10, "burst_count": 10},
        }
    }
    async with custom_server(overrides) as (process, client):
        await client.register("alice", "secret")
        first = [(await login(client, "alice", "wrong")).status for _ in range(2)]
        assert first == [403, 403]
        # A second source address has its own address bucket, but the user's bucket
        # has one attempt left.
        other = RawClient(process.base_url)
        await other.session.close()
        other.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        )
        try:
            third = await login(other, "alice", "wrong")
            fourth = await login(other, "alice", "secret")
        finally:
            await other.close()
        assert third.status == 403
        assert fourth.status == 429
        assert fourth.body["errcode"] == "M_LIMIT_EXCEEDED"


async def test_login_rate_limited_per_address(custom_server) -> None:
    overrides = {
        "rate_limits": {
            "enabled": True,
            "login": {"per_second": 0.01, "burst_count": 2},
        }
    }
    async with custom_server(overrides) as (_, client):
        statuses = [
            (await login(client, f"user{index}", "pw")).status for index in range(3)
        ]
        assert statuses == [403, 403, 429]
