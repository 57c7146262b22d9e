"""Device identity keys, one-time keys and fallback keys.

Spec: Client-Server API, "Key distribution": `POST /keys/upload` and `POST /keys/claim`.
Every key a device uploads must carry a valid signature by the device's own Ed25519 key
(`ed25519:<device_id>`), except plain `curve25519` one-time keys, which have no room for
one. A claim runs inside one write transaction, so each one-time key is handed out
exactly once. When a device has none left, its fallback key is handed out and marked
used.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from homeserver.e2ee.device_lists import DeviceListStream
from homeserver.e2ee.errors import InvalidSignatureError
from homeserver.e2ee.signatures import InvalidSignature, verify_json
from homeserver.errors import BadJSON, InvalidParam
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

# Clients top up their one-time keys from this count in /sync, so it is always reported.
SIGNED_CURVE25519 = "signed_curve25519"


@dataclass(frozen=True)
class KeyUpload:
    """A checked `/keys/upload` body."""

    device_keys: dict[str, Any] | None
    one_time_keys: dict[tuple[str, str], Any]
    fallback_keys: dict[str, tuple[str, Any]]


def _split_key_id(full_id: str) -> tuple[str, str]:
    algorithm, sep, key_id = full_id.partition(":")
    if not sep or not algorithm or not key_id:
        raise InvalidParam(
            f"Key ID {full_id!r} must have the form <algorithm>:<key_id>"
        )
    return algorithm, key_id


def _ed25519_key(device_keys: dict[str, Any], device_id: str) -> str:
    keys = device_keys.get("keys")
    value = keys.get("ed25519:" + device_id) if isinstance(keys, dict) else None
    if not isinstance(value, str):
        raise InvalidParam(f"Device keys lack the key ed25519:{device_id}")
    return value


class DeviceKeyStore:
    """Stores device, one-time and fallback keys and hands out one-time keys."""

    def __init__(self, db: Database, device_lists: DeviceListStream) -> None:
        self._db = db
        self._device_lists = device_lists
        # One-time key counts and unused fallback types per device, which every /sync
        # response carries. Dropped whenever a device's keys change; a generation
        # counter keeps a read that raced with a change out of the cache.
        self._sync_counts: dict[tuple[str, str], tuple[dict[str, int], list[str]]] = {}
        self._generation = 0

    def _forget_counts(self, user_id: str, device_id: str) -> None:
        self._generation += 1
        self._sync_counts.pop((user_id, device_id), None)

    async def sync_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """Return (one-time key counts, unused fallback key types) of a device."""
        cached = self._sync_counts.get((user_id, device_id))
        if cached is not None:
            return dict(cached[0]), list(cached[1])
        generation = self._generation
        counts = await self.one_time_key_counts(user_id, device_id)
        fallback = await self.unused_fallback_key_types(user_id, device_id)
        if generation == self._generation:
            if len(self._sync_counts) > 50_000:
                self._sync_counts.clear()
            self._sync_counts[(user_id, device_id)] = (counts, fallback)
        return dict(counts), list(fallback)

    # Upload

    async def upload(
        self, user_id: str, device_id: str, body: dict[str, Any]
    ) -> dict[str, int]:
        """Store the keys of a `/keys/upload` body and return the one-time key counts.

        Raises `InvalidParam` for keys of another user or device, or a one-time key ID
        reused with different content, and `InvalidSignatureError` for a bad signature.
        """
        upload = self._parse_upload(user_id, device_id, body)
        async with self._db.transaction("upload_device_keys") as txn:
            txn.call_after_commit(lambda: self._forget_counts(user_id, device_id))
            if upload.device_keys is not None:
                signing_key = _ed25519_key(upload.device_keys, device_id)
            else:
                signing_key = await self._stored_signing_key(txn, user_id, device_id)
            self._check_signatures(user_id, device_id, signing_key, upload)
            if upload.device_keys is not None:
                await self._store_device_keys(
                    txn, user_id, device_id, upload.device_keys
                )
            await self._store_one_time_keys(txn, user_id, device_id, upload)
            await self._store_fallback_keys(txn, user_id, device_id, upload)
            return await self._count_one_time_keys(txn, user_id, device_id)

    def _parse_upload(
        self, user_id: str, device_id: str, body: dict[str, Any]
    ) -> KeyUpload:
        device_keys = body.get("device_keys")
        if device_keys is not None:
            if not isinstance(device_keys, dict):
                raise BadJSON("device_keys must be a JSON object")
            if device_keys.get("user_id") != user_id:
                raise InvalidParam(
                    f"device_keys.user_id must be {user_id}, the uploading user"
                )
            if device_keys.get("device_id") != device_id:
                raise InvalidParam(
                    f"device_keys.device_id must be {device_id}, the uploading device"
                )
            algorithms = device_keys.get("algorithms")
            if not isinstance(algorithms, list) or not all(
                isinstance(name, str) for name in algorithms
            ):
                raise BadJSON("device_keys.algorithms must be a list of strings")
            keys = device_keys.get("keys")
            if not isinstance(keys, dict) or not all(
                isinstance(value, str) for value in keys.values()
            ):
                raise BadJSON("device_keys.keys must map key IDs to strings")

        one_time_keys: dict[tuple[str, str], Any] = {}
        for full_id, key in self._key_map(body, "one_time_keys").items():
            one_time_keys[_split_key_id(full_id)] = key

        fallback_keys: dict[str, tuple[str, Any]] = {}
        for full_id, key in self._key_map(body, "fallback_keys").items():
            algorithm, key_id = _split_key_id(full_id)
            if algorithm in fallback_keys:
                raise InvalidParam(f"More than one fallback key for {algorithm}")
            fallback_keys[algorithm] = (key_id, key)
        return KeyUpload(device_keys, one_time_keys, fallback_keys)

    @staticmethod
    def _key_map(body: dict[str, Any], field: str) -> dict[str, Any]:
        value = body.get(field)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadJSON(f"{field} must be a JSON object")
        for full_id, key in value.items():
            if not isinstance(key, (str, dict)):
                raise BadJSON(f"{field}[{full_id!r}] must be a string or an object")
        return value

    async def _stored_signing_key(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> str | None:
        row = await txn.fetchone(
            "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        if row is None:
            return None
        return _ed25519_key(json.loads(row[0]), device_id)

    def _check_signatures(
        self, user_id: str, device_id: str, signing_key: str | None, upload: KeyUpload
    ) -> None:
        signed: list[tuple[str, dict[str, Any]]] = []
        if upload.device_keys is not None:
            signed.append(("device_keys", upload.device_keys))
        for (algorithm, key_id), key in upload.one_time_keys.items():
            if isinstance(key, dict):
                signed.append((f"one-time key {algorithm}:{key_id}", key))
        for algorithm, (key_id, key) in upload.fallback_keys.items():
            if isinstance(key, dict):
                signed.append((f"fallback key {algorithm}:{key_id}", key))
        if signed and signing_key is None:
            raise InvalidParam(
                "Upload device_keys before or with signed one-time or fallback keys"
            )
        for label, obj in signed:
            assert signing_key is not None
            try:
                verify_json(obj, user_id, device_id, signing_key)
            except InvalidSignature as exc:
                raise InvalidSignatureError(
                    f"Invalid signature on {label}: {exc}"
                ) from exc

    async def _store_device_keys(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str,
        device_keys: dict[str, Any],
    ) -> None:
        # `unsigned` is filled in per query (the display name), so it is not stored.
        stored = {key: value for key, value in device_keys.items() if key != "unsigned"}
        encoded = json.dumps(stored, ensure_ascii=False, sort_keys=True)
        row = await txn.fetchone(
            "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        if row is not None and row[0] == encoded:
            return
        if row is not None:
            logger.info("Device keys of %s/%s replaced", user_id, device_id)
        await txn.execute(
            "INSERT OR REPLACE INTO e2e_device_keys"
            " (user_id, device_id, key_json, uploaded_ts) VALUES (?, ?, ?, ?)",
            (user_id, device_id, encoded, int(time.time() * 1000)),
        )
        await self._device_lists.mark_changed(txn, [user_id])

    async def _store_one_time_keys(
        self, txn: Transaction, user_id: str, device_id: str, upload: KeyUpload
    ) -> None:
        for (algorithm, key_id), key in upload.one_time_keys.items():
            encoded = json.dumps(key, ensure_ascii=False, sort_keys=True)
            row = await txn.fetchone(
                "SELECT key_json FROM e2e_one_time_keys WHERE user_id = ?"
                " AND device_id = ? AND algorithm = ? AND key_id = ?",
                (user_id, device_id, algorithm, key_id),
            )
            if row is not None:
                if row[0] != encoded:
                    raise InvalidParam(
                        f"One-time key {algorithm}:{key_id} already exists with"
                        " different content"
                    )
                continue
            await txn.execute(
                "INSERT INTO e2e_one_time_keys"
                " (user_id, device_id, algorithm, key_id, key_json)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, device_id, algorithm, key_id, encoded),
            )

    async def _store_fallback_keys(
        self, txn: Transaction, user_id: str, device_id: str, upload: KeyUpload
    ) -> None:
        for algorithm, (key_id, key) in upload.fallback_keys.items():
            encoded = json.dumps(key, ensure_ascii=False, sort_keys=True)
            row = await txn.fetchone(
                "SELECT key_id, key_json FROM e2e_fallback_keys"
                " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
                (user_id, device_id, algorithm),
            )
            # Re-uploading the current fallback key keeps its used flag.
            if row is not None and row[0] == key_id and row[1] == encoded:
                continue
            await txn.execute(
                "INSERT OR REPLACE INTO e2e_fallback_keys"
                " (user_id, device_id, algorithm, key_id, key_json, used)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                (user_id, device_id, algorithm, key_id, encoded),
            )

    # Counts for /sync and /keys/upload

    async def _count_one_time_keys(
        self, txn: Transaction | None, user_id: str, device_id: str
    ) -> dict[str, int]:
        sql = (
            "SELECT algorithm, COUNT(*) FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? GROUP BY algorithm"
        )
        params = (user_id, device_id)
        rows = await (
            txn.fetchall(sql, params) if txn else self._db.fetchall(sql, params)
        )
        counts = {SIGNED_CURVE25519: 0}
        counts.update({row[0]: row[1] for row in rows})
        return counts

    async def one_time_key_counts(self, user_id: str, device_id: str) -> dict[str, int]:
        """Return {algorithm: unclaimed one-time keys}, always with signed_curve25519."""
        return await self._count_one_time_keys(None, user_id, device_id)

    async def unused_fallback_key_types(
        self, user_id: str, device_id: str
    ) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT algorithm FROM e2e_fallback_keys"
            " WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm",
            (user_id, device_id),
        )
        return [row[0] for row in rows]

    # Query and claim

    async def device_keys(
        self, user_id: str, device_ids: list[str] | None
    ) -> dict[str, dict[str, Any]]:
        """Return {device_id: device keys} with `unsigned.device_display_name`.

        `device_ids` None or empty means every device. Only devices that still exist
        and have uploaded keys are included.
        """
        sql = (
            "SELECT k.device_id, k.key_json, d.display_name FROM e2e_device_keys k"
            " JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id"
            " WHERE k.user_id = ?"
        )
        params: list[Any] = [user_id]
        if device_ids:
            placeholders = ",".join("?" * len(device_ids))
            sql += f" AND k.device_id IN ({placeholders})"
            params.extend(device_ids)
        result: dict[str, dict[str, Any]] = {}
        for row in await self._db.fetchall(sql, params):
            keys = json.loads(row[1])
            unsigned: dict[str, Any] = {}
            if row[2] is not None:
                unsigned["device_display_name"] = row[2]
            keys["unsigned"] = unsigned
            result[row[0]] = keys
        return result

    async def claim(
        self, requests: dict[str, dict[str, str]]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Hand out one key per requested (user, device, algorithm).

        Returns {user_id: {device_id: {"<algorithm>:<key_id>": key}}}. A device without a
        one-time key of that algorithm gets its fallback key, which is then marked used. A
        device with neither, or an unknown device, is left out.
        """
        claimed: dict[str, dict[str, dict[str, Any]]] = {}
        async with self._db.transaction("claim_one_time_keys") as txn:
            for user_id, by_device in requests.items():
                for device_id, algorithm in by_device.items():
                    key = await self._claim_one(txn, user_id, device_id, algorithm)
                    if key is not None:
                        claimed.setdefault(user_id, {})[device_id] = key
        return claimed

    async def _claim_one(
        self, txn: Transaction, user_id: str, device_id: str, algorithm: str
    ) -> dict[str, Any] | None:
        row = await txn.fetchone(
            "SELECT key_id, key_json FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?"
            " ORDER BY key_id LIMIT 1",
            (user_id, device_id, algorithm),
        )
        txn.call_after_commit(lambda: self._forget_counts(user_id, device_id))
        if row is not None:
            await txn.execute(
                "DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
                " AND algorithm = ? AND key_id = ?",
                (user_id, device_id, algorithm, row[0]),
            )
            return {f"{algorithm}:{row[0]}": json.loads(row[1])}
        row = await txn.fetchone(
            "SELECT key_id, key_json FROM e2e_fallback_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
            (user_id, device_id, algorithm),
        )
        if row is None:
            return None
        await txn.execute(
            "UPDATE e2e_fallback_keys SET used = 1"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
            (user_id, device_id, algorithm),
        )
        return {f"{algorithm}:{row[0]}": json.loads(row[1])}

    async def delete_device(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> None:
        """Remove every key of a deleted device inside the caller's transaction."""
        txn.call_after_commit(lambda: self._forget_counts(user_id, device_id))
        for table in ("e2e_device_keys", "e2e_one_time_keys", "e2e_fallback_keys"):
            await txn.execute(
                f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            )
