"""Profile routes and the copy of display name and avatar into member events."""

from __future__ import annotations

from tests.accounts.helpers import CLIENT
from tests.client import RawClient

PROFILE = f"{CLIENT}/profile"


async def test_set_and_get_displayname(client: RawClient) -> None:
    user = await client.register("alice")
    path = f"{PROFILE}/{user.user_id}/displayname"
    response = await client.request(
        "PUT", path, {"displayname": "Alice"}, token=user.access_token
    )
    assert response.status == 200
    assert response.body == {}
    got = await client.request("GET", path)
    assert got.status == 200
    assert got.body == {"displayname": "Alice"}


async def test_set_avatar_url(client: RawClient) -> None:
    user = await client.register("alice")
    path = f"{PROFILE}/{user.user_id}/avatar_url"
    good = await client.request(
        "PUT", path, {"avatar_url": "mxc://localhost/abc"}, token=user.access_token
    )
    assert good.status == 200
    bad = await client.request(
        "PUT",
        path,
        {"avatar_url": "https://example.org/a.png"},
        token=user.access_token,
    )
    assert bad.status == 400
    profile = await client.request("GET", f"{PROFILE}/{user.user_id}")
    assert profile.body == {"avatar_url": "mxc://localhost/abc"}


async def test_profile_field_limits(client: RawClient) -> None:
    user = await client.register("alice")
    path = f"{PROFILE}/{user.user_id}/displayname"
    too_long = await client.request(
        "PUT", path, {"displayname": "x" * 257}, token=user.access_token
    )
    assert too_long.status == 400
    not_string = await client.request(
        "PUT", path, {"displayname": 5}, token=user.access_token
    )
    assert not_string.status == 400
    assert not_string.body["errcode"] == "M_BAD_JSON"
    missing = await client.request("PUT", path, {}, token=user.access_token)
    assert missing.status == 400
    assert missing.body["errcode"] == "M_MISSING_PARAM"


async def test_cannot_set_other_profile(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    response = await client.request(
        "PUT",
        f"{PROFILE}/{alice.user_id}/displayname",
        {"displayname": "Mallory"},
        token=bob.access_token,
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_unknown_user_profile(client: RawClient) -> None:
    response = await client.request("GET", f"{PROFILE}/@nobody:localhost")
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"
    field = await client.request("GET", f"{PROFILE}/@nobody:localhost/displayname")
    assert field.status == 404
    assert field.body["errcode"] == "M_NOT_FOUND"


async def test_unset_field_not_found(client: RawClient) -> None:
    user = await client.register("alice")
    response = await client.request("GET", f"{PROFILE}/{user.user_id}/displayname")
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"
    profile = await client.request("GET", f"{PROFILE}/{user.user_id}")
    assert profile.status == 200
    assert profile.body == {}


async def test_custom_fields(client: RawClient) -> None:
    user = await client.register("alice")
    base = f"{PROFILE}/{user.user_id}"
    tz = await client.request(
        "PUT", f"{base}/m.tz", {"m.tz": "Europe/London"}, token=user.access_token
    )
    assert tz.status == 200
    custom = await client.request(
        "PUT",
        f"{base}/org.example.pronouns",
        {"org.example.pronouns": ["she", "her"]},
        token=user.access_token,
    )
    assert custom.status == 200
    profile = await client.request("GET", base)
    assert profile.body == {
        "m.tz": "Europe/London",
        "org.example.pronouns": ["she", "her"],
    }
    deleted = await client.request("DELETE", f"{base}/m.tz", token=user.access_token)
    assert deleted.status == 200
    gone = await client.request("GET", f"{base}/m.tz")
    assert gone.status == 404


async def test_invalid_profile_keys(client: RawClient) -> None:
    user = await client.register("alice")
    base = f"{PROFILE}/{user.user_id}"
    invalid = await client.request(
        "PUT", f"{base}/Bad-Key", {"Bad-Key": 1}, token=user.access_token
    )
    assert invalid.status == 400
    assert invalid.body["errcode"] == "M_INVALID_PARAM"
    long_key = "org.example." + "k" * 250
    too_long = await client.request(
        "PUT", f"{base}/{long_key}", {long_key: 1}, token=user.access_token
    )
    assert too_long.status == 400
    assert too_long.body["errcode"] == "M_KEY_TOO_LARGE"


async def test_profile_size_limit(client: RawClient) -> None:
    user = await client.register("alice")
    base = f"{PROFILE}/{user.user_id}"
    chunk = "x" * 40_000
    first = await client.request(
        "PUT",
        f"{base}/org.example.a",
        {"org.example.a": chunk},
        token=user.access_token,
    )
    assert first.status == 200
    second = await client.request(
        "PUT",
        f"{base}/org.example.b",
        {"org.example.b": chunk},
        token=user.access_token,
    )
    assert second.status == 400
    assert second.body["errcode"] == "M_PROFILE_TOO_LARGE"


async def test_profile_change_updates_member_event(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
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

    base = f"{PROFILE}/{alice.user_id}"
    await client.request(
        "PUT",
        f"{base}/displayname",
        {"displayname": "Alice A."},
        token=alice.access_token,
    )
    await client.request(
        "PUT",
        f"{base}/avatar_url",
        {"avatar_url": "mxc://localhost/face"},
        token=alice.access_token,
    )
    member = await client.request(
        "GET",
        f"{CLIENT}/rooms/{room_id}/state/m.room.member/{alice.user_id}",
        token=bob.access_token,
    )
    assert member.status == 200, member.body
    assert member.body["membership"] == "join"
    assert member.body["displayname"] == "Alice A."
    assert member.body["avatar_url"] == "mxc://localhost/face"

    cleared = await client.request(
        "DELETE", f"{base}/displayname", token=alice.access_token
    )
    assert cleared.status == 200
    member = await client.request(
        "GET",
        f"{CLIENT}/rooms/{room_id}/state/m.room.member/{alice.user_id}",
        token=bob.access_token,
    )
    assert "displayname" not in member.body
    assert member.body["avatar_url"] == "mxc://localhost/face"
