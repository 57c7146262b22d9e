"""Local media storage: content addressing, atomic commit and cleanup on failure."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from homeserver.media.storage import ContentTooLarge, LocalMediaStorage


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def temp_files(root: Path) -> list[str]:
    return os.listdir(root / "tmp")


async def test_stage_and_commit(tmp_path: Path) -> None:
    storage = LocalMediaStorage(str(tmp_path))
    staged = await storage.stage(chunks(b"hello ", b"world"), max_size=100)
    digest = hashlib.sha256(b"hello world").hexdigest()
    assert staged.sha256 == digest
    assert staged.size == 11
    assert not await storage.exists(digest)
    await storage.commit(staged)
    assert await storage.exists(digest)
    with storage.open(digest) as file:
        assert file.read() == b"hello world"
    assert Path(storage.path_of(digest)).relative_to(tmp_path).parts[:3] == (
        "content",
        digest[:2],
        digest[2:4],
    )
    assert temp_files(tmp_path) == []


async def test_identical_content_stored_once(tmp_path: Path) -> None:
    storage = LocalMediaStorage(str(tmp_path))
    first = await storage.stage(chunks(b"same"), max_size=100)
    second = await storage.stage(chunks(b"same"), max_size=100)
    await storage.commit(first)
    await storage.commit(second)
    files = [name for _, _, names in os.walk(tmp_path / "content") for name in names]
    assert files == [first.sha256]
    assert temp_files(tmp_path) == []


async def test_too_large_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalMediaStorage(str(tmp_path))
    with pytest.raises(ContentTooLarge):
        await storage.stage(chunks(b"x" * 60, b"y" * 60), max_size=100)
    assert temp_files(tmp_path) == []


async def test_interrupted_stream_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalMediaStorage(str(tmp_path))
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"partial data"
        started.set()
        await asyncio.sleep(3600)
        yield b"never"

    task = asyncio.create_task(storage.stage(stalled(), max_size=1000))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert temp_files(tmp_path) == []


async def test_path_rejects_non_digest(tmp_path: Path) -> None:
    storage = LocalMediaStorage(str(tmp_path))
    with pytest.raises(ValueError):
        storage.path_of("../../etc/passwd")
