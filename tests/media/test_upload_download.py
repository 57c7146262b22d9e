"""Upload and download through a real server: bytes, headers, ranges, ETags, limits."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tests.client import RawClient
from tests.media.helpers import (
    DOWNLOAD,
    UPLOAD,
    ConnectClient,
    MakeServer,
    png_bytes,
    upload,
)
from tests.serverproc import ServerProcess

CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
    " style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)


async def test_image_round_trip(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    data = png_bytes(300, 200)
    media_id = await upload(client, alice, data, "image/png", "cat.png")

    response = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert response.status == 200
    assert response.body == data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'inline; filename="cat.png"'
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


async def test_file_served_as_attachment(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    data = b"<script>alert(1)</script>"
    media_id = await upload(client, alice, data, "text/html", "page.html")

    response = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert response.status == 200
    assert response.body == data
    assert response.headers["Content-Disposition"] == 'attachment; filename="page.html"'


async def test_download_filename_override(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, b"plain text", "text/plain")
    response = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}/notes.txt", token=alice.access_token
    )
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'inline; filename="notes.txt"'


async def test_missing_content_type_defaults(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "POST",
        UPLOAD,
        data=b"raw",
        token=alice.access_token,
        headers={"Content-Type": ""},
    )
    assert response.status == 200
    media_id = response.body["content_uri"].rsplit("/", 1)[1]
    download = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"] == "attachment"


async def test_download_requires_token(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, b"secret")
    response = await client.request("GET", f"{DOWNLOAD}/localhost/{media_id}")
    assert response.status == 401
    assert response.body["errcode"] == "M_MISSING_TOKEN"


async def test_range_requests(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    data = os.urandom(1000)
    media_id = await upload(client, alice, data)
    path = f"{DOWNLOAD}/localhost/{media_id}"

    cases = [
        ("bytes=0-99", data[0:100], "bytes 0-99/1000"),
        ("bytes=500-", data[500:], "bytes 500-999/1000"),
        ("bytes=-10", data[990:], "bytes 990-999/1000"),
        ("bytes=990-5000", data[990:], "bytes 990-999/1000"),
    ]
    for header, expected, content_range in cases:
        response = await client.request(
            "GET", path, token=alice.access_token, headers={"Range": header}
        )
        assert response.status == 206, header
        assert response.body == expected, header
        assert response.headers["Content-Range"] == content_range, header

    unsatisfiable = await client.request(
        "GET", path, token=alice.access_token, headers={"Range": "bytes=1000-"}
    )
    assert unsatisfiable.status == 416
    assert unsatisfiable.headers["Content-Range"] == "bytes */1000"

    several = await client.request(
        "GET", path, token=alice.access_token, headers={"Range": "bytes=0-1,5-6"}
    )
    assert several.status == 200
    assert several.body == data


async def test_etag_not_modified(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, b"cache me", "text/plain")
    path = f"{DOWNLOAD}/localhost/{media_id}"
    first = await client.request("GET", path, token=alice.access_token)
    etag = first.headers["ETag"]

    second = await client.request(
        "GET", path, token=alice.access_token, headers={"If-None-Match": etag}
    )
    assert second.status == 304
    assert not second.body
    assert second.headers["ETag"] == etag

    changed = await client.request(
        "GET", path, token=alice.access_token, headers={"If-None-Match": '"other"'}
    )
    assert changed.status == 200


async def test_identical_uploads_share_blob(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    data = os.urandom(5000)
    first = await upload(client, alice, data)
    second = await upload(client, alice, data)
    assert first != second
    content_dir = Path(server.config["data_dir"]) / "media" / "content"
    blobs = [name for _, _, names in os.walk(content_dir) for name in names]
    assert len(blobs) == 1


async def test_unknown_and_malformed_ids(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    unknown = await client.request(
        "GET", f"{DOWNLOAD}/localhost/doesNotExist", token=alice.access_token
    )
    assert unknown.status == 404
    assert unknown.body["errcode"] == "M_NOT_FOUND"

    malformed = await client.request(
        "GET", f"{DOWNLOAD}/localhost/bad%2E%2Eid", token=alice.access_token
    )
    assert malformed.status == 400
    assert malformed.body["errcode"] == "M_INVALID_PARAM"

    remote = await client.request(
        "GET", f"{DOWNLOAD}/other.example/abcdef", token=alice.access_token
    )
    assert remote.status == 404
    assert remote.body["errcode"] == "M_NOT_FOUND"


async def test_media_config(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    response = await client.request(
        "GET", "/_matrix/client/v1/media/config", token=alice.access_token
    )
    assert response.status == 200
    assert response.body == {"m.upload.size": 50 * 1024 * 1024}


async def test_unauthenticated_download_frozen(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    # Media created before the cutoff stays public; everything else needs a token.
    server = make_server(media={"unauthenticated_download_cutoff_ts": 0})
    client = raw_client(server)
    alice = await client.register("alice")
    media_id = await upload(client, alice, b"new media", "text/plain")
    response = await client.request(
        "GET", f"/_matrix/media/v3/download/localhost/{media_id}"
    )
    assert response.status == 404
    assert response.body["errcode"] == "M_NOT_FOUND"

    future_cutoff = int(time.time() * 1000) + 3_600_000
    open_server = make_server(
        media={"unauthenticated_download_cutoff_ts": future_cutoff}
    )
    open_client = raw_client(open_server)
    bob = await open_client.register("bob")
    old_id = await upload(open_client, bob, b"old media", "text/plain")
    legacy = await open_client.request(
        "GET", f"/_matrix/media/v3/download/localhost/{old_id}"
    )
    assert legacy.status == 200
    assert legacy.body == b"old media"


async def test_oversized_upload_by_length(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(media={"max_upload_size": 1000})
    client = raw_client(server)
    alice = await client.register("alice")
    response = await client.request(
        "POST", UPLOAD, data=b"x" * 1001, token=alice.access_token
    )
    assert response.status == 413
    assert response.body["errcode"] == "M_TOO_LARGE"
    accepted = await client.request(
        "POST", UPLOAD, data=b"x" * 1000, token=alice.access_token
    )
    assert accepted.status == 200


async def test_oversized_chunked_upload(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(media={"max_upload_size": 1000})
    client = raw_client(server)
    alice = await client.register("alice")

    async def body():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"y" * 400

    response = await client.request(
        "POST", UPLOAD, data=body(), token=alice.access_token
    )
    assert response.status == 413
    assert response.body["errcode"] == "M_TOO_LARGE"
    media_dir = Path(server.config["data_dir"]) / "media"
    assert os.listdir(media_dir / "tmp") == []
    blobs = [name for _, _, names in os.walk(media_dir / "content") for name in names]
    assert blobs == []


async def _raw_exchange(port: int, head: bytes, body: bytes | None = None) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    if body is not None:
        writer.write(body)
    await writer.drain()
    received = b""
    try:
        while b"M_TOO_LARGE" not in received:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=10)
            if not chunk:
                break
            received += chunk
    finally:
        writer.close()
    return received


async def test_expect_continue_gets_413(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(media={"max_upload_size": 1000})
    client = raw_client(server)
    alice = await client.register("alice")
    head = (
        "POST /_matrix/media/v3/upload HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {alice.access_token}\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Length: 10000000\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    # The client waits for the interim response and sends no body at all.
    received = await _raw_exchange(server.port, head)
    # Hypercorn 0.18 sends "100 Continue" itself as soon as it has parsed the headers,
    # before the route runs, so the 413 follows it on the same connection.
    if received.startswith(b"HTTP/1.1 100"):
        received = received.split(b"\r\n\r\n", 1)[1]
    assert received.startswith(b"HTTP/1.1 413"), received
    assert b"M_TOO_LARGE" in received


async def test_interrupted_upload_leaves_nothing(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server()
    client = raw_client(server)
    alice = await client.register("alice")
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        (
            "POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.access_token}\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
        + b"z" * 40000
    )
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()
    await asyncio.sleep(1.0)

    media_dir = Path(server.config["data_dir"]) / "media"
    assert os.listdir(media_dir / "tmp") == []
    blobs = [name for _, _, names in os.walk(media_dir / "content") for name in names]
    assert blobs == []
    listing = await client.request(
        "GET", "/_matrix/client/v1/media/config", token=alice.access_token
    )
    assert listing.status == 200
