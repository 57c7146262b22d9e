"""The end-to-end encryption component: what routes, /sync and accounts call.

Spec: Client-Server API, "End-to-End Encryption". The server stores public keys, signed
objects, encrypted backups and to-device messages, and routes them; it never sees a
private key or a decrypted message.
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.e2ee import room_encryption
from homeserver.e2ee.cross_signing import CrossSigningStore
from homeserver.e2ee.device_keys import DeviceKeyStore
from homeserver.e2ee.device_lists import DeviceListStream
from homeserver.e2ee.key_backup import KeyBackupStore
from homeserver.e2ee.to_device import ToDeviceInbox
from homeserver.errors import BadJSON
from homeserver.identifiers import split_id
from homeserver.notifier import Notifier, StreamToken
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

# The most to-device messages one /sync response carries; the rest follow in the next.
TO_DEVICE_BATCH_LIMIT = 100

# Reported for users on other servers until federation queries exist.
_FEDERATION_UNAVAILABLE = {
    "status": 503,
    "message": "Keys of users on other servers are not available yet",
}


class E2EE:
    """Device keys, cross-signing, the device-list and to-device streams and backups."""

    def __init__(self, db: Database, notifier: Notifier, server_name: str) -> None:
        self._db = db
        self._server_name = server_name
        self.device_lists = DeviceListStream(db, notifier)
        self.device_keys = DeviceKeyStore(db, self.device_lists)
        self.cross_signing = CrossSigningStore(db, self.device_lists)
        self.to_device = ToDeviceInbox(db, notifier, server_name)
        self.backup = KeyBackupStore(db)

    async def start(self) -> None:
        """Load the stream positions once the database is open."""
        await self.device_lists.load_position()
        await self.to_device.load_position()

    def is_local(self, user_id: str) -> bool:
        try:
            return split_id(user_id, "@")[1] == self._server_name
        except ValueError:
            return False

    # /keys/query and /keys/claim

    async def query_keys(self, querier: str, request: Any) -> dict[str, Any]:
        """Build the `/keys/query` response for `request` ({user_id: [device_id]})."""
        if not isinstance(request, dict):
            raise BadJSON("device_keys must be a JSON object")
        result: dict[str, Any] = {"device_keys": {}, "failures": {}}
        local_users: list[str] = []
        for user_id, device_ids in request.items():
            if not isinstance(device_ids, list) or not all(
                isinstance(device_id, str) for device_id in device_ids
            ):
                raise BadJSON(f"device_keys[{user_id!r}] must be a list of device IDs")
            if not self.is_local(user_id):
                self._add_remote_failure(result["failures"], user_id)
                continue
            devices = await self.device_keys.device_keys(user_id, device_ids)
            await self.cross_signing.add_signatures(querier, user_id, devices)
            result["device_keys"][user_id] = devices
            local_users.append(user_id)
        result.update(await self.cross_signing.query_keys(querier, local_users))
        return result

    async def claim_keys(self, request: Any) -> dict[str, Any]:
        """Build the `/keys/claim` response for {user_id: {device_id: algorithm}}."""
        if not isinstance(request, dict):
            raise BadJSON("one_time_keys must be a JSON object")
        local: dict[str, dict[str, str]] = {}
        failures: dict[str, Any] = {}
        for user_id, by_device in request.items():
            if not isinstance(by_device, dict) or not all(
                isinstance(algorithm, str) for algorithm in by_device.values()
            ):
                raise BadJSON(
                    f"one_time_keys[{user_id!r}] must map device IDs to algorithms"
                )
            if self.is_local(user_id):
                local[user_id] = by_device
            else:
                self._add_remote_failure(failures, user_id)
        claimed = await self.device_keys.claim(local) if local else {}
        return {"one_time_keys": claimed, "failures": failures}

    def _add_remote_failure(self, failures: dict[str, Any], user_id: str) -> None:
        # NOTE: keys of users on other servers need federation key queries, which are
        # not implemented; such users are reported under their server in `failures`.
        try:
            server = split_id(user_id, "@")[1]
        except ValueError:
            server = user_id
        failures[server] = dict(_FEDERATION_UNAVAILABLE)

    # /sync and /keys/changes

    async def get_sync_data(
        self,
        user_id: str,
        device_id: str,
        since: StreamToken | None,
        upto: StreamToken,
    ) -> dict[str, Any]:
        """Return the E2EE parts of a /sync response between `since` and `upto`.

        Messages at or before `since.to_device` were acknowledged by this sync and are
        deleted. `_to_device_position` is the to_device position the next token must
        carry: `upto.to_device`, or less when the batch limit cut the messages short.
        """
        after = 0
        if since is not None:
            after = min(since.to_device, upto.to_device)
            if since.to_device > 0:
                await self.to_device.acknowledge(user_id, device_id, since.to_device)
        batch = await self.to_device.fetch(
            user_id, device_id, after, upto.to_device, TO_DEVICE_BATCH_LIMIT
        )
        changed: list[str] = []
        left: list[str] = []
        if since is not None:
            changed, left = await self.device_lists.changes(user_id, since, upto)
        counts, fallback_types = await self.device_keys.sync_counts(user_id, device_id)
        return {
            "to_device": {"events": batch.events},
            "device_lists": {"changed": changed, "left": left},
            "device_one_time_keys_count": counts,
            "device_unused_fallback_key_types": fallback_types,
            "_to_device_position": batch.position,
        }

    async def key_changes(
        self, user_id: str, from_token: StreamToken, to_token: StreamToken
    ) -> dict[str, list[str]]:
        """Return the `/keys/changes` response between two sync tokens."""
        changed, left = await self.device_lists.changes(user_id, from_token, to_token)
        return {"changed": changed, "left": left}

    # Hooks for other components

    async def on_device_deleted(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> None:
        """Remove a deleted device's keys and messages; tell users sharing a room.

        Runs inside the accounts component's transaction that deletes the device.
        """
        await self.device_keys.delete_device(txn, user_id, device_id)
        await self.to_device.delete_device(txn, user_id, device_id)
        await txn.execute(
            "DELETE FROM e2e_cross_signing_signatures"
            " WHERE target_user_id = ? AND target_key_id = ?",
            (user_id, device_id),
        )
        await self.device_lists.mark_changed(txn, [user_id])
        logger.info("Removed E2EE keys of deleted device %s/%s", user_id, device_id)

    async def mark_device_list_changed(self, txn: Transaction, user_id: str) -> None:
        """Record a change to `user_id`'s devices, such as a new display name."""
        await self.device_lists.mark_changed(txn, [user_id])

    @staticmethod
    def check_state_event(
        snapshot: Any, event_type: str, state_key: str | None, content: dict[str, Any]
    ) -> None:
        """Raise `Forbidden` for a state event that would turn off room encryption."""
        room_encryption.check_state_event(snapshot, event_type, state_key, content)
