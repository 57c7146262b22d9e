"""Server-side key backups: /room_keys/version and /room_keys/keys."""

from __future__ import annotations

from typing import Any

from homeserver.e2ee.key_backup import SessionKey
from tests.client import RawClient, User
from tests.e2ee.keyring import PREFIX

ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!room:localhost"


def _session(
    first: int = 0, forwarded: int = 0, verified: bool = False, tag: str = "a"
) -> dict:
    return {
        "first_message_index": first,
        "forwarded_count": forwarded,
        "is_verified": verified,
        "session_data": {"ephemeral": tag, "ciphertext": tag, "mac": tag},
    }


async def _call(
    client: RawClient,
    user: User,
    method: str,
    path: str,
    body: Any = None,
    version: str | None = None,
) -> Any:
    params = {"version": version} if version is not None else None
    return await client.request(
        method, PREFIX + path, body, token=user.access_token, params=params
    )


async def _create(client: RawClient, user: User) -> str:
    response = await _call(
        client,
        user,
        "POST",
        "/room_keys/version",
        {"algorithm": ALGORITHM, "auth_data": {"public_key": "abc"}},
    )
    assert response.status == 200, response.body
    return response.body["version"]


async def test_no_backup_is_not_found(client: RawClient) -> None:
    alice = await client.register("alice")
    response = await _call(client, alice, "GET", "/room_keys/version")
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"

    put = await _call(
        client, alice, "PUT", f"/room_keys/keys/{ROOM}/s1", _session(), "1"
    )
    assert put.status == 404
    assert put.body["errcode"] == "M_NOT_FOUND"


async def test_version_lifecycle(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)

    current = await _call(client, alice, "GET", "/room_keys/version")
    assert current.status == 200
    assert current.body["version"] == version
    assert current.body["algorithm"] == ALGORITHM
    assert current.body["auth_data"] == {"public_key": "abc"}
    assert current.body["count"] == 0
    assert isinstance(current.body["etag"], str)

    update = await _call(
        client,
        alice,
        "PUT",
        f"/room_keys/version/{version}",
        {
            "algorithm": ALGORITHM,
            "auth_data": {"public_key": "def"},
            "version": version,
        },
    )
    assert update.status == 200
    by_version = await _call(client, alice, "GET", f"/room_keys/version/{version}")
    assert by_version.body["auth_data"] == {"public_key": "def"}

    deleted = await _call(client, alice, "DELETE", f"/room_keys/version/{version}")
    assert deleted.status == 200
    again = await _call(client, alice, "DELETE", f"/room_keys/version/{version}")
    assert again.status == 200
    gone = await _call(client, alice, "GET", "/room_keys/version")
    assert gone.status == 404

    never = await _call(client, alice, "DELETE", "/room_keys/version/999")
    assert never.status == 404


async def test_update_rejects_other_algorithm_and_version(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)
    other_algorithm = await _call(
        client,
        alice,
        "PUT",
        f"/room_keys/version/{version}",
        {"algorithm": "m.other", "auth_data": {}},
    )
    assert other_algorithm.status == 400
    assert other_algorithm.body["errcode"] == "M_INVALID_PARAM"
    other_version = await _call(
        client,
        alice,
        "PUT",
        f"/room_keys/version/{version}",
        {"algorithm": ALGORITHM, "auth_data": {}, "version": "77"},
    )
    assert other_version.status == 400
    assert other_version.body["errcode"] == "M_INVALID_PARAM"
    unknown = await _call(
        client,
        alice,
        "PUT",
        "/room_keys/version/77",
        {"algorithm": ALGORITHM, "auth_data": {}},
    )
    assert unknown.status == 404


async def test_keys_at_three_levels(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)

    one = await _call(
        client, alice, "PUT", f"/room_keys/keys/{ROOM}/s1", _session(), version
    )
    assert one.status == 200
    assert one.body["count"] == 1
    room = await _call(
        client,
        alice,
        "PUT",
        f"/room_keys/keys/{ROOM}",
        {"sessions": {"s2": _session(tag="b")}},
        version,
    )
    assert room.body["count"] == 2
    everything = await _call(
        client,
        alice,
        "PUT",
        "/room_keys/keys",
        {"rooms": {"!other:localhost": {"sessions": {"s3": _session(tag="c")}}}},
        version,
    )
    assert everything.body["count"] == 3
    assert everything.body["etag"] != one.body["etag"]

    session = await _call(
        client, alice, "GET", f"/room_keys/keys/{ROOM}/s1", version=version
    )
    assert session.body == _session()
    in_room = await _call(
        client, alice, "GET", f"/room_keys/keys/{ROOM}", version=version
    )
    assert set(in_room.body["sessions"]) == {"s1", "s2"}
    all_keys = await _call(client, alice, "GET", "/room_keys/keys", version=version)
    assert set(all_keys.body["rooms"]) == {ROOM, "!other:localhost"}

    empty_room = await _call(
        client, alice, "GET", "/room_keys/keys/!none:localhost", version=version
    )
    assert empty_room.body == {"sessions": {}}
    missing = await _call(
        client, alice, "GET", f"/room_keys/keys/{ROOM}/nope", version=version
    )
    assert missing.status == 404
    assert missing.body["errcode"] == "M_NOT_FOUND"

    deleted_session = await _call(
        client, alice, "DELETE", f"/room_keys/keys/{ROOM}/s1", version=version
    )
    assert deleted_session.body["count"] == 2
    deleted_room = await _call(
        client, alice, "DELETE", f"/room_keys/keys/{ROOM}", version=version
    )
    assert deleted_room.body["count"] == 1
    deleted_all = await _call(
        client, alice, "DELETE", "/room_keys/keys", version=version
    )
    assert deleted_all.body["count"] == 0
    info = await _call(client, alice, "GET", "/room_keys/version")
    assert info.body["count"] == 0
    assert info.body["etag"] == deleted_all.body["etag"]


async def test_session_id_with_slash(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)
    session_id = "abc%2Fdef%2Bghi"
    put = await _call(
        client,
        alice,
        "PUT",
        f"/room_keys/keys/{ROOM}/{session_id}",
        _session(),
        version,
    )
    assert put.status == 200
    in_room = await _call(
        client, alice, "GET", f"/room_keys/keys/{ROOM}", version=version
    )
    assert list(in_room.body["sessions"]) == ["abc/def+ghi"]


async def test_put_into_old_version_is_wrong_version(client: RawClient) -> None:
    alice = await client.register("alice")
    old = await _create(client, alice)
    new = await _create(client, alice)
    response = await _call(
        client, alice, "PUT", f"/room_keys/keys/{ROOM}/s1", _session(), old
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_WRONG_ROOM_KEYS_VERSION"
    assert response.body["current_version"] == new


async def test_better_session_replaces_stored_one(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)
    path = f"/room_keys/keys/{ROOM}/s1"

    async def stored() -> dict:
        response = await _call(client, alice, "GET", path, version=version)
        return response.body

    await _call(
        client, alice, "PUT", path, _session(first=5, forwarded=2, tag="base"), version
    )
    worse = await _call(
        client, alice, "PUT", path, _session(first=6, tag="worse"), version
    )
    assert (await stored())["session_data"]["mac"] == "base"
    assert worse.body["count"] == 1

    await _call(
        client, alice, "PUT", path, _session(first=5, forwarded=1, tag="fewer"), version
    )
    assert (await stored())["session_data"]["mac"] == "fewer"

    await _call(
        client, alice, "PUT", path, _session(first=2, forwarded=3, tag="lower"), version
    )
    assert (await stored())["session_data"]["mac"] == "lower"

    await _call(
        client,
        alice,
        "PUT",
        path,
        _session(first=9, verified=True, tag="verified"),
        version,
    )
    assert (await stored())["session_data"]["mac"] == "verified"

    await _call(
        client,
        alice,
        "PUT",
        path,
        _session(first=0, verified=False, tag="unverified"),
        version,
    )
    assert (await stored())["session_data"]["mac"] == "verified"


async def test_malformed_session_data_rejected(client: RawClient) -> None:
    alice = await client.register("alice")
    version = await _create(client, alice)
    bad = _session()
    bad["first_message_index"] = "zero"
    response = await _call(
        client, alice, "PUT", f"/room_keys/keys/{ROOM}/s1", bad, version
    )
    assert response.status == 400
    assert response.body["errcode"] == "M_BAD_JSON"
    missing_version = await _call(client, alice, "GET", "/room_keys/keys")
    assert missing_version.status == 400
    assert missing_version.body["errcode"] == "M_MISSING_PARAM"


async def test_backups_are_per_user(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    version = await _create(client, alice)
    response = await _call(client, bob, "GET", f"/room_keys/version/{version}")
    assert response.status == 404
    keys = await _call(client, bob, "GET", "/room_keys/keys", version=version)
    assert keys.status == 404


def test_is_better_than_order() -> None:
    base = SessionKey(5, 2, False, {})
    assert SessionKey(9, 9, True, {}).is_better_than(base)
    assert not SessionKey(0, 0, False, {}).is_better_than(SessionKey(9, 9, True, {}))
    assert SessionKey(4, 9, False, {}).is_better_than(base)
    assert SessionKey(5, 1, False, {}).is_better_than(base)
    assert not SessionKey(5, 2, False, {}).is_better_than(base)
    assert not SessionKey(6, 0, False, {}).is_better_than(base)
