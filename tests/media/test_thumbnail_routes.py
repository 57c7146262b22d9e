"""Thumbnails through a real server, checked by decoding them with Pillow."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from tests.client import RawClient, Response, User
from tests.media.helpers import (
    THUMBNAIL,
    ConnectClient,
    MakeServer,
    animated_gif,
    png_bytes,
    png_header_only,
    upload,
)
from tests.serverproc import ServerProcess


async def get_thumbnail(
    client: RawClient, user: User, media_id: str, **params: str
) -> Response:
    return await client.request(
        "GET",
        f"{THUMBNAIL}/localhost/{media_id}",
        token=user.access_token,
        params=params,
    )


async def test_requested_sizes(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, png_bytes(1600, 1000), "image/png")
    cases = [
        # (width, height, method) -> size of the returned image
        (("32", "32", "crop"), (32, 32)),
        (("96", "96", "crop"), (96, 96)),
        (("50", "70", "crop"), (50, 70)),
        (("320", "240", "scale"), (320, 200)),
        (("300", "200", "scale"), (320, 200)),
        (("700", "500", "scale"), (800, 500)),
        (("1000", "900", "scale"), (1000, 625)),
        (("5000", "5000", "scale"), (1600, 1000)),
    ]
    for (width, height, method), expected in cases:
        response = await get_thumbnail(
            client, alice, media_id, width=width, height=height, method=method
        )
        assert response.status == 200, (width, height, method, response.body)
        image = Image.open(io.BytesIO(response.body))
        assert image.size == expected, (width, height, method)
        assert response.headers["Content-Type"] == "image/jpeg"
        assert (
            response.headers["Content-Disposition"]
            == 'inline; filename="thumbnail.jpg"'
        )


async def test_thumbnail_cached(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, png_bytes(400, 400), "image/png")
    first = await get_thumbnail(client, alice, media_id, width="90", height="90")
    second = await get_thumbnail(client, alice, media_id, width="90", height="90")
    assert first.headers["ETag"] == second.headers["ETag"]
    not_modified = await client.request(
        "GET",
        f"{THUMBNAIL}/localhost/{media_id}",
        token=alice.access_token,
        params={"width": "90", "height": "90"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert not_modified.status == 304


async def test_transparent_image_keeps_alpha(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(buffer, "PNG")
    media_id = await upload(client, alice, buffer.getvalue(), "image/png")
    response = await get_thumbnail(client, alice, media_id, width="96", height="96")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.body)).mode == "RGBA"


async def test_animated_thumbnail(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, animated_gif(300, 300, 3), "image/gif")
    animated = await get_thumbnail(
        client, alice, media_id, width="96", height="96", method="crop", animated="true"
    )
    assert animated.status == 200
    assert animated.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(animated.body)).n_frames == 3

    static = await get_thumbnail(
        client,
        alice,
        media_id,
        width="96",
        height="96",
        method="crop",
        animated="false",
    )
    assert static.headers["Content-Type"] == "image/jpeg"


async def test_non_image_rejected(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, b"%PDF-1.4 not an image", "application/pdf")
    response = await get_thumbnail(client, alice, media_id, width="96", height="96")
    assert response.status == 400
    assert response.body["errcode"] == "M_UNKNOWN"
    assert "not an image" in response.body["error"]


async def test_decompression_bomb_rejected(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    # 100 million pixels pass Pillow's own limit but not the default 32 million of ours;
    # 3.6 billion pixels are also caught by Pillow when it reads the header.
    for width, height in ((10_000, 10_000), (60_000, 60_000)):
        bomb = png_header_only(width, height)
        media_id = await upload(client, alice, bomb, "image/png")
        response = await get_thumbnail(client, alice, media_id, width="96", height="96")
        assert response.status == 413, (width, height)
        assert response.body["errcode"] == "M_TOO_LARGE", (width, height)
        assert "too large to thumbnail" in response.body["error"], (width, height)


async def test_truncated_image_rejected(
    server: ServerProcess, client: RawClient
) -> None:
    alice = await client.register("alice")
    buffer = io.BytesIO()
    Image.effect_noise((500, 500), 40).convert("RGB").save(buffer, "JPEG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 3]
    media_id = await upload(client, alice, truncated, "image/jpeg")
    response = await get_thumbnail(client, alice, media_id, width="96", height="96")
    assert response.status == 400
    assert response.body["errcode"] == "M_UNKNOWN"
    # The server keeps working after the bad image.
    good = await upload(client, alice, png_bytes(200, 200), "image/png")
    assert (
        await get_thumbnail(client, alice, good, width="96", height="96")
    ).status == 200


async def test_invalid_parameters(server: ServerProcess, client: RawClient) -> None:
    alice = await client.register("alice")
    media_id = await upload(client, alice, png_bytes(200, 200), "image/png")
    cases = [
        {"width": "0", "height": "10"},
        {"width": "abc", "height": "10"},
        {"height": "10"},
        {"width": "10", "height": "10", "method": "stretch"},
    ]
    for params in cases:
        response = await get_thumbnail(client, alice, media_id, **params)
        assert response.status == 400, params
        assert response.body["errcode"] == "M_INVALID_PARAM", params


async def test_configured_sizes_pregenerated(
    make_server: MakeServer, raw_client: ConnectClient
) -> None:
    server = make_server(
        media={"thumbnail_sizes": [{"width": 64, "height": 64, "method": "crop"}]}
    )
    client = raw_client(server)
    alice = await client.register("alice")
    media_id = await upload(client, alice, png_bytes(500, 500), "image/png")
    data_dir = server.config["data_dir"]
    import sqlite3

    count = 0
    for _ in range(50):
        with sqlite3.connect(f"{data_dir}/homeserver.db") as connection:
            count = connection.execute(
                "SELECT COUNT(*) FROM media_thumbnails WHERE media_id = ?", (media_id,)
            ).fetchone()[0]
        if count:
            break
        await asyncio.sleep(0.1)
    assert count == 1
