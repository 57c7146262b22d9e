"""One homeserver per test module: every test registers users with unique names."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.serverproc import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("homeserver"))
    process.start()
    try:
        yield process
    finally:
        process.stop()
