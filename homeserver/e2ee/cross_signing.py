"""Cross-signing keys and the signatures users upload for keys and devices.

Spec: Client-Server API, "Cross-signing": `POST /keys/device_signing/upload` and
`POST /keys/signatures/upload`. Each user has a master key, a self-signing key that signs
the user's own devices, and a user-signing key that signs other users' master keys. The
self-signing and user-signing keys must carry a signature by the master key. A signature
by a user-signing key is shown only to its signer; every other signature is shown to
every user who queries the keys.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from homeserver.e2ee.device_lists import DeviceListStream
from homeserver.e2ee.errors import InvalidSignatureError
from homeserver.e2ee.signatures import (
    InvalidSignature,
    decode_ed25519_key,
    signature_of,
    verify_json,
    without_signatures,
)
from homeserver.errors import BadJSON, InvalidParam, MissingParam
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

KEY_TYPES = ("master", "self_signing", "user_signing")
_BODY_FIELDS = {
    "master": "master_key",
    "self_signing": "self_signing_key",
    "user_signing": "user_signing_key",
}


@dataclass(frozen=True)
class CrossSigningKey:
    """A stored cross-signing key: its public key (unpadded base64) and its JSON."""

    public_key: str
    key_json: dict[str, Any]


def _failure(errcode: str, message: str) -> dict[str, str]:
    return {"errcode": errcode, "error": message}


def parse_cross_signing_key(user_id: str, key_type: str, obj: Any) -> CrossSigningKey:
    """Check a key uploaded as `key_type` and return it; `BadJSON`/`InvalidParam` if not."""
    if not isinstance(obj, dict):
        raise BadJSON(f"{_BODY_FIELDS[key_type]} must be a JSON object")
    if obj.get("user_id") != user_id:
        raise InvalidParam(f"{_BODY_FIELDS[key_type]}.user_id must be {user_id}")
    usage = obj.get("usage")
    if not isinstance(usage, list) or key_type not in usage:
        raise InvalidParam(f"{_BODY_FIELDS[key_type]}.usage must contain {key_type!r}")
    keys = obj.get("keys")
    if not isinstance(keys, dict) or len(keys) != 1:
        raise InvalidParam(
            f"{_BODY_FIELDS[key_type]}.keys must contain exactly one key"
        )
    ((key_id, public_key),) = keys.items()
    if not isinstance(public_key, str) or key_id != "ed25519:" + public_key:
        raise InvalidParam(
            f"{_BODY_FIELDS[key_type]}.keys must map ed25519:<public key> to the key"
        )
    try:
        decode_ed25519_key(public_key, public_key)
    except InvalidSignature as exc:
        raise InvalidParam(f"{_BODY_FIELDS[key_type]}: {exc}") from exc
    return CrossSigningKey(public_key, obj)


class CrossSigningStore:
    """Stores cross-signing keys and signatures and merges them into query results."""

    def __init__(self, db: Database, device_lists: DeviceListStream) -> None:
        self._db = db
        self._device_lists = device_lists

    async def keys_of(
        self, user_id: str, txn: Transaction | None = None
    ) -> dict[str, CrossSigningKey]:
        """Return {key_type: key} for the keys `user_id` has uploaded."""
        sql = (
            "SELECT key_type, public_key, key_json FROM e2e_cross_signing_keys"
            " WHERE user_id = ?"
        )
        rows = await (
            txn.fetchall(sql, (user_id,)) if txn else self._db.fetchall(sql, (user_id,))
        )
        return {row[0]: CrossSigningKey(row[1], json.loads(row[2])) for row in rows}

    # Upload of the keys themselves

    def parse_upload(
        self, user_id: str, body: dict[str, Any]
    ) -> dict[str, CrossSigningKey]:
        uploaded: dict[str, CrossSigningKey] = {}
        for key_type in KEY_TYPES:
            obj = body.get(_BODY_FIELDS[key_type])
            if obj is not None:
                uploaded[key_type] = parse_cross_signing_key(user_id, key_type, obj)
        return uploaded

    async def upload_requires_auth(
        self, user_id: str, uploaded: dict[str, CrossSigningKey]
    ) -> bool:
        """Return whether the upload replaces an existing master key.

        The first upload needs no user-interactive auth, and neither does repeating an
        upload of the keys already stored.
        """
        existing = await self.keys_of(user_id)
        if "master" not in existing:
            return False
        for key_type, key in uploaded.items():
            current = existing.get(key_type)
            if current is None or current.key_json != key.key_json:
                return True
        return False

    async def upload(self, user_id: str, uploaded: dict[str, CrossSigningKey]) -> None:
        """Store the uploaded keys after checking the master key signed the others.

        Raises `MissingParam` when no master key is known and `InvalidSignatureError`
        when a self-signing or user-signing key lacks a valid master key signature.
        """
        async with self._db.transaction("upload_cross_signing_keys") as txn:
            existing = await self.keys_of(user_id, txn)
            master = uploaded.get("master") or existing.get("master")
            for key_type in ("self_signing", "user_signing"):
                key = uploaded.get(key_type)
                if key is None:
                    continue
                if master is None:
                    raise MissingParam("No master signing key is available")
                try:
                    verify_json(
                        key.key_json, user_id, master.public_key, master.public_key
                    )
                except InvalidSignature as exc:
                    raise InvalidSignatureError(
                        f"{_BODY_FIELDS[key_type]} is not signed by the master key: {exc}"
                    ) from exc
            if not uploaded:
                return
            now = int(time.time() * 1000)
            for key_type, key in uploaded.items():
                old = existing.get(key_type)
                if old is not None and old.public_key != key.public_key:
                    await self._forget_key(txn, user_id, old.public_key)
                await txn.execute(
                    "INSERT OR REPLACE INTO e2e_cross_signing_keys"
                    " (user_id, key_type, public_key, key_json, uploaded_ts)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        user_id,
                        key_type,
                        key.public_key,
                        json.dumps(key.key_json, ensure_ascii=False),
                        now,
                    ),
                )
            await self._device_lists.mark_changed(txn, [user_id])
        logger.info(
            "Stored cross-signing keys %s of %s", ", ".join(sorted(uploaded)), user_id
        )

    async def _forget_key(
        self, txn: Transaction, user_id: str, public_key: str
    ) -> None:
        """Drop signatures made by, or made on, a cross-signing key being replaced."""
        await txn.execute(
            "DELETE FROM e2e_cross_signing_signatures"
            " WHERE signer_user_id = ? AND signer_key_id = ?",
            (user_id, "ed25519:" + public_key),
        )
        await txn.execute(
            "DELETE FROM e2e_cross_signing_signatures"
            " WHERE target_user_id = ? AND target_key_id = ?",
            (user_id, public_key),
        )

    # Signature upload

    async def upload_signatures(
        self,
        user_id: str,
        body: dict[str, Any],
        device_keys: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[str, dict[str, dict[str, str]]]:
        """Check and store the signatures in a `/keys/signatures/upload` body.

        `device_keys` contains the stored device keys of `user_id`, by device ID. Returns
        the `failures` map, {user_id: {key_id: {"errcode", "error"}}}.
        """
        failures: dict[str, dict[str, dict[str, str]]] = {}
        accepted: list[tuple[str, str, str, str, str]] = []
        own_keys = await self.keys_of(user_id)
        for target_user, by_key in body.items():
            if not isinstance(by_key, dict):
                raise BadJSON(f"Signatures for {target_user} must be a JSON object")
            target_keys = (
                own_keys if target_user == user_id else await self.keys_of(target_user)
            )
            for key_id, signed in by_key.items():
                try:
                    if not isinstance(signed, dict):
                        raise _Rejected(
                            "M_BAD_JSON", "The signed key must be an object"
                        )
                    accepted.extend(
                        self._check_signed_key(
                            user_id,
                            own_keys,
                            target_user,
                            target_keys,
                            key_id,
                            signed,
                            device_keys if target_user == user_id else {},
                        )
                    )
                except _Rejected as exc:
                    failures.setdefault(target_user, {})[key_id] = _failure(
                        exc.errcode, exc.message
                    )
        if accepted:
            async with self._db.transaction("upload_key_signatures") as txn:
                await txn.executemany(
                    "INSERT OR REPLACE INTO e2e_cross_signing_signatures"
                    " (signer_user_id, signer_key_id, target_user_id, target_key_id,"
                    " signature) VALUES (?, ?, ?, ?, ?)",
                    accepted,
                )
                # Signatures on one's own keys are public; a user-signing signature on
                # another user's master key is seen only by the signer.
                await self._device_lists.mark_changed(txn, [user_id])
        return failures

    def _check_signed_key(
        self,
        user_id: str,
        own_keys: dict[str, CrossSigningKey],
        target_user: str,
        target_keys: dict[str, CrossSigningKey],
        key_id: str,
        signed: dict[str, Any],
        own_devices: dict[str, dict[str, Any]],
    ) -> list[tuple[str, str, str, str, str]]:
        """Return the signature rows to store for one signed key, or raise `_Rejected`."""
        master = target_keys.get("master")
        if target_user != user_id:
            if master is None or key_id != master.public_key:
                raise _Rejected(
                    "M_NOT_FOUND", "Only a master key of another user can be signed"
                )
            _require_same(signed, master.key_json)
            signer = own_keys.get("user_signing")
            if signer is None:
                raise _Rejected(
                    "M_INVALID_SIGNATURE", "No user-signing key is uploaded"
                )
            return [
                self._verified(
                    user_id,
                    signer.public_key,
                    signer.public_key,
                    target_user,
                    key_id,
                    signed,
                )
            ]

        if master is not None and key_id == master.public_key:
            _require_same(signed, master.key_json)
            rows = []
            signatures = signed.get("signatures")
            by_signer = (
                signatures.get(user_id) if isinstance(signatures, dict) else None
            )
            for signer_key_id in by_signer if isinstance(by_signer, dict) else ():
                device_id = signer_key_id.removeprefix("ed25519:")
                device = own_devices.get(device_id)
                if device_id == master.public_key or device is None:
                    continue
                device_key = device.get("keys", {}).get(signer_key_id)
                rows.append(
                    self._verified(
                        user_id, device_id, device_key, user_id, key_id, signed
                    )
                )
            if not rows:
                raise _Rejected(
                    "M_INVALID_SIGNATURE", "No signature by a device of the user"
                )
            return rows

        device = own_devices.get(key_id)
        if device is None:
            raise _Rejected("M_NOT_FOUND", f"Unknown device or key {key_id}")
        _require_same(signed, device)
        rows = []
        for key_type in ("self_signing", "master"):
            signer = own_keys.get(key_type)
            if signer is not None and signature_of(signed, user_id, signer.public_key):
                rows.append(
                    self._verified(
                        user_id,
                        signer.public_key,
                        signer.public_key,
                        user_id,
                        key_id,
                        signed,
                    )
                )
        if not rows:
            raise _Rejected(
                "M_INVALID_SIGNATURE",
                "No signature by the self-signing key of the user",
            )
        return rows

    @staticmethod
    def _verified(
        signer_user: str,
        signer_key: str,
        signer_public_key: Any,
        target_user: str,
        target_key_id: str,
        signed: dict[str, Any],
    ) -> tuple[str, str, str, str, str]:
        if not isinstance(signer_public_key, str):
            raise _Rejected("M_INVALID_SIGNATURE", f"Unknown signing key {signer_key}")
        try:
            verify_json(signed, signer_user, signer_key, signer_public_key)
        except InvalidSignature as exc:
            raise _Rejected("M_INVALID_SIGNATURE", str(exc)) from exc
        signature = signature_of(signed, signer_user, signer_key)
        assert signature is not None
        return (
            signer_user,
            "ed25519:" + signer_key,
            target_user,
            target_key_id,
            signature,
        )

    # Query

    async def add_signatures(
        self, querier: str, target_user: str, keys: dict[str, dict[str, Any]]
    ) -> None:
        """Merge stored signatures into `keys` ({target_key_id: key JSON}) in place."""
        if not keys:
            return
        rows = await self._db.fetchall(
            "SELECT target_key_id, signer_user_id, signer_key_id, signature"
            " FROM e2e_cross_signing_signatures WHERE target_user_id = ?"
            " AND (signer_user_id = ? OR signer_user_id = ?)",
            (target_user, target_user, querier),
        )
        for row in rows:
            target = keys.get(row[0])
            if target is None:
                continue
            signatures = target.setdefault("signatures", {})
            signatures.setdefault(row[1], {})[row[2]] = row[3]

    async def query_keys(
        self, querier: str, user_ids: list[str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Return the master, self-signing and user-signing keys for `/keys/query`.

        The result maps "master_keys", "self_signing_keys" and "user_signing_keys" to
        {user_id: key}; user-signing keys are returned only for the querier.
        """
        result: dict[str, dict[str, dict[str, Any]]] = {
            "master_keys": {},
            "self_signing_keys": {},
            "user_signing_keys": {},
        }
        for user_id in user_ids:
            keys = await self.keys_of(user_id)
            master = keys.get("master")
            if master is not None:
                master_json = json.loads(json.dumps(master.key_json))
                await self.add_signatures(
                    querier, user_id, {master.public_key: master_json}
                )
                result["master_keys"][user_id] = master_json
            if "self_signing" in keys:
                result["self_signing_keys"][user_id] = keys["self_signing"].key_json
            if "user_signing" in keys and user_id == querier:
                result["user_signing_keys"][user_id] = keys["user_signing"].key_json
        return result


class _Rejected(Exception):
    """One signed key of a signature upload that goes into `failures`."""

    def __init__(self, errcode: str, message: str) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.message = message


def _require_same(signed: dict[str, Any], stored: dict[str, Any]) -> None:
    if without_signatures(signed) != without_signatures(stored):
        raise _Rejected(
            "M_INVALID_SIGNATURE", "The signed key does not match the stored key"
        )
