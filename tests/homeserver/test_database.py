"""The SQLite wrapper: migrations, transactions and read-after-commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from homeserver.storage.database import Database


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(str(tmp_path / "test.db"), "NORMAL", readers=2)
    await database.open()
    async with database.transaction("create_table") as txn:
        await txn.execute("CREATE TABLE numbers (n INTEGER)")
    try:
        yield database
    finally:
        await database.close()


async def test_read_sees_commit_under_concurrent_reads(db: Database) -> None:
    """A read issued after a commit returns it, even while other reads are running.

    Regression: reads split over several calls to a connection's thread let one
    coroutine's open statement pin an old snapshot for every other reader, so a
    long-poll could miss an event that had just been committed.
    """
    stop = asyncio.Event()

    async def background_reads() -> None:
        while not stop.is_set():
            await db.fetchall("SELECT n FROM numbers ORDER BY n DESC LIMIT 3")

    readers = [asyncio.create_task(background_reads()) for _ in range(4)]
    stale = []
    try:
        for number in range(200):
            async with db.transaction("insert_number") as txn:
                await txn.execute("INSERT INTO numbers VALUES (?)", (number,))
            seen = await db.fetchvalue("SELECT MAX(n) FROM numbers")
            if seen != number:
                stale.append((number, seen))
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert stale == []


async def test_rollback_discards_writes(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction("failing") as txn:
            await txn.execute("INSERT INTO numbers VALUES (1)")
            raise RuntimeError("abort")
    assert await db.fetchvalue("SELECT COUNT(*) FROM numbers") == 0


async def test_after_commit_callback_runs_only_on_commit(db: Database) -> None:
    calls: list[str] = []
    async with db.transaction("ok") as txn:
        txn.call_after_commit(lambda: calls.append("committed"))
    with pytest.raises(RuntimeError):
        async with db.transaction("failing") as txn:
            txn.call_after_commit(lambda: calls.append("rolled back"))
            raise RuntimeError("abort")
    assert calls == ["committed"]


async def test_migrations_recorded_once(tmp_path: Path) -> None:
    path = str(tmp_path / "twice.db")
    for _ in range(2):
        database = Database(path)
        await database.open()
        await database.close()
    database = Database(path)
    await database.open()
    versions = await database.fetchall("SELECT version FROM schema_migrations")
    await database.close()
    numbers = [row[0] for row in versions]
    assert numbers == sorted(set(numbers))
    assert 1 in numbers

