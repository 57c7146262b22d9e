"""Device management routes, and the deletion hooks and last-seen store."""

from __future__ import annotations

from pathlib import Path

from homeserver.accounts.devices import DeviceManager
from homeserver.accounts.store import AccountStore
from homeserver.auth import TokenStore
from homeserver.errors import UnknownToken
from homeserver.storage.database import Database, Transaction
from tests.accounts.helpers import CLIENT, login, password_auth, with_password_auth
from tests.client import RawClient

DEVICES = f"{CLIENT}/devices"


async def test_list_devices(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    second = await login(client, "alice", "pw", initial_device_display_name="Tablet")
    response = await client.request("GET", DEVICES, token=user.access_token)
    assert response.status == 200
    by_id = {d["device_id"]: d for d in response.body["devices"]}
    assert set(by_id) == {user.device_id, second.body["device_id"]}
    assert by_id[second.body["device_id"]]["display_name"] == "Tablet"
    assert by_id[user.device_id]["last_seen_ip"] == "127.0.0.1"
    assert by_id[user.device_id]["last_seen_ts"] > 0


async def test_get_unknown_device(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    response = await client.request(
        "GET", f"{DEVICES}/NOSUCHDEVICE", token=user.access_token
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"


async def test_other_users_device_not_visible(client: RawClient) -> None:
    alice = await client.register("alice", "pw")
    bob = await client.register("bob", "pw")
    response = await client.request(
        "GET", f"{DEVICES}/{alice.device_id}", token=bob.access_token
    )
    assert response.status == 404


async def test_rename_device(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    path = f"{DEVICES}/{user.device_id}"
    renamed = await client.request(
        "PUT", path, {"display_name": "Work laptop"}, token=user.access_token
    )
    assert renamed.status == 200
    assert renamed.body == {}
    device = await client.request("GET", path, token=user.access_token)
    assert device.body["display_name"] == "Work laptop"

    unknown = await client.request(
        "PUT", f"{DEVICES}/NOPE", {"display_name": "x"}, token=user.access_token
    )
    assert unknown.status == 404
    too_long = await client.request(
        "PUT", path, {"display_name": "x" * 101}, token=user.access_token
    )
    assert too_long.status == 400


async def test_delete_device_requires_uia(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    second = await login(client, "alice", "pw")
    path = f"{DEVICES}/{second.body['device_id']}"
    first = await client.request("DELETE", path, token=user.access_token)
    assert first.status == 401
    assert first.body["flows"] == [{"stages": ["m.login.password"]}]

    wrong = await client.request(
        "DELETE",
        path,
        {"auth": password_auth(user, first.body["session"], "bad")},
        token=user.access_token,
    )
    assert wrong.status == 401
    assert wrong.body["errcode"] == "M_FORBIDDEN"

    deleted = await client.request(
        "DELETE",
        path,
        {"auth": password_auth(user, first.body["session"])},
        token=user.access_token,
    )
    assert deleted.status == 200, deleted.body
    whoami = await client.request(
        "GET", f"{CLIENT}/account/whoami", token=second.body["access_token"]
    )
    assert whoami.status == 401
    assert whoami.body["errcode"] == "M_UNKNOWN_TOKEN"
    gone = await client.request("GET", path, token=user.access_token)
    assert gone.status == 404


async def test_delete_devices_bulk(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    second = await login(client, "alice", "pw")
    third = await login(client, "alice", "pw")
    doomed = [second.body["device_id"], third.body["device_id"], "NEVEREXISTED"]
    response = await with_password_auth(
        client, "POST", f"{CLIENT}/delete_devices", user, {"devices": doomed}
    )
    assert response.status == 200, response.body
    listing = await client.request("GET", DEVICES, token=user.access_token)
    assert [d["device_id"] for d in listing.body["devices"]] == [user.device_id]


async def test_delete_devices_requires_list(client: RawClient) -> None:
    user = await client.register("alice", "pw")
    response = await client.request(
        "POST", f"{CLIENT}/delete_devices", {}, token=user.access_token
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_MISSING_PARAM"


async def _open_database(tmp_path: Path) -> Database:
    db = Database(str(tmp_path / "accounts.db"))
    await db.open()
    return db


async def test_deleted_hook_runs_in_transaction(tmp_path: Path) -> None:
    db = await _open_database(tmp_path)
    try:
        store = AccountStore(db)
        tokens = TokenStore(db)
        devices = DeviceManager(db, store, tokens)
        seen: list[tuple[str, str, bool]] = []

        async def hook(txn: Transaction, user_id: str, device_id: str) -> None:
            # The device row still exists while the hook runs.
            exists = await store.device_exists_in_txn(txn, user_id, device_id)
            seen.append((user_id, device_id, exists))

        devices.deleted_hooks.append(hook)
        async with db.transaction("setup") as txn:
            await store.insert_user(txn, "@a:hs", None)
            await devices.ensure_device(txn, "@a:hs", "DEV1", None, None)
            token = await tokens.issue(txn, "@a:hs", "DEV1")
        async with db.transaction("delete") as txn:
            await devices.delete(txn, "@a:hs", "DEV1")

        assert seen == [("@a:hs", "DEV1", True)]
        assert await store.get_device("@a:hs", "DEV1") is None
        try:
            await tokens.resolve(token)
        except UnknownToken:
            revoked = True
        else:
            revoked = False
        assert revoked
    finally:
        await db.close()


async def test_last_seen_flushed_on_stop(tmp_path: Path) -> None:
    db = await _open_database(tmp_path)
    try:
        store = AccountStore(db)
        devices = DeviceManager(db, store, TokenStore(db))
        async with db.transaction("setup") as txn:
            await store.insert_user(txn, "@a:hs", None)
            await devices.ensure_device(txn, "@a:hs", "DEV1", None, "10.0.0.1")
        await devices.start()
        devices.record_seen("@a:hs", "DEV1", "10.0.0.2")
        before = await store.get_device("@a:hs", "DEV1")
        assert before is not None
        assert before.last_seen_ip == "10.0.0.1"
        await devices.stop()
        after = await store.get_device("@a:hs", "DEV1")
        assert after is not None
        assert after.last_seen_ip == "10.0.0.2"
    finally:
        await db.close()


async def test_deleted_hook_skips_unknown_device(tmp_path: Path) -> None:
    db = await _open_database(tmp_path)
    try:
        store = AccountStore(db)
        devices = DeviceManager(db, store, TokenStore(db))
        calls: list[str] = []

        async def hook(txn: Transaction, user_id: str, device_id: str) -> None:
            calls.append(device_id)

        devices.deleted_hooks.append(hook)
        async with db.transaction("delete") as txn:
            await devices.delete(txn, "@a:hs", "NEVEREXISTED")
        assert calls == []
    finally:
        await db.close()
