"""SQL for users, devices and profile fields.

Reads go through the database's reader connections; writes take the caller's open
`Transaction`, so one request's changes commit together.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

from homeserver.storage.database import Database, Row, Transaction


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    password_hash: str | None
    admin: bool
    deactivated: bool
    displayname: str | None
    avatar_url: str | None
    user_type: str | None


@dataclass(frozen=True)
class DeviceRecord:
    user_id: str
    device_id: str
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None


_USER_COLUMNS = (
    "user_id, password_hash, admin, deactivated, displayname, avatar_url, user_type"
)
_DEVICE_COLUMNS = "user_id, device_id, display_name, last_seen_ts, last_seen_ip"


def _user(row: Row | None) -> UserRecord | None:
    if row is None:
        return None
    return UserRecord(
        user_id=row["user_id"],
        password_hash=row["password_hash"],
        admin=bool(row["admin"]),
        deactivated=bool(row["deactivated"]),
        displayname=row["displayname"],
        avatar_url=row["avatar_url"],
        user_type=row["user_type"],
    )


def _device(row: Row) -> DeviceRecord:
    return DeviceRecord(
        user_id=row["user_id"],
        device_id=row["device_id"],
        display_name=row["display_name"],
        last_seen_ts=row["last_seen_ts"],
        last_seen_ip=row["last_seen_ip"],
    )


class AccountStore:
    """Queries and updates of the `users`, `devices` and `profile_fields` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # Users

    async def get_user(self, user_id: str) -> UserRecord | None:
        row = await self._db.fetchone(
            f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,)
        )
        return _user(row)

    async def get_user_in_txn(
        self, txn: Transaction, user_id: str
    ) -> UserRecord | None:
        row = await txn.fetchone(
            f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,)
        )
        return _user(row)

    async def find_user_case_insensitive(self, user_id: str) -> UserRecord | None:
        """Return the one user whose ID matches ignoring case, if exactly one does."""
        rows = await self._db.fetchall(
            f"SELECT {_USER_COLUMNS} FROM users"
            " WHERE lower(user_id) = lower(?) LIMIT 2",
            (user_id,),
        )
        if len(rows) != 1:
            return None
        return _user(rows[0])

    async def insert_user(
        self,
        txn: Transaction,
        user_id: str,
        password_hash: str | None,
        *,
        admin: bool = False,
        user_type: str | None = None,
        displayname: str | None = None,
    ) -> None:
        await txn.execute(
            "INSERT INTO users (user_id, password_hash, created_ts, admin, displayname,"
            " user_type) VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, password_hash, now_ms(), int(admin), displayname, user_type),
        )

    async def set_password_hash(
        self, txn: Transaction, user_id: str, password_hash: str | None
    ) -> None:
        await txn.execute(
            "UPDATE users SET password_hash = ? WHERE user_id = ?",
            (password_hash, user_id),
        )

    async def mark_deactivated(self, txn: Transaction, user_id: str) -> None:
        await txn.execute(
            "UPDATE users SET deactivated = 1, password_hash = NULL WHERE user_id = ?",
            (user_id,),
        )

    async def record_registration_token_use(
        self, txn: Transaction, token: str, user_id: str
    ) -> None:
        await txn.execute(
            "INSERT INTO registration_token_uses (token, user_id, used_ts)"
            " VALUES (?, ?, ?)",
            (token, user_id, now_ms()),
        )

    # Devices

    async def get_device(self, user_id: str, device_id: str) -> DeviceRecord | None:
        row = await self._db.fetchone(
            f"SELECT {_DEVICE_COLUMNS} FROM devices"
            " WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        return _device(row) if row is not None else None

    async def list_devices(self, user_id: str) -> list[DeviceRecord]:
        rows = await self._db.fetchall(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE user_id = ?"
            " ORDER BY device_id",
            (user_id,),
        )
        return [_device(row) for row in rows]

    async def device_ids_in_txn(self, txn: Transaction, user_id: str) -> list[str]:
        rows = await txn.fetchall(
            "SELECT device_id FROM devices WHERE user_id = ?", (user_id,)
        )
        return [row["device_id"] for row in rows]

    async def device_exists_in_txn(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> bool:
        row = await txn.fetchone(
            "SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        return row is not None

    async def insert_device(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str,
        display_name: str | None,
        ip: str | None,
    ) -> None:
        await txn.execute(
            "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts,"
            " last_seen_ip) VALUES (?, ?, ?, ?, ?)",
            (user_id, device_id, display_name, now_ms(), ip),
        )

    async def rename_device(
        self, txn: Transaction, user_id: str, device_id: str, display_name: str
    ) -> bool:
        count = await txn.execute_rowcount(
            "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
            (display_name, user_id, device_id),
        )
        return count > 0

    async def delete_device(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> bool:
        count = await txn.execute_rowcount(
            "DELETE FROM devices WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        return count > 0

    async def update_last_seen(
        self, txn: Transaction, rows: Iterable[tuple[int, str, str, str]]
    ) -> None:
        """Store (ts, ip, user_id, device_id) rows; deleted devices are skipped."""
        await txn.executemany(
            "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?"
            " WHERE user_id = ? AND device_id = ?",
            list(rows),
        )

    # Profiles

    async def set_profile_columns(
        self, txn: Transaction, user_id: str, values: dict[str, str | None]
    ) -> None:
        """Set `displayname` and/or `avatar_url` on the user's row."""
        for column, value in values.items():
            if column not in ("displayname", "avatar_url"):
                raise ValueError(f"not a profile column: {column}")
            await txn.execute(
                f"UPDATE users SET {column} = ? WHERE user_id = ?", (value, user_id)
            )

    async def get_profile_fields(self, user_id: str) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT field, value_json FROM profile_fields WHERE user_id = ?",
            (user_id,),
        )
        return {row["field"]: json.loads(row["value_json"]) for row in rows}

    async def profile_fields_in_txn(
        self, txn: Transaction, user_id: str
    ) -> dict[str, str]:
        """Return the custom fields as raw JSON text, for size checks."""
        rows = await txn.fetchall(
            "SELECT field, value_json FROM profile_fields WHERE user_id = ?",
            (user_id,),
        )
        return {row["field"]: row["value_json"] for row in rows}

    async def set_profile_field(
        self, txn: Transaction, user_id: str, field: str, value_json: str
    ) -> None:
        await txn.execute(
            "INSERT INTO profile_fields (user_id, field, value_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, field)"
            " DO UPDATE SET value_json = excluded.value_json",
            (user_id, field, value_json),
        )

    async def delete_profile_field(
        self, txn: Transaction, user_id: str, field: str
    ) -> None:
        await txn.execute(
            "DELETE FROM profile_fields WHERE user_id = ? AND field = ?",
            (user_id, field),
        )

    async def clear_profile(self, txn: Transaction, user_id: str) -> None:
        await txn.execute(
            "UPDATE users SET displayname = NULL, avatar_url = NULL WHERE user_id = ?",
            (user_id,),
        )
        await txn.execute("DELETE FROM profile_fields WHERE user_id = ?", (user_id,))

    # Rooms

    async def room_ids_with_membership(
        self, user_id: str, memberships: tuple[str, ...]
    ) -> list[tuple[str, str]]:
        """Return (room_id, membership) for the user's rooms in those memberships."""
        placeholders = ", ".join("?" for _ in memberships)
        rows = await self._db.fetchall(
            "SELECT room_id, membership FROM room_memberships"
            f" WHERE user_id = ? AND membership IN ({placeholders})",
            (user_id, *memberships),
        )
        return [(row["room_id"], row["membership"]) for row in rows]
