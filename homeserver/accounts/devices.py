"""Devices: creation, renaming, deletion and last-seen tracking.

Spec: Client-Server API, "Device management". Deleting a device revokes its access
tokens and runs `deleted_hooks` inside the same transaction, so other features (such as
end-to-end encryption keys) drop their per-device rows atomically with it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import time
from typing import Awaitable, Callable, Iterable

from homeserver.accounts.store import AccountStore, DeviceRecord
from homeserver.auth import TokenStore
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

DeviceHook = Callable[[Transaction, str, str], Awaitable[None]]

MAX_DEVICE_ID_LENGTH = 255
MAX_DEVICE_NAME_LENGTH = 100
LAST_SEEN_FLUSH_SECONDS = 300


def generate_device_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))


class DeviceManager:
    """Creates and deletes devices; keeps last-seen times in memory between flushes."""

    def __init__(self, db: Database, store: AccountStore, tokens: TokenStore) -> None:
        self._db = db
        self._store = store
        self._tokens = tokens
        # Awaited as hook(txn, user_id, device_id) before a device row is deleted.
        self.deleted_hooks: list[DeviceHook] = []
        # Awaited as hook(txn, user_id, device_id) after a device is renamed.
        self.renamed_hooks: list[DeviceHook] = []
        # (user_id, device_id) -> (last_seen_ts, last_seen_ip), not yet in the database.
        self._last_seen: dict[tuple[str, str], tuple[int, str]] = {}
        self._flush_task: asyncio.Task[None] | None = None

    async def ensure_device(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str | None,
        display_name: str | None,
        ip: str | None,
    ) -> str:
        """Return `device_id`, creating the device if the user has none by that ID.

        An existing device keeps its name, but its earlier access tokens are revoked:
        a device has one session at a time.
        """
        if device_id is None:
            device_id = generate_device_id()
            while await self._store.device_exists_in_txn(txn, user_id, device_id):
                device_id = generate_device_id()
        elif await self._store.device_exists_in_txn(txn, user_id, device_id):
            await self._tokens.revoke_device(txn, user_id, device_id)
            return device_id
        await self._store.insert_device(txn, user_id, device_id, display_name, ip)
        return device_id

    async def rename(
        self, txn: Transaction, user_id: str, device_id: str, display_name: str
    ) -> bool:
        """Set the device's display name; False if the user has no such device."""
        if not await self._store.rename_device(txn, user_id, device_id, display_name):
            return False
        for hook in self.renamed_hooks:
            await hook(txn, user_id, device_id)
        return True

    async def delete(self, txn: Transaction, user_id: str, device_id: str) -> None:
        """Revoke the device's tokens, run the deletion hooks and delete its row.

        An unknown device is skipped, so the hooks only see devices that existed.
        """
        await self._tokens.revoke_device(txn, user_id, device_id)
        if not await self._store.device_exists_in_txn(txn, user_id, device_id):
            return
        for hook in self.deleted_hooks:
            await hook(txn, user_id, device_id)
        await self._store.delete_device(txn, user_id, device_id)
        txn.call_after_commit(lambda: self._last_seen.pop((user_id, device_id), None))
        logger.info("Deleted device %s of %s", device_id, user_id)

    async def delete_many(
        self, txn: Transaction, user_id: str, device_ids: Iterable[str]
    ) -> None:
        for device_id in device_ids:
            await self.delete(txn, user_id, device_id)

    async def delete_all_except(
        self, txn: Transaction, user_id: str, keep_device_id: str | None
    ) -> None:
        device_ids = await self._store.device_ids_in_txn(txn, user_id)
        await self.delete_many(
            txn, user_id, [d for d in device_ids if d != keep_device_id]
        )

    # Last seen

    def record_seen(self, user_id: str, device_id: str, ip: str) -> None:
        """Note a request from the device; a cheap in-memory update."""
        self._last_seen[(user_id, device_id)] = (int(time.time() * 1000), ip)

    def with_last_seen(self, device: DeviceRecord) -> DeviceRecord:
        """Return `device` with its last-seen values updated from memory."""
        seen = self._last_seen.get((device.user_id, device.device_id))
        if seen is None:
            return device
        return DeviceRecord(
            device.user_id, device.device_id, device.display_name, seen[0], seen[1]
        )

    async def flush_last_seen(self) -> None:
        """Write the pending last-seen values to the database."""
        if not self._last_seen:
            return
        pending = self._last_seen
        self._last_seen = {}
        rows = [(ts, ip, user, device) for (user, device), (ts, ip) in pending.items()]
        try:
            async with self._db.transaction("flush_device_last_seen") as txn:
                await self._store.update_last_seen(txn, rows)
        except BaseException:
            # Keep the values for the next flush unless newer ones arrived meanwhile.
            for key, value in pending.items():
                self._last_seen.setdefault(key, value)
            raise
        logger.debug("Stored last-seen times of %d devices", len(rows))

    async def start(self) -> None:
        self._flush_task = asyncio.create_task(self._flush_periodically())

    async def stop(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            try:
                await self._flush_task
            except asyncio.CancelledError:
                pass
            self._flush_task = None
        await self.flush_last_seen()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(LAST_SEEN_FLUSH_SECONDS)
            try:
                await self.flush_last_seen()
            except Exception:
                logger.exception("Failed to store device last-seen times; will retry")
