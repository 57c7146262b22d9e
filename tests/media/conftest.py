"""Fixtures for media tests: servers with media settings of the test's choosing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client import RawClient
from tests.serverproc import ServerProcess


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start a homeserver with `media` overrides; stopped at teardown."""
    started: list[ServerProcess] = []

    def start(media: dict[str, Any] | None = None, **overrides: Any) -> ServerProcess:
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        if media is not None:
            overrides["media"] = media
        process = ServerProcess(directory, overrides=overrides)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
async def raw_client() -> AsyncIterator[Callable[[ServerProcess], RawClient]]:
    clients: list[RawClient] = []

    def connect(server: ServerProcess) -> RawClient:
        client = RawClient(server.base_url)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()
