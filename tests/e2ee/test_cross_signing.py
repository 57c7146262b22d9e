"""POST /keys/device_signing/upload and POST /keys/signatures/upload."""

from __future__ import annotations

from typing import Any

from tests.client import RawClient, User
from tests.e2ee.keyring import (
    PREFIX,
    CrossSigningIdentity,
    TestDevice,
    public_key_of,
    sign_as,
    upload_device,
)


async def _upload_cross_signing(
    client: RawClient, user: User, body: dict[str, Any]
) -> Any:
    return await client.request(
        "POST", PREFIX + "/keys/device_signing/upload", body, token=user.access_token
    )


async def _upload_signatures(client: RawClient, user: User, body: dict) -> Any:
    return await client.request(
        "POST", PREFIX + "/keys/signatures/upload", body, token=user.access_token
    )


async def _query(client: RawClient, user: User, users: list[str]) -> dict:
    response = await client.request(
        "POST",
        PREFIX + "/keys/query",
        {"device_keys": {user_id: [] for user_id in users}},
        token=user.access_token,
    )
    assert response.status == 200, response.body
    return response.body


async def test_first_upload_needs_no_auth(client: RawClient) -> None:
    alice = await client.register("alice")
    identity = CrossSigningIdentity(alice.user_id)
    response = await _upload_cross_signing(client, alice, identity.upload_body())
    assert response.status == 200, response.body

    own = await _query(client, alice, [alice.user_id])
    assert own["master_keys"][alice.user_id]["keys"] == identity.master_key()["keys"]
    assert own["self_signing_keys"][alice.user_id] == identity.self_signing_key()
    assert own["user_signing_keys"][alice.user_id] == identity.user_signing_key()


async def test_user_signing_key_only_for_owner(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    identity = CrossSigningIdentity(alice.user_id)
    await _upload_cross_signing(client, alice, identity.upload_body())

    seen_by_bob = await _query(client, bob, [alice.user_id])
    assert alice.user_id in seen_by_bob["master_keys"]
    assert alice.user_id in seen_by_bob["self_signing_keys"]
    assert seen_by_bob["user_signing_keys"] == {}


async def test_replacing_master_key_needs_password(client: RawClient) -> None:
    alice = await client.register("alice")
    await _upload_cross_signing(
        client, alice, CrossSigningIdentity(alice.user_id).upload_body()
    )
    replacement = CrossSigningIdentity(alice.user_id).upload_body()

    challenge = await _upload_cross_signing(client, alice, replacement)
    assert challenge.status == 401
    assert ["m.login.password"] in [f["stages"] for f in challenge.body["flows"]]

    wrong = await _upload_cross_signing(
        client,
        alice,
        {
            **replacement,
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": alice.user_id},
                "password": "wrong password",
                "session": challenge.body["session"],
            },
        },
    )
    assert wrong.status == 401

    accepted = await _upload_cross_signing(
        client,
        alice,
        {
            **replacement,
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": alice.user_id},
                "password": alice.password,
                "session": challenge.body["session"],
            },
        },
    )
    assert accepted.status == 200, accepted.body
    own = await _query(client, alice, [alice.user_id])
    assert (
        own["master_keys"][alice.user_id]["keys"] == replacement["master_key"]["keys"]
    )


async def test_repeated_identical_upload_needs_no_auth(client: RawClient) -> None:
    alice = await client.register("alice")
    body = CrossSigningIdentity(alice.user_id).upload_body()
    assert (await _upload_cross_signing(client, alice, body)).status == 200
    assert (await _upload_cross_signing(client, alice, body)).status == 200


async def test_self_signing_key_must_be_signed_by_master(client: RawClient) -> None:
    alice = await client.register("alice")
    identity = CrossSigningIdentity(alice.user_id)
    body = identity.upload_body()
    body["self_signing_key"] = sign_as(
        identity._key("self_signing", identity.self_signing),
        alice.user_id,
        identity.user_signing,
    )
    response = await _upload_cross_signing(client, alice, body)
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_SIGNATURE"


async def test_self_signing_key_without_master(client: RawClient) -> None:
    alice = await client.register("alice")
    identity = CrossSigningIdentity(alice.user_id)
    response = await _upload_cross_signing(
        client, alice, {"self_signing_key": identity.self_signing_key()}
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_MISSING_PARAM"


async def test_cross_signing_key_of_other_user(client: RawClient) -> None:
    alice = await client.register("alice")
    identity = CrossSigningIdentity("@bob:localhost")
    response = await _upload_cross_signing(client, alice, identity.upload_body())
    assert response.status == 400
    assert response.body["errcode"] == "M_INVALID_PARAM"


async def _setup(
    client: RawClient, user: User
) -> tuple[TestDevice, CrossSigningIdentity]:
    device = TestDevice(user.user_id, user.device_id)
    await upload_device(client, user.access_token, device)
    identity = CrossSigningIdentity(user.user_id)
    response = await _upload_cross_signing(client, user, identity.upload_body())
    assert response.status == 200, response.body
    return device, identity


async def test_self_signing_signature_on_device(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device, identity = await _setup(client, alice)
    signed = sign_as(device.device_keys(), alice.user_id, identity.self_signing)

    response = await _upload_signatures(
        client, alice, {alice.user_id: {alice.device_id: signed}}
    )
    assert response.status == 200
    assert response.body["failures"] == {}

    ssk_id = "ed25519:" + public_key_of(identity.self_signing)
    for querier in (alice, bob):
        keys = await _query(client, querier, [alice.user_id])
        device_json = keys["device_keys"][alice.user_id][alice.device_id]
        assert (
            device_json["signatures"][alice.user_id][ssk_id]
            == (signed["signatures"][alice.user_id][ssk_id])
        )


async def test_device_signature_on_master_key(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device, identity = await _setup(client, alice)
    signed = sign_as(identity.master_key(), alice.user_id, device.signing_key)
    master_public = public_key_of(identity.master)

    response = await _upload_signatures(
        client, alice, {alice.user_id: {master_public: signed}}
    )
    assert response.body["failures"] == {}

    keys = await _query(client, bob, [alice.user_id])
    signatures = keys["master_keys"][alice.user_id]["signatures"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in signatures


async def test_user_signing_signature_seen_only_by_signer(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    _, alice_identity = await _setup(client, alice)
    _, bob_identity = await _setup(client, bob)
    bob_master = public_key_of(bob_identity.master)
    signed = sign_as(
        bob_identity.master_key(), alice.user_id, alice_identity.user_signing
    )

    response = await _upload_signatures(
        client, alice, {bob.user_id: {bob_master: signed}}
    )
    assert response.body["failures"] == {}

    usk_id = "ed25519:" + public_key_of(alice_identity.user_signing)
    as_alice = await _query(client, alice, [bob.user_id])
    assert usk_id in as_alice["master_keys"][bob.user_id]["signatures"][alice.user_id]
    as_carol = await _query(client, carol, [bob.user_id])
    assert alice.user_id not in as_carol["master_keys"][bob.user_id].get(
        "signatures", {}
    )


async def test_signature_failures_per_key(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device, identity = await _setup(client, alice)
    _, bob_identity = await _setup(client, bob)
    forged = sign_as(device.device_keys(), alice.user_id, identity.self_signing)
    ssk_id = "ed25519:" + public_key_of(identity.self_signing)
    forged["signatures"][alice.user_id][ssk_id] = "A" * 86
    bob_master = public_key_of(bob_identity.master)
    # Signed with the self-signing key, which may not sign other users' keys.
    wrong_key = sign_as(bob_identity.master_key(), alice.user_id, identity.self_signing)

    response = await _upload_signatures(
        client,
        alice,
        {
            alice.user_id: {alice.device_id: forged, "NOSUCHDEVICE": {"a": 1}},
            bob.user_id: {bob_master: wrong_key, "NOTAKEY": {"a": 1}},
        },
    )
    assert response.status == 200
    failures = response.body["failures"]
    assert failures[alice.user_id][alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures[alice.user_id]["NOSUCHDEVICE"]["errcode"] == "M_NOT_FOUND"
    assert failures[bob.user_id][bob_master]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures[bob.user_id]["NOTAKEY"]["errcode"] == "M_NOT_FOUND"


async def test_signed_object_must_match_stored_key(client: RawClient) -> None:
    alice = await client.register("alice")
    device, identity = await _setup(client, alice)
    altered = device.device_keys()
    altered["algorithms"] = ["m.megolm.v1.aes-sha2"]
    altered.pop("signatures")
    signed = sign_as(altered, alice.user_id, identity.self_signing)

    response = await _upload_signatures(
        client, alice, {alice.user_id: {alice.device_id: signed}}
    )
    assert response.body["failures"][alice.user_id][alice.device_id]["errcode"] == (
        "M_INVALID_SIGNATURE"
    )


async def test_cross_signing_upload_reports_device_list_change(
    client: RawClient,
) -> None:
    alice = await client.register("alice")
    first = await client.request(
        "GET", PREFIX + "/sync", token=alice.access_token, params={"timeout": "0"}
    )
    await _upload_cross_signing(
        client, alice, CrossSigningIdentity(alice.user_id).upload_body()
    )
    later = await client.request(
        "GET",
        PREFIX + "/sync",
        token=alice.access_token,
        params={"timeout": "0", "since": first.body["next_batch"]},
    )
    assert alice.user_id in later.body["device_lists"]["changed"]
