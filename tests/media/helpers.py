"""Shared helpers for the media tests: images built with Pillow and admin users."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

from PIL import Image

from homeserver.accounts.shared_secret import compute_mac
from tests.client import RawClient, User
from tests.serverproc import ServerProcess

MakeServer = Callable[..., ServerProcess]
"""The `make_server` fixture: starts a server with `media=` and other overrides."""
ConnectClient = Callable[[ServerProcess], RawClient]
"""The `raw_client` fixture: a `RawClient` for a server, closed at teardown."""

UPLOAD = "/_matrix/media/v3/upload"
DOWNLOAD = "/_matrix/client/v1/media/download"
THUMBNAIL = "/_matrix/client/v1/media/thumbnail"


def png_bytes(
    width: int, height: int, color: tuple[int, int, int] = (200, 30, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_orientation(width: int, height: int, orientation: int) -> bytes:
    """Return a JPEG whose EXIF orientation tag tells viewers to rotate it."""
    image = Image.new("RGB", (width, height), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCamera"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def animated_gif(width: int, height: int, frames: int) -> bytes:
    images = [
        Image.new("RGB", (width, height), (index * 60 % 256, 100, 150))
        for index in range(frames)
    ]
    buffer = io.BytesIO()
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0
    )
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims `width` x `height` pixels: a decompression bomb shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def upload(
    client: RawClient,
    user: User,
    data: bytes,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
) -> str:
    """Upload `data` and return the media ID; fail the test on a non-200 response."""
    params = {"filename": filename} if filename else None
    response = await client.request(
        "POST",
        UPLOAD,
        data=data,
        token=user.access_token,
        headers={"Content-Type": content_type},
        params=params,
    )
    assert response.status == 200, response.body
    uri = response.body["content_uri"]
    assert uri.startswith("mxc://")
    return uri.rsplit("/", 1)[1]


async def register_admin(client: RawClient, server: ServerProcess, name: str) -> User:
    """Create an admin through shared-secret registration."""
    path = "/_synapse/admin/v1/register"
    nonce = (await client.request("GET", path)).body["nonce"]
    password = "admin password"
    body = {
        "nonce": nonce,
        "username": name,
        "password": password,
        "admin": True,
        "mac": compute_mac(server.shared_secret, nonce, name, password, True),
    }
    response = await client.request("POST", path, body)
    assert response.status == 200, response.body
    return User(
        response.body["user_id"],
        response.body["access_token"],
        response.body["device_id"],
        password,
    )
