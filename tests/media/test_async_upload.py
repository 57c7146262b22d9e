"""Asynchronous uploads: POST /_matrix/media/v1/create, then PUT the content."""

from __future__ import annotations

import asyncio
import time

from tests.client import RawClient
from tests.media.helpers import DOWNLOAD, ConnectClient, MakeServer
from tests.serverproc import ServerProcess

CREATE = "/_matrix/media/v1/create"


async def create(client: RawClient, token: str) -> str:
    response = await client.request("POST", CREATE, token=token)
    assert response.status == 200, response.body
    return response.body["content_uri"].rsplit("/", 1)[1]


async def test_create_then_upload(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    before = int(time.time() * 1000)
    response = await client.request("POST", CREATE, token=alice.access_token)
    assert response.status == 200
    assert response.body["content_uri"].startswith("mxc://localhost/")
    expires = response.body["unused_expires_at"]
    assert before + 23 * 3600 * 1000 < expires <= before + 25 * 3600 * 1000
    media_id = response.body["content_uri"].rsplit("/", 1)[1]

    put = await client.request(
        "PUT",
        f"/_matrix/media/v3/upload/localhost/{media_id}",
        data=b"later content",
        token=alice.access_token,
        headers={"Content-Type": "text/plain"},
        params={"filename": "later.txt"},
    )
    assert put.status == 200
    assert put.body == {}

    download = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert download.status == 200
    assert download.body == b"later content"
    assert download.headers["Content-Disposition"] == 'inline; filename="later.txt"'

    again = await client.request(
        "PUT",
        f"/_matrix/media/v3/upload/localhost/{media_id}",
        data=b"overwrite",
        token=alice.access_token,
    )
    assert again.status == 409
    assert again.body["errcode"] == "M_CANNOT_OVERWRITE_MEDIA"


async def test_other_user_cannot_upload(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    media_id = await create(client, alice.access_token)
    response = await client.request(
        "PUT",
        f"/_matrix/media/v3/upload/localhost/{media_id}",
        data=b"bob's bytes",
        token=bob.access_token,
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"


async def test_unknown_id_upload(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "PUT",
        "/_matrix/media/v3/upload/localhost/neverCreated",
        data=b"x",
        token=alice.access_token,
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"


async def test_pending_cap(make_server: MakeServer, raw_client: ConnectClient) -> None:
    server = make_server(media={"max_pending_uploads": 2})
    client = raw_client(server)
    alice = await client.register("alice")
    await create(client, alice.access_token)
    await create(client, alice.access_token)
    third = await client.request("POST", CREATE, token=alice.access_token)
    assert third.status == 429
    assert third.body["errcode"] == "M_LIMIT_EXCEEDED"
    assert third.body["retry_after_ms"] > 0

    bob = await client.register("bob")
    assert (await client.request("POST", CREATE, token=bob.access_token)).status == 200


async def test_download_waits_for_upload(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    media_id = await create(client, alice.access_token)

    timed_out = await client.request(
        "GET",
        f"{DOWNLOAD}/localhost/{media_id}",
        token=alice.access_token,
        params={"timeout_ms": "300"},
    )
    assert timed_out.status == 504
    assert timed_out.body["errcode"] == "M_NOT_YET_UPLOADED"

    waiting = asyncio.create_task(
        client.request(
            "GET",
            f"{DOWNLOAD}/localhost/{media_id}",
            token=alice.access_token,
            params={"timeout_ms": "10000"},
        )
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    put = await client.request(
        "PUT",
        f"/_matrix/media/v3/upload/localhost/{media_id}",
        data=b"arrived",
        token=alice.access_token,
    )
    assert put.status == 200
    download = await asyncio.wait_for(waiting, timeout=10)
    assert download.status == 200
    assert download.body == b"arrived"


async def test_expired_id_rejected(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(media={"unused_expiry_seconds": 1})
    client = raw_client(server)
    alice = await client.register("alice")
    media_id = await create(client, alice.access_token)
    await asyncio.sleep(1.2)
    response = await client.request(
        "PUT",
        f"/_matrix/media/v3/upload/localhost/{media_id}",
        data=b"too late",
        token=alice.access_token,
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"
