"""POST /keys/query and POST /keys/claim."""

from __future__ import annotations

import asyncio

from tests.client import RawClient
from tests.e2ee.keyring import PREFIX, TestDevice, upload_device


async def _query(client: RawClient, token: str, device_keys: dict) -> dict:
    response = await client.request(
        "POST", PREFIX + "/keys/query", {"device_keys": device_keys}, token=token
    )
    assert response.status == 200, response.body
    return response.body


async def _claim(client: RawClient, token: str, one_time_keys: dict) -> dict:
    response = await client.request(
        "POST", PREFIX + "/keys/claim", {"one_time_keys": one_time_keys}, token=token
    )
    assert response.status == 200, response.body
    return response.body


async def test_query_returns_signed_keys_and_name(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = TestDevice(alice.user_id, alice.device_id)
    await upload_device(client, alice.access_token, device)
    await client.request(
        "PUT",
        f"{PREFIX}/devices/{alice.device_id}",
        {"display_name": "Alice's laptop"},
        token=alice.access_token,
    )

    body = await _query(client, bob.access_token, {alice.user_id: []})

    keys = body["device_keys"][alice.user_id][alice.device_id]
    expected = device.device_keys()
    assert keys["keys"] == expected["keys"]
    assert keys["signatures"] == expected["signatures"]
    assert keys["algorithms"] == expected["algorithms"]
    assert keys["unsigned"]["device_display_name"] == "Alice's laptop"
    assert body["failures"] == {}


async def test_query_filters_devices(client: RawClient) -> None:
    alice = await client.register("alice")
    await upload_device(
        client, alice.access_token, TestDevice(alice.user_id, alice.device_id)
    )

    body = await _query(client, alice.access_token, {alice.user_id: ["OTHER"]})
    assert body["device_keys"][alice.user_id] == {}

    body = await _query(client, alice.access_token, {alice.user_id: [alice.device_id]})
    assert list(body["device_keys"][alice.user_id]) == [alice.device_id]


async def test_query_remote_user_reports_failure(client: RawClient) -> None:
    alice = await client.register("alice")
    body = await _query(client, alice.access_token, {"@bob:remote.example": []})
    assert "remote.example" in body["failures"]
    assert "@bob:remote.example" not in body["device_keys"]


async def test_query_rejects_malformed_request(client: RawClient) -> None:
    alice = await client.register("alice")
    for device_keys in ([], {alice.user_id: "DEVICE"}, {alice.user_id: [1]}):
        response = await client.request(
            "POST",
            PREFIX + "/keys/query",
            {"device_keys": device_keys},
            token=alice.access_token,
        )
        assert response.status == 400, device_keys
        assert response.body["errcode"] == "M_BAD_JSON", device_keys

    missing = await client.request(
        "POST", PREFIX + "/keys/query", {}, token=alice.access_token
    )
    assert missing.status == 400
    assert missing.body["errcode"] == "M_MISSING_PARAM"


async def test_claim_hands_out_each_key_once(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = TestDevice(alice.user_id, alice.device_id)
    uploaded = device.one_time_keys(2)
    response = await client.request(
        "POST",
        PREFIX + "/keys/upload",
        {"device_keys": device.device_keys(), "one_time_keys": uploaded},
        token=alice.access_token,
    )
    assert response.status == 200

    request = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    first = await _claim(client, bob.access_token, request)
    second = await _claim(client, bob.access_token, request)
    third = await _claim(client, bob.access_token, request)

    first_keys = first["one_time_keys"][alice.user_id][alice.device_id]
    second_keys = second["one_time_keys"][alice.user_id][alice.device_id]
    assert len(first_keys) == 1
    assert len(second_keys) == 1
    assert set(first_keys) | set(second_keys) == set(uploaded)
    for key_id, key in {**first_keys, **second_keys}.items():
        assert key == uploaded[key_id]
    assert third["one_time_keys"] == {}

    sync = await client.request("GET", PREFIX + "/sync", token=alice.access_token)
    assert sync.body["device_one_time_keys_count"]["signed_curve25519"] == 0


async def test_claim_falls_back_and_marks_used(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = TestDevice(alice.user_id, alice.device_id)
    fallback = device.one_time_keys(1, fallback=True)
    await client.request(
        "POST",
        PREFIX + "/keys/upload",
        {"device_keys": device.device_keys(), "fallback_keys": fallback},
        token=alice.access_token,
    )

    request = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    for _ in range(2):
        body = await _claim(client, bob.access_token, request)
        assert body["one_time_keys"][alice.user_id][alice.device_id] == fallback

    sync = await client.request("GET", PREFIX + "/sync", token=alice.access_token)
    assert sync.body["device_unused_fallback_key_types"] == []

    # A new fallback key is unused again.
    await client.request(
        "POST",
        PREFIX + "/keys/upload",
        {"fallback_keys": device.one_time_keys(1, fallback=True)},
        token=alice.access_token,
    )
    sync = await client.request("GET", PREFIX + "/sync", token=alice.access_token)
    assert sync.body["device_unused_fallback_key_types"] == ["signed_curve25519"]


async def test_concurrent_claims_never_share_a_key(client: RawClient) -> None:
    alice = await client.register("alice")
    claimers = [await client.register(f"claimer{i}") for i in range(4)]
    device = TestDevice(alice.user_id, alice.device_id)
    await upload_device(client, alice.access_token, device, otks=10)

    request = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    results = await asyncio.gather(
        *(
            _claim(client, claimers[i % len(claimers)].access_token, request)
            for i in range(16)
        )
    )

    handed_out = [
        key_id
        for result in results
        for key_id in result["one_time_keys"]
        .get(alice.user_id, {})
        .get(alice.device_id, {})
    ]
    assert len(handed_out) == 10
    assert len(set(handed_out)) == 10


async def test_claim_unknown_device_and_user(client: RawClient) -> None:
    alice = await client.register("alice")
    body = await _claim(
        client,
        alice.access_token,
        {
            alice.user_id: {"NOSUCHDEVICE": "signed_curve25519"},
            "@nobody:localhost": {"X": "signed_curve25519"},
            "@bob:remote.example": {"Y": "signed_curve25519"},
        },
    )
    assert body["one_time_keys"] == {}
    assert "remote.example" in body["failures"]


async def test_claim_rejects_malformed_request(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST",
        PREFIX + "/keys/claim",
        {"one_time_keys": {alice.user_id: ["signed_curve25519"]}},
        token=alice.access_token,
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"
