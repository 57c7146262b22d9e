"""POST /register with user-interactive auth, /register/available and tokens."""

from __future__ import annotations

from tests.accounts.helpers import CLIENT
from tests.client import RawClient

REGISTER = f"{CLIENT}/register"
TOKEN_VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity"


async def test_register_first_request_returns_flows(client: RawClient) -> None:
    response = await client.request(
        "POST", REGISTER, {"username": "alice", "password": "pw"}
    )
    assert response.status == 401
    assert response.body["flows"] == [{"stages": ["m.login.dummy"]}]
    assert response.body["params"] == {}
    assert response.body["completed"] == []
    assert isinstance(response.body["session"], str)


async def test_register_dummy_flow_returns_session(client: RawClient) -> None:
    user = await client.register("alice")
    assert user.user_id == "@alice:localhost"
    whoami = await client.request(
        "GET", f"{CLIENT}/account/whoami", token=user.access_token
    )
    assert whoami.status == 200
    assert whoami.body == {
        "user_id": "@alice:localhost",
        "device_id": user.device_id,
        "is_guest": False,
    }


async def test_register_dummy_without_session(client: RawClient) -> None:
    # Some clients send the dummy stage on the first request, without a session.
    response = await client.request(
        "POST",
        REGISTER,
        {"username": "bob", "password": "pw", "auth": {"type": "m.login.dummy"}},
    )
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@bob:localhost"
    assert response.body["home_server"] == "localhost"
    assert response.body["access_token"]


async def test_register_taken_username(client: RawClient) -> None:
    await client.register("alice")
    response = await client.request(
        "POST", REGISTER, {"username": "alice", "password": "pw"}
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_USER_IN_USE"


async def test_register_invalid_usernames(client: RawClient) -> None:
    for username in ("Alice", "al ice", "al:ice", "ålice", "a" * 250):
        response = await client.request(
            "POST", REGISTER, {"username": username, "password": "pw"}
        )
        assert response.status == 400, username
        assert response.body["errcode"] == "M_INVALID_USERNAME", username


async def test_register_without_username_generates_one(client: RawClient) -> None:
    first = await client.request("POST", REGISTER, {"password": "pw"})
    response = await client.request(
        "POST",
        REGISTER,
        {
            "password": "pw",
            "auth": {"type": "m.login.dummy", "session": first.body["session"]},
        },
    )
    assert response.status == 200, response.body
    localpart = response.body["user_id"][1:].split(":")[0]
    assert len(localpart) > 0
    assert response.body["user_id"].endswith(":localhost")


async def test_register_requires_password(client: RawClient) -> None:
    response = await client.request(
        "POST",
        REGISTER,
        {"username": "carol", "auth": {"type": "m.login.dummy"}},
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_MISSING_PARAM"


async def test_register_device_id_and_name(client: RawClient) -> None:
    response = await client.request(
        "POST",
        REGISTER,
        {
            "username": "dave",
            "password": "pw",
            "device_id": "MYPHONE",
            "initial_device_display_name": "Dave's phone",
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert response.status == 200, response.body
    assert response.body["device_id"] == "MYPHONE"
    device = await client.request(
        "GET", f"{CLIENT}/devices/MYPHONE", token=response.body["access_token"]
    )
    assert device.status == 200
    assert device.body["display_name"] == "Dave's phone"


async def test_register_inhibit_login(client: RawClient) -> None:
    response = await client.request(
        "POST",
        REGISTER,
        {
            "username": "erin",
            "password": "pw",
            "inhibit_login": True,
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@erin:localhost"
    assert "access_token" not in response.body
    assert "device_id" not in response.body


async def test_register_guest_forbidden(client: RawClient) -> None:
    response = await client.request("POST", REGISTER, {}, params={"kind": "guest"})
    assert response.status == 403
    assert response.body["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"


async def test_register_unknown_stage(client: RawClient) -> None:
    response = await client.request(
        "POST",
        REGISTER,
        {"username": "frank", "password": "pw", "auth": {"type": "m.login.foo"}},
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_UNRECOGNIZED"


async def test_register_unknown_session(client: RawClient) -> None:
    response = await client.request(
        "POST",
        REGISTER,
        {
            "username": "frank",
            "password": "pw",
            "auth": {"type": "m.login.dummy", "session": "no-such-session"},
        },
    )
    assert response.status == 400


async def test_register_available(client: RawClient) -> None:
    await client.register("alice")
    free = await client.request(
        "GET", f"{REGISTER}/available", params={"username": "zoe"}
    )
    assert free.status == 200
    assert free.body == {"available": True}
    taken = await client.request(
        "GET", f"{REGISTER}/available", params={"username": "alice"}
    )
    assert taken.status == 400
    assert taken.body["errcode"] == "M_USER_IN_USE"
    invalid = await client.request(
        "GET", f"{REGISTER}/available", params={"username": "Bad Name"}
    )
    assert invalid.status == 400
    assert invalid.body["errcode"] == "M_INVALID_USERNAME"


async def test_registration_disabled(custom_server) -> None:
    async with custom_server({"registration": {"enabled": False}}) as (_, client):
        response = await client.request(
            "POST", REGISTER, {"username": "alice", "password": "pw"}
        )
        assert response.status == 403
        assert response.body["errcode"] == "M_FORBIDDEN"
        available = await client.request(
            "GET", f"{REGISTER}/available", params={"username": "alice"}
        )
        assert available.status == 403


async def test_registration_token_flow(custom_server) -> None:
    overrides = {"registration": {"registration_tokens": ["letmein"]}}
    async with custom_server(overrides) as (_, client):
        first = await client.request(
            "POST", REGISTER, {"username": "alice", "password": "pw"}
        )
        assert first.status == 401
        assert first.body["flows"] == [{"stages": ["m.login.registration_token"]}]
        session = first.body["session"]

        dummy = await client.request(
            "POST",
            REGISTER,
            {
                "username": "alice",
                "password": "pw",
                "auth": {"type": "m.login.dummy", "session": session},
            },
        )
        assert dummy.status == 400
        assert dummy.body["errcode"] == "M_UNRECOGNIZED"

        wrong = await client.request(
            "POST",
            REGISTER,
            {
                "username": "alice",
                "password": "pw",
                "auth": {
                    "type": "m.login.registration_token",
                    "token": "wrong",
                    "session": session,
                },
            },
        )
        assert wrong.status == 401
        assert wrong.body["errcode"] == "M_FORBIDDEN"
        assert wrong.body["session"] == session
        assert wrong.body["completed"] == []

        right = await client.request(
            "POST",
            REGISTER,
            {
                "username": "alice",
                "password": "pw",
                "auth": {
                    "type": "m.login.registration_token",
                    "token": "letmein",
                    "session": session,
                },
            },
        )
        assert right.status == 200, right.body
        assert right.body["user_id"] == "@alice:localhost"


async def test_registration_token_validity(custom_server) -> None:
    overrides = {"registration": {"registration_tokens": ["letmein"]}}
    async with custom_server(overrides) as (_, client):
        valid = await client.request("GET", TOKEN_VALIDITY, params={"token": "letmein"})
        assert valid.status == 200
        assert valid.body == {"valid": True}
        invalid = await client.request("GET", TOKEN_VALIDITY, params={"token": "nope"})
        assert invalid.status == 200
        assert invalid.body == {"valid": False}
        missing = await client.request("GET", TOKEN_VALIDITY)
        assert missing.status == 400
        assert missing.body["errcode"] == "M_MISSING_PARAM"


async def test_registration_rate_limited(custom_server) -> None:
    overrides = {
        "rate_limits": {
            "enabled": True,
            "registration": {"per_second": 0.01, "burst_count": 2},
        }
    }
    async with custom_server(overrides) as (_, client):
        statuses = []
        for index in range(3):
            response = await client.request(
                "POST",
                REGISTER,
                {
                    "username": f"user{index}",
                    "password": "pw",
                    "auth": {"type": "m.login.dummy"},
                },
            )
            statuses.append(response.status)
        assert statuses == [200, 200, 429]
        assert response.body["errcode"] == "M_LIMIT_EXCEEDED"
        assert response.body["retry_after_ms"] > 0
