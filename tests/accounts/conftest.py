"""Fixtures for account tests that need a server with a non-default config."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from tests.client import RawClient
from tests.serverproc import ServerProcess


@pytest.fixture
def custom_server(
    tmp_path: Path,
) -> Callable[..., Any]:
    """Return an async context manager that runs a server with config `overrides`."""

    @asynccontextmanager
    async def run(
        overrides: dict[str, Any],
    ) -> AsyncIterator[tuple[ServerProcess, RawClient]]:
        directory = tmp_path / "custom"
        directory.mkdir()
        process = ServerProcess(directory, overrides=overrides)
        process.start()
        client = RawClient(process.base_url)
        try:
            yield process, client
        finally:
            await client.close()
            process.stop()

    return run
