"""End-to-end encryption between matrix-nio clients (vodozemac) through the real server.

Olm and Megolm run entirely in the clients. These tests show that the server stores and
routes everything they need: device and one-time keys, to-device messages (room keys and
key requests), device-list changes, and cross-signing signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nio import (
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    SyncResponse,
)
from nio.crypto import ENCRYPTION_ENABLED
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from tests.client import RawClient
from tests.e2ee.keyring import PREFIX, CrossSigningIdentity, public_key_of, sign_as
from tests.e2ee.nio_device import ENCRYPTION_STATE, Device, send_text, texts
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.skipif(
    not ENCRYPTION_ENABLED, reason="matrix-nio is installed without its e2e extra"
)


async def _step_until(
    devices: list[Device],
    watched: Device,
    predicate: Callable[[SyncResponse], bool],
    rounds: int = 12,
) -> SyncResponse:
    """Step every device in turn until one of `watched`'s syncs satisfies `predicate`."""
    for _ in range(rounds):
        for device in devices:
            response = await device.step()
            if device is watched and predicate(response):
                return response
    raise AssertionError(f"{watched.name} never received the expected sync")


def _undecrypted(response: SyncResponse, room_id: str) -> list[MegolmEvent]:
    room = response.rooms.join.get(room_id)
    if room is None:
        return []
    return [e for e in room.timeline.events if isinstance(e, MegolmEvent)]


async def _encrypted_room(alice: Device, bob: Device) -> str:
    created = await alice.client.room_create(
        initial_state=[ENCRYPTION_STATE], invite=[bob.client.user_id]
    )
    assert isinstance(created, RoomCreateResponse), created
    await bob.step()
    joined = await bob.client.join(created.room_id)
    assert isinstance(joined, JoinResponse), joined
    for device in (alice, bob, alice, bob):
        await device.step()
    assert alice.client.rooms[created.room_id].encrypted
    return created.room_id


@pytest.fixture
async def alice_and_bob(server: ServerProcess, tmp_path: Path):
    alice = Device(server, "alice", tmp_path / "alice")
    bob = Device(server, "bob", tmp_path / "bob")
    await alice.register()
    await bob.register()
    try:
        yield alice, bob
    finally:
        await alice.close()
        await bob.close()


async def test_messages_decrypt_both_ways(alice_and_bob: Any) -> None:
    alice, bob = alice_and_bob
    room_id = await _encrypted_room(alice, bob)

    await send_text(alice, room_id, "hello bob")
    await _step_until([alice, bob], bob, lambda r: "hello bob" in texts(r, room_id))

    await send_text(bob, room_id, "hello alice")
    await _step_until([alice, bob], alice, lambda r: "hello alice" in texts(r, room_id))


async def test_offline_second_device_gets_forwarded_key(
    server: ServerProcess, tmp_path: Path, alice_and_bob: Any
) -> None:
    alice, bob = alice_and_bob
    room_id = await _encrypted_room(alice, bob)

    # The message is sent while Bob's second device does not exist yet, so Alice shares
    # its room key with Bob's first device only.
    await send_text(alice, room_id, "sent while offline")
    await _step_until(
        [alice, bob], bob, lambda r: "sent while offline" in texts(r, room_id)
    )

    phone = Device(server, "bob", tmp_path / "bob-phone")
    try:
        await phone.login("phone")
        first = await phone.step()
        missing = _undecrypted(first, room_id)
        assert len(missing) == 1

        # Each of Bob's devices learns of the other through the device list and trusts
        # it, as a user would after verifying it, because nio forwards keys only between
        # trusted devices of the same user.
        await bob.step()
        await bob.step()
        await phone.step()
        user_id = bob.client.user_id
        bob.client.verify_device(
            bob.client.device_store[user_id][phone.client.device_id]
        )
        phone.client.verify_device(
            phone.client.device_store[user_id][bob.client.device_id]
        )

        request = await phone.client.request_room_key(missing[0])
        assert not hasattr(request, "status_code"), request

        decrypted: list[Any] = []

        def key_arrived(_: SyncResponse) -> bool:
            event = phone.client.decrypt_event(missing[0]) if _has_key(phone) else None
            if isinstance(event, RoomMessageText):
                decrypted.append(event)
            return bool(decrypted)

        await _step_until([bob, phone], phone, key_arrived)
        assert decrypted[0].body == "sent while offline"
    finally:
        await phone.close()


def _has_key(device: Device) -> bool:
    store = device.client.olm.inbound_group_store if device.client.olm else None
    return store is not None and any(True for _ in store)


async def test_second_device_cross_signs_first(
    server: ServerProcess, tmp_path: Path, alice_and_bob: Any
) -> None:
    alice, bob = alice_and_bob
    await bob.step()
    phone = Device(server, "bob", tmp_path / "bob-phone")
    raw = RawClient(server.base_url)
    try:
        await phone.login("phone")
        await phone.step()
        token = phone.client.access_token
        user_id = bob.client.user_id

        # The new device creates the cross-signing identity and signs the first device's
        # real (vodozemac) device keys with its self-signing key.
        identity = CrossSigningIdentity(user_id)
        upload = await raw.request(
            "POST",
            PREFIX + "/keys/device_signing/upload",
            identity.upload_body(),
            token=token,
        )
        assert upload.status == 200, upload.body
        query = await raw.request(
            "POST", PREFIX + "/keys/query", {"device_keys": {user_id: []}}, token=token
        )
        first_keys = query.body["device_keys"][user_id][bob.client.device_id]
        first_keys.pop("unsigned", None)
        signed = sign_as(first_keys, user_id, identity.self_signing)
        signatures = await raw.request(
            "POST",
            PREFIX + "/keys/signatures/upload",
            {user_id: {bob.client.device_id: signed}},
            token=token,
        )
        assert signatures.body["failures"] == {}

        # Alice sees a chain from Bob's master key to his first device.
        seen = await raw.request(
            "POST",
            PREFIX + "/keys/query",
            {"device_keys": {user_id: []}},
            token=alice.client.access_token,
        )
        master = seen.body["master_keys"][user_id]
        self_signing = seen.body["self_signing_keys"][user_id]
        device_keys = seen.body["device_keys"][user_id][bob.client.device_id]
        master_public = public_key_of(identity.master)
        self_signing_public = public_key_of(identity.self_signing)
        assert master["keys"] == {f"ed25519:{master_public}": master_public}
        verify_signed_json(self_signing, user_id, _verify_key(master_public))
        verify_signed_json(device_keys, user_id, _verify_key(self_signing_public))
        ed25519 = device_keys["keys"][f"ed25519:{bob.client.device_id}"]
        assert ed25519 == bob.client.olm.account.identity_keys["ed25519"]
    finally:
        await raw.close()
        await phone.close()


def _verify_key(public_key: str) -> Any:
    return decode_verify_key_bytes("ed25519:" + public_key, decode_base64(public_key))
