"""The SQLite database: one writer connection, a few reader connections, migrations.

SQLite runs in WAL mode, so readers never block the writer and see only committed data. All
writes go through `Database.transaction(name)`, which holds the single writer connection for the
duration of one `BEGIN IMMEDIATE ... COMMIT`. The name shows up in debug logs with the time the
transaction took.

With `synchronous=FULL` (the default) a commit has reached the disk when `transaction()` returns,
so a request may be answered right after it. `NORMAL` survives a crash of the server process but
not of the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sqlite3
import time
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, AsyncIterator, Iterable, Sequence

import aiosqlite

logger = logging.getLogger(__name__)

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]

# The migrations are SQL files named NNNN_description.sql in homeserver/storage/schema.
_SCHEMA_PACKAGE = "homeserver.storage.schema"


class Transaction:
    """Statements on the writer connection inside one open transaction."""

    def __init__(self, connection: aiosqlite.Connection, name: str) -> None:
        self._connection = connection
        self.name = name
        self._after_commit: list[Any] = []

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement and return its lastrowid."""
        cursor = await self._connection.execute(sql, params)
        rowid = cursor.lastrowid
        await cursor.close()
        return rowid or 0

    async def execute_rowcount(self, sql: str, params: Params = ()) -> int:
        cursor = await self._connection.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._connection.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._connection.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    def call_after_commit(self, callback: Any) -> None:
        """Run `callback()` once the transaction has committed, never on rollback."""
        self._after_commit.append(callback)


class Database:
    """The embedded SQLite database of the homeserver."""

    def __init__(self, path: str, synchronous: str = "FULL", readers: int = 2) -> None:
        self.path = path
        self.synchronous = synchronous
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._reader_cycle: Iterable[aiosqlite.Connection] = iter(())
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        self._writer = await self._connect()
        await self._migrate()
        for _ in range(self._reader_count):
            reader = await self._connect()
            await reader.execute_fetchall("PRAGMA query_only = ON")
            self._readers.append(reader)
        self._reader_cycle = itertools.cycle(self._readers)
        logger.info("Opened database %s", self.path)

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        await connection.execute_fetchall("PRAGMA journal_mode = WAL")
        await connection.execute_fetchall(f"PRAGMA synchronous = {self.synchronous}")
        await connection.execute_fetchall("PRAGMA foreign_keys = ON")
        await connection.execute_fetchall("PRAGMA busy_timeout = 10000")
        await connection.execute_fetchall("PRAGMA cache_size = -16000")
        return connection

    async def close(self) -> None:
        for reader in self._readers:
            await reader.close()
        self._readers = []
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        logger.info("Closed database %s", self.path)

    async def _migrate(self) -> None:
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
            " applied_ts INTEGER NOT NULL)"
        )
        async with self._writer.execute(
            "SELECT version FROM schema_migrations"
        ) as cursor:
            applied = {row[0] for row in await cursor.fetchall()}
        for version, description, sql in _load_migrations():
            if version in applied:
                continue
            logger.info("Applying database migration %04d: %s", version, description)
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_statements(sql):
                    await self._writer.execute(statement)
                await self._writer.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, description, int(time.time() * 1000)),
                )
                await self._writer.execute("COMMIT")
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[Transaction]:
        """Open a write transaction; it commits when the block exits without error."""
        assert self._writer is not None, "database is not open"
        async with self._write_lock:
            started = time.perf_counter()
            txn = Transaction(self._writer, name)
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield txn
            except BaseException:
                await self._writer.execute("ROLLBACK")
                logger.debug("Transaction %s rolled back", name)
                raise
            await self._writer.execute("COMMIT")
            logger.debug(
                "Transaction %s committed in %.1f ms",
                name,
                (time.perf_counter() - started) * 1000,
            )
        for callback in txn._after_commit:
            callback()

    def _reader(self) -> aiosqlite.Connection:
        return next(iter(self._reader_cycle))

    # Each read runs and finishes its statement in a single call to the connection's
    # thread. A statement left open between calls would keep the connection's read
    # transaction, and with it a snapshot older than the latest commit, alive for every
    # other coroutine reading through the same connection.

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._reader().execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._reader().execute_fetchall(sql, params))

    async def fetchvalue(self, sql: str, params: Params = (), default: Any = None) -> Any:
        row = await self.fetchone(sql, params)
        if row is None or row[0] is None:
            return default
        return row[0]


def stored_server_name(path: str) -> str | None:
    """Return the server name a database was created for, or None if not recorded."""
    if not os.path.exists(path):
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute(
            "SELECT value FROM server_settings WHERE name = 'server_name'"
        ).fetchone()
    except sqlite3.OperationalError:
        # A database from before the settings table existed.
        return None
    finally:
        connection.close()
    return row[0] if row else None


def _load_migrations() -> list[tuple[int, str, str]]:
    migrations = []
    for entry in resources.files(_SCHEMA_PACKAGE).iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name[:-4].partition("_")
        migrations.append(
            (int(number), rest.replace("_", " "), entry.read_text(encoding="utf-8"))
        )
    migrations.sort()
    return migrations


def _split_statements(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
