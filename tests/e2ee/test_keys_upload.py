"""POST /keys/upload: device keys, one-time keys, fallback keys and their signatures."""

from __future__ import annotations

import copy

from tests.client import RawClient
from tests.e2ee.keyring import PREFIX, TestDevice, sign_as
from tests.serverproc import ServerProcess


async def _upload(client: RawClient, token: str, body: dict) -> tuple[int, dict]:
    response = await client.request("POST", PREFIX + "/keys/upload", body, token=token)
    return response.status, response.body


async def test_upload_device_and_one_time_keys(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    status, body = await _upload(
        client,
        alice.access_token,
        {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(5)},
    )
    assert status == 200
    assert body["one_time_key_counts"]["signed_curve25519"] == 5


async def test_upload_without_keys_reports_zero_count(client: RawClient) -> None:
    alice = await client.register("alice")
    status, body = await _upload(client, alice.access_token, {})
    assert status == 200
    assert body == {"one_time_key_counts": {"signed_curve25519": 0}}


async def test_upload_rejects_forged_device_signature(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    keys = device.device_keys()
    keys["keys"][f"curve25519:{alice.device_id}"] = TestDevice("@x:y", "X").curve_key
    status, body = await _upload(client, alice.access_token, {"device_keys": keys})
    assert status == 400
    assert body["errcode"] == "M_INVALID_SIGNATURE"


async def test_upload_rejects_unsigned_device_keys(client: RawClient) -> None:
    alice = await client.register("alice")
    keys = TestDevice(alice.user_id, alice.device_id).device_keys()
    del keys["signatures"]
    status, body = await _upload(client, alice.access_token, {"device_keys": keys})
    assert status == 400
    assert body["errcode"] == "M_INVALID_SIGNATURE"


async def test_upload_rejects_other_user_id(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice("@mallory:localhost", alice.device_id)
    status, body = await _upload(
        client, alice.access_token, {"device_keys": device.device_keys()}
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_upload_rejects_other_device_id(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, "NOTMINE")
    status, body = await _upload(
        client, alice.access_token, {"device_keys": device.device_keys()}
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_upload_rejects_badly_signed_one_time_key(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    other = TestDevice(alice.user_id, alice.device_id)
    status, body = await _upload(
        client,
        alice.access_token,
        {"device_keys": device.device_keys(), "one_time_keys": other.one_time_keys(1)},
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_SIGNATURE"


async def test_signed_key_before_device_keys_rejected(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    status, body = await _upload(
        client, alice.access_token, {"one_time_keys": device.one_time_keys(1)}
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_later_one_time_keys_checked_against_stored_key(
    client: RawClient,
) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    await _upload(client, alice.access_token, {"device_keys": device.device_keys()})

    status, body = await _upload(
        client, alice.access_token, {"one_time_keys": device.one_time_keys(3)}
    )
    assert status == 200
    assert body["one_time_key_counts"]["signed_curve25519"] == 3

    impostor = TestDevice(alice.user_id, alice.device_id)
    status, body = await _upload(
        client, alice.access_token, {"one_time_keys": impostor.one_time_keys(1)}
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_SIGNATURE"


async def test_reused_one_time_key_id_with_new_content(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    keys = device.one_time_keys(1)
    await _upload(
        client,
        alice.access_token,
        {"device_keys": device.device_keys(), "one_time_keys": keys},
    )

    status, _ = await _upload(client, alice.access_token, {"one_time_keys": keys})
    assert status == 200

    (key_id,) = keys
    changed = {
        key_id: sign_as({"key": device.curve_key}, alice.user_id, device.signing_key)
    }
    status, body = await _upload(client, alice.access_token, {"one_time_keys": changed})
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_fallback_key_reported_unused_in_sync(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    status, _ = await _upload(
        client,
        alice.access_token,
        {
            "device_keys": device.device_keys(),
            "fallback_keys": device.one_time_keys(1, fallback=True),
        },
    )
    assert status == 200
    sync = await client.request("GET", PREFIX + "/sync", token=alice.access_token)
    assert sync.body["device_unused_fallback_key_types"] == ["signed_curve25519"]
    assert sync.body["device_one_time_keys_count"] == {"signed_curve25519": 0}


async def test_two_fallback_keys_for_one_algorithm(client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    status, body = await _upload(
        client,
        alice.access_token,
        {
            "device_keys": device.device_keys(),
            "fallback_keys": device.one_time_keys(2, fallback=True),
        },
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_malformed_key_maps_are_bad_json(client: RawClient) -> None:
    alice = await client.register("alice")
    for body in (
        {"device_keys": "not an object"},
        {"one_time_keys": ["a list"]},
        {"one_time_keys": {"signed_curve25519:A": 5}},
    ):
        status, error = await _upload(client, alice.access_token, copy.deepcopy(body))
        assert status == 400, body
        assert error["errcode"] == "M_BAD_JSON", body


async def test_key_id_without_algorithm(client: RawClient) -> None:
    alice = await client.register("alice")
    status, body = await _upload(
        client, alice.access_token, {"one_time_keys": {"nocolon": "abc"}}
    )
    assert status == 400
    assert body["errcode"] == "M_INVALID_PARAM"


async def test_keys_survive_restart(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    device = TestDevice(alice.user_id, alice.device_id)
    await _upload(
        client,
        alice.access_token,
        {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(2)},
    )
    server.stop()
    server.start()
    fresh = RawClient(server.base_url)
    try:
        status, body = await _upload(fresh, alice.access_token, {})
    finally:
        await fresh.close()
    assert status == 200
    assert body["one_time_key_counts"]["signed_curve25519"] == 2
