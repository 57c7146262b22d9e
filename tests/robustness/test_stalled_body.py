"""A client that announces a body and stops sending it gets 408, not a held request."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.client import RawClient
from tests.serverproc import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(
        Path(tmp_path_factory.mktemp("stalled")),
        overrides={"request_body_timeout_seconds": 1},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _send_partial_body(
    server: ServerProcess, path: str, token: str | None
) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.monotonic()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{auth}"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\""
        ).encode()
    )
    await writer.drain()
    try:
        response = await asyncio.wait_for(_read_response(reader), timeout=15)
    finally:
        writer.close()
    return response, time.monotonic() - started


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    """Read one HTTP response: the head, then the number of bytes given by Content-Length.

    The head and the body may arrive in separate reads.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length)
    return head + body


@pytest.mark.parametrize(
    "path", ["/_matrix/client/v3/register", "/_matrix/media/v3/upload"]
)
async def test_stalled_body_times_out(server: ServerProcess, path: str) -> None:
    client = RawClient(server.base_url)
    try:
        user = await client.register(f"stalled{abs(hash(path)) % 10000}")
    finally:
        await client.close()
    response, elapsed = await _send_partial_body(server, path, user.access_token)
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    assert b" 408 " in status_line, status_line
    assert json.loads(body)["errcode"] == "M_UNKNOWN"
    assert elapsed < 10
