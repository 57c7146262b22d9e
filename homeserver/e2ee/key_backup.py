"""Server-side key backups: encrypted Megolm session keys kept for a user's new devices.

Spec: Client-Server API, "Server-side key backups". A user has numbered backup versions;
the highest version that is not deleted is the current one, and keys can only be stored
into it. The server never decrypts `session_data`. When a session is uploaded again, the
stored copy is replaced only by a better one: a verified key beats an unverified one, then
a lower `first_message_index` wins, then a lower `forwarded_count`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from homeserver.e2ee.errors import WrongRoomKeysVersion
from homeserver.errors import BadJSON, InvalidParam, NotFound
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionKey:
    """One backed-up Megolm session (`KeyBackupData`)."""

    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "first_message_index": self.first_message_index,
            "forwarded_count": self.forwarded_count,
            "is_verified": self.is_verified,
            "session_data": self.session_data,
        }

    def is_better_than(self, other: SessionKey) -> bool:
        """Return whether this key should replace `other` in the backup."""
        if self.is_verified != other.is_verified:
            return self.is_verified
        if self.first_message_index != other.first_message_index:
            return self.first_message_index < other.first_message_index
        return self.forwarded_count < other.forwarded_count


def parse_session_key(data: Any, where: str) -> SessionKey:
    """Check one `KeyBackupData` object; `BadJSON` when a field is missing or mistyped."""
    if not isinstance(data, dict):
        raise BadJSON(f"{where} must be a JSON object")
    first = data.get("first_message_index")
    forwarded = data.get("forwarded_count")
    verified = data.get("is_verified")
    session_data = data.get("session_data")
    for name, value in (("first_message_index", first), ("forwarded_count", forwarded)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadJSON(f"{where}.{name} must be a non-negative integer")
    if not isinstance(verified, bool):
        raise BadJSON(f"{where}.is_verified must be a boolean")
    if not isinstance(session_data, dict):
        raise BadJSON(f"{where}.session_data must be a JSON object")
    return SessionKey(first, forwarded, verified, session_data)


def parse_rooms(rooms: Any) -> dict[str, dict[str, SessionKey]]:
    """Check a {room_id: {"sessions": {session_id: KeyBackupData}}} map."""
    if not isinstance(rooms, dict):
        raise BadJSON("rooms must be a JSON object")
    parsed: dict[str, dict[str, SessionKey]] = {}
    for room_id, room in rooms.items():
        sessions = room.get("sessions") if isinstance(room, dict) else None
        if not isinstance(sessions, dict):
            raise BadJSON(f"rooms[{room_id!r}].sessions must be a JSON object")
        parsed[room_id] = {
            session_id: parse_session_key(data, f"sessions[{session_id!r}]")
            for session_id, data in sessions.items()
        }
    return parsed


def _parse_version(version: str) -> int | None:
    return int(version) if version.isdigit() and len(version) < 18 else None


def _key_filter(
    user_id: str, version: int, room_id: str | None, session_id: str | None
) -> tuple[str, list[Any]]:
    """Return the WHERE clause and parameters selecting keys of a version, room or session."""
    where = "user_id = ? AND version = ?"
    params: list[Any] = [user_id, version]
    if room_id is not None:
        where += " AND room_id = ?"
        params.append(room_id)
    if session_id is not None:
        where += " AND session_id = ?"
        params.append(session_id)
    return where, params


class KeyBackupStore:
    """Backup versions and their keys, per user."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # Versions

    async def create_version(
        self, user_id: str, algorithm: str, auth_data: dict[str, Any]
    ) -> str:
        async with self._db.transaction("create_backup_version") as txn:
            row = await txn.fetchone(
                "SELECT MAX(version) FROM e2e_room_keys_versions WHERE user_id = ?",
                (user_id,),
            )
            version = (row[0] or 0) + 1
            await txn.execute(
                "INSERT INTO e2e_room_keys_versions"
                " (user_id, version, algorithm, auth_data) VALUES (?, ?, ?, ?)",
                (
                    user_id,
                    version,
                    algorithm,
                    json.dumps(auth_data, ensure_ascii=False),
                ),
            )
        logger.info("Created key backup version %d for %s", version, user_id)
        return str(version)

    async def get_version(self, user_id: str, version: str | None) -> dict[str, Any]:
        """Return a version's info; the current version when `version` is None.

        Raises `NotFound` when there is no such version or no backup at all.
        """
        if version is None:
            row = await self._db.fetchone(
                "SELECT version, algorithm, auth_data, etag FROM e2e_room_keys_versions"
                " WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1",
                (user_id,),
            )
            if row is None:
                raise NotFound("No current backup version")
        else:
            number = _parse_version(version)
            row = await self._db.fetchone(
                "SELECT version, algorithm, auth_data, etag FROM e2e_room_keys_versions"
                " WHERE user_id = ? AND version = ? AND deleted = 0",
                (user_id, number),
            )
            if row is None:
                raise NotFound(f"Unknown backup version {version}")
        count = await self._db.fetchvalue(
            "SELECT COUNT(*) FROM e2e_room_keys WHERE user_id = ? AND version = ?",
            (user_id, row[0]),
            default=0,
        )
        return {
            "version": str(row[0]),
            "algorithm": row[1],
            "auth_data": json.loads(row[2]),
            "count": count,
            "etag": str(row[3]),
        }

    async def update_version(
        self, user_id: str, version: str, algorithm: str, auth_data: dict[str, Any]
    ) -> None:
        """Replace a version's `auth_data`; `InvalidParam` if `algorithm` differs."""
        number = _parse_version(version)
        async with self._db.transaction("update_backup_version") as txn:
            row = await txn.fetchone(
                "SELECT algorithm FROM e2e_room_keys_versions"
                " WHERE user_id = ? AND version = ? AND deleted = 0",
                (user_id, number),
            )
            if row is None:
                raise NotFound(f"Unknown backup version {version}")
            if row[0] != algorithm:
                raise InvalidParam(
                    f"Algorithm {algorithm!r} does not match the backup's {row[0]!r}"
                )
            await txn.execute(
                "UPDATE e2e_room_keys_versions SET auth_data = ?"
                " WHERE user_id = ? AND version = ?",
                (json.dumps(auth_data, ensure_ascii=False), user_id, number),
            )

    async def delete_version(self, user_id: str, version: str) -> None:
        """Delete a version and its keys; deleting a deleted version succeeds."""
        number = _parse_version(version)
        async with self._db.transaction("delete_backup_version") as txn:
            row = await txn.fetchone(
                "SELECT deleted FROM e2e_room_keys_versions"
                " WHERE user_id = ? AND version = ?",
                (user_id, number),
            )
            if row is None:
                raise NotFound(f"Unknown backup version {version}")
            await txn.execute(
                "UPDATE e2e_room_keys_versions SET deleted = 1"
                " WHERE user_id = ? AND version = ?",
                (user_id, number),
            )
            await txn.execute(
                "DELETE FROM e2e_room_keys WHERE user_id = ? AND version = ?",
                (user_id, number),
            )
        logger.info("Deleted key backup version %s of %s", version, user_id)

    # Keys

    async def put_keys(
        self, user_id: str, version: str, rooms: dict[str, dict[str, SessionKey]]
    ) -> dict[str, Any]:
        """Store keys into the current version and return its `etag` and `count`.

        Raises `NotFound` without any backup and `WrongRoomKeysVersion` when `version`
        is not the current one.
        """
        async with self._db.transaction("put_backup_keys") as txn:
            row = await txn.fetchone(
                "SELECT version FROM e2e_room_keys_versions"
                " WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1",
                (user_id,),
            )
            if row is None:
                raise NotFound("No current backup version")
            current = row[0]
            if _parse_version(version) != current:
                raise WrongRoomKeysVersion(str(current))
            changed = False
            for room_id, sessions in rooms.items():
                for session_id, key in sessions.items():
                    if await self._put_key(
                        txn, user_id, current, room_id, session_id, key
                    ):
                        changed = True
            if changed:
                await self._bump_etag(txn, user_id, current)
            return await self._etag_and_count(txn, user_id, current)

    async def _put_key(
        self,
        txn: Transaction,
        user_id: str,
        version: int,
        room_id: str,
        session_id: str,
        key: SessionKey,
    ) -> bool:
        row = await txn.fetchone(
            "SELECT first_message_index, forwarded_count, is_verified, session_data"
            " FROM e2e_room_keys WHERE user_id = ? AND version = ? AND room_id = ?"
            " AND session_id = ?",
            (user_id, version, room_id, session_id),
        )
        if row is not None:
            stored = SessionKey(row[0], row[1], bool(row[2]), json.loads(row[3]))
            if not key.is_better_than(stored):
                return False
        await txn.execute(
            "INSERT OR REPLACE INTO e2e_room_keys (user_id, version, room_id,"
            " session_id, first_message_index, forwarded_count, is_verified,"
            " session_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                version,
                room_id,
                session_id,
                key.first_message_index,
                key.forwarded_count,
                int(key.is_verified),
                json.dumps(key.session_data, ensure_ascii=False),
            ),
        )
        return True

    async def get_keys(
        self,
        user_id: str,
        version: str,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Return {room_id: {session_id: KeyBackupData}} for a version, room or session.

        Raises `NotFound` for an unknown or deleted version.
        """
        number = await self._existing_version(user_id, version)
        where, params = _key_filter(user_id, number, room_id, session_id)
        sql = (
            "SELECT room_id, session_id, first_message_index, forwarded_count,"
            " is_verified, session_data FROM e2e_room_keys WHERE " + where
        )
        rooms: dict[str, dict[str, dict[str, Any]]] = {}
        for row in await self._db.fetchall(sql, params):
            key = SessionKey(row[2], row[3], bool(row[4]), json.loads(row[5]))
            rooms.setdefault(row[0], {})[row[1]] = key.to_json()
        return rooms

    async def delete_keys(
        self,
        user_id: str,
        version: str,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete the keys of a version, room or session; return `etag` and `count`."""
        async with self._db.transaction("delete_backup_keys") as txn:
            number = await self._existing_version(user_id, version, txn)
            where, params = _key_filter(user_id, number, room_id, session_id)
            sql = "DELETE FROM e2e_room_keys WHERE " + where
            if await txn.execute_rowcount(sql, params):
                await self._bump_etag(txn, user_id, number)
            return await self._etag_and_count(txn, user_id, number)

    async def _existing_version(
        self, user_id: str, version: str, txn: Transaction | None = None
    ) -> int:
        number = _parse_version(version)
        sql = (
            "SELECT 1 FROM e2e_room_keys_versions"
            " WHERE user_id = ? AND version = ? AND deleted = 0"
        )
        params = (user_id, number)
        row = await (
            txn.fetchone(sql, params) if txn else self._db.fetchone(sql, params)
        )
        if row is None or number is None:
            raise NotFound(f"Unknown backup version {version}")
        return number

    async def _bump_etag(self, txn: Transaction, user_id: str, version: int) -> None:
        await txn.execute(
            "UPDATE e2e_room_keys_versions SET etag = etag + 1"
            " WHERE user_id = ? AND version = ?",
            (user_id, version),
        )

    async def _etag_and_count(
        self, txn: Transaction, user_id: str, version: int
    ) -> dict[str, Any]:
        row = await txn.fetchone(
            "SELECT v.etag, (SELECT COUNT(*) FROM e2e_room_keys k"
            " WHERE k.user_id = v.user_id AND k.version = v.version)"
            " FROM e2e_room_keys_versions v WHERE v.user_id = ? AND v.version = ?",
            (user_id, version),
        )
        assert row is not None
        return {"etag": str(row[0]), "count": row[1]}
