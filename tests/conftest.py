"""Shared fixtures: a real homeserver process and a raw HTTP client."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from tests.client import RawClient
from tests.serverproc import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh homeserver with open registration and no rate limits."""
    process = ServerProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[RawClient]:
    raw = RawClient(server.base_url)
    try:
        yield raw
    finally:
        await raw.close()
