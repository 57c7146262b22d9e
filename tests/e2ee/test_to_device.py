"""PUT /sendToDevice and the delivery of to-device messages through /sync."""

from __future__ import annotations

from tests.client import RawClient, User
from tests.e2ee.keyring import PREFIX


async def _send(
    client: RawClient,
    sender: User,
    txn_id: str,
    messages: dict,
    event_type: str = "m.test",
) -> int:
    response = await client.request(
        "PUT",
        f"{PREFIX}/sendToDevice/{event_type}/{txn_id}",
        {"messages": messages},
        token=sender.access_token,
    )
    return response.status


async def _sync(client: RawClient, user: User, since: str | None = None) -> dict:
    params = {"timeout": "0"}
    if since is not None:
        params["since"] = since
    response = await client.request(
        "GET", PREFIX + "/sync", token=user.access_token, params=params
    )
    assert response.status == 200, response.body
    return response.body


async def _login(client: RawClient, user: User) -> User:
    response = await client.request(
        "POST",
        PREFIX + "/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.user_id},
            "password": user.password,
        },
    )
    assert response.status == 200, response.body
    body = response.body
    return User(body["user_id"], body["access_token"], body["device_id"], user.password)


async def test_message_delivered_until_acknowledged(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await _sync(client, bob)

    status = await _send(
        client, alice, "t1", {bob.user_id: {bob.device_id: {"hello": "bob"}}}
    )
    assert status == 200

    delivered = await _sync(client, bob, first["next_batch"])
    events = delivered["to_device"]["events"]
    assert events == [
        {"sender": alice.user_id, "type": "m.test", "content": {"hello": "bob"}}
    ]

    # A retried sync with the same since gets the message again.
    retried = await _sync(client, bob, first["next_batch"])
    assert retried["to_device"]["events"] == events

    # Syncing past it acknowledges and deletes it.
    after = await _sync(client, bob, delivered["next_batch"])
    assert after["to_device"]["events"] == []
    again = await _sync(client, bob, first["next_batch"])
    assert again["to_device"]["events"] == []


async def test_initial_sync_includes_pending_messages(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await _send(client, alice, "t1", {bob.user_id: {bob.device_id: {"n": 1}}})

    body = await _sync(client, bob)
    assert [e["content"] for e in body["to_device"]["events"]] == [{"n": 1}]


async def test_transaction_id_is_idempotent(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    messages = {bob.user_id: {bob.device_id: {"n": 1}}}
    assert await _send(client, alice, "same", messages) == 200
    assert await _send(client, alice, "same", messages) == 200

    body = await _sync(client, bob)
    assert len(body["to_device"]["events"]) == 1


async def test_transaction_id_is_per_sending_device(client: RawClient) -> None:
    alice = await client.register("alice")
    alice_phone = await _login(client, alice)
    bob = await client.register("bob")
    messages = {bob.user_id: {bob.device_id: {"n": 1}}}
    assert await _send(client, alice, "same", messages) == 200
    assert await _send(client, alice_phone, "same", messages) == 200

    body = await _sync(client, bob)
    assert len(body["to_device"]["events"]) == 2


async def test_wildcard_reaches_every_device(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    bob_phone = await _login(client, bob)
    assert await _send(client, alice, "t1", {bob.user_id: {"*": {"n": 1}}}) == 200

    for device in (bob, bob_phone):
        body = await _sync(client, device)
        assert [e["content"] for e in body["to_device"]["events"]] == [{"n": 1}]


async def test_message_is_only_for_its_device(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    bob_phone = await _login(client, bob)
    await _send(client, alice, "t1", {bob.user_id: {bob.device_id: {"n": 1}}})

    body = await _sync(client, bob_phone)
    assert body["to_device"]["events"] == []


async def test_oversized_message_rejected(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    status = await _send(
        client, alice, "big", {bob.user_id: {bob.device_id: {"data": "x" * 70000}}}
    )
    assert status == 413
    body = await _sync(client, bob)
    assert body["to_device"]["events"] == []


async def test_malformed_messages_rejected(client: RawClient) -> None:
    alice = await client.register("alice")
    for index, messages in enumerate(
        ({"not-a-user": {"D": {}}}, {alice.user_id: ["D"]}, {alice.user_id: {"D": 1}})
    ):
        response = await client.request(
            "PUT",
            f"{PREFIX}/sendToDevice/m.test/bad{index}",
            {"messages": messages},
            token=alice.access_token,
        )
        assert response.status == 400, messages
        assert response.body["errcode"] in ("M_INVALID_PARAM", "M_BAD_JSON"), messages


async def test_remote_recipient_is_accepted(client: RawClient) -> None:
    alice = await client.register("alice")
    status = await _send(client, alice, "t1", {"@bob:remote.example": {"D": {"n": 1}}})
    assert status == 200


async def test_deleted_device_loses_its_messages(client: RawClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    bob_phone = await _login(client, bob)
    await _send(client, alice, "t1", {bob.user_id: {bob_phone.device_id: {"n": 1}}})

    response = await client.request(
        "POST", PREFIX + "/logout", {}, token=bob_phone.access_token
    )
    assert response.status == 200
    bob_again = await _login(client, bob)
    body = await _sync(client, bob_again)
    assert body["to_device"]["events"] == []
