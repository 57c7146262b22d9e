"""Admin media routes and the retention job, through a real server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.client import RawClient
from tests.media.helpers import (
    DOWNLOAD,
    THUMBNAIL,
    ConnectClient,
    MakeServer,
    png_bytes,
    register_admin,
    upload,
)
from tests.serverproc import ServerProcess


def blob_count(server: ServerProcess) -> int:
    content = Path(server.config["data_dir"]) / "media" / "content"
    return sum(len(names) for _, _, names in os.walk(content))


async def test_quarantine_hides_media(server: ServerProcess, client: RawClient) -> None:
    admin = await register_admin(client, server, "admin")
    alice = await client.register("alice")
    media_id = await upload(client, alice, png_bytes(200, 200), "image/png")

    refused = await client.request(
        "POST",
        f"/_synapse/admin/v1/media/quarantine/localhost/{media_id}",
        token=alice.access_token,
    )
    assert refused.status == 403
    assert refused.body["errcode"] == "M_FORBIDDEN"

    response = await client.request(
        "POST",
        f"/_synapse/admin/v1/media/quarantine/localhost/{media_id}",
        token=admin.access_token,
    )
    assert response.status == 200

    download = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert download.status == 404
    assert download.body["errcode"] == "M_NOT_FOUND"
    thumbnail = await client.request(
        "GET",
        f"{THUMBNAIL}/localhost/{media_id}",
        token=alice.access_token,
        params={"width": "32", "height": "32"},
    )
    assert thumbnail.status == 404


async def test_delete_and_list(server: ServerProcess, client: RawClient) -> None:
    admin = await register_admin(client, server, "admin")
    alice = await client.register("alice")
    first = await upload(client, alice, b"first file", "text/plain", "one.txt")
    second = await upload(client, alice, b"second file", "text/plain")

    listing = await client.request(
        "GET",
        f"/_synapse/admin/v1/users/{alice.user_id}/media",
        token=admin.access_token,
    )
    assert listing.status == 200
    assert listing.body["total"] == 2
    assert {item["media_id"] for item in listing.body["media"]} == {first, second}
    named = next(item for item in listing.body["media"] if item["media_id"] == first)
    assert named["upload_name"] == "one.txt"
    assert named["media_length"] == len(b"first file")

    blobs_before = blob_count(server)
    deleted = await client.request(
        "DELETE",
        f"/_synapse/admin/v1/media/localhost/{first}",
        token=admin.access_token,
    )
    assert deleted.status == 200
    assert deleted.body == {"deleted_media": [first], "total": 1}
    assert blob_count(server) == blobs_before - 1

    gone = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{first}", token=alice.access_token
    )
    assert gone.status == 404
    again = await client.request(
        "DELETE",
        f"/_synapse/admin/v1/media/localhost/{first}",
        token=admin.access_token,
    )
    assert again.status == 404


async def test_delete_keeps_shared_blob(
    server: ServerProcess, client: RawClient
) -> None:
    admin = await register_admin(client, server, "admin")
    alice = await client.register("alice")
    first = await upload(client, alice, b"shared bytes")
    second = await upload(client, alice, b"shared bytes")
    await client.request(
        "DELETE",
        f"/_synapse/admin/v1/media/localhost/{first}",
        token=admin.access_token,
    )
    remaining = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{second}", token=alice.access_token
    )
    assert remaining.status == 200
    assert remaining.body == b"shared bytes"


async def test_retention_deletes_unused(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(
        media={
            "local_media_lifetime_seconds": 2,
            "unused_expiry_seconds": 1,
            "retention_interval_seconds": 0.5,
            "thumbnail_sizes": [],
        }
    )
    client = raw_client(server)
    alice = await client.register("alice")
    unused = await upload(client, alice, b"nobody downloads this")
    used = await upload(client, alice, b"downloaded every half second")
    pending = (
        (
            await client.request(
                "POST", "/_matrix/media/v1/create", token=alice.access_token
            )
        )
        .body["content_uri"]
        .rsplit("/", 1)[1]
    )
    assert blob_count(server) == 2

    for _ in range(8):
        response = await client.request(
            "GET", f"{DOWNLOAD}/localhost/{used}", token=alice.access_token
        )
        assert response.status == 200
        await asyncio.sleep(0.5)

    gone = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{unused}", token=alice.access_token
    )
    assert gone.status == 404
    kept = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{used}", token=alice.access_token
    )
    assert kept.status == 200
    expired = await client.request(
        "GET",
        f"{DOWNLOAD}/localhost/{pending}",
        token=alice.access_token,
        params={"timeout_ms": "0"},
    )
    assert expired.status == 404
    assert blob_count(server) == 1
