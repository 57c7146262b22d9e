"""The to_device stream: messages sent straight to devices, outside any room.

Spec: Client-Server API, "Send-to-Device messaging". Each message for a local device gets
its own position in the to_device stream and waits in `device_inbox` until the device has
acknowledged it by syncing with a `since` token whose to_device position is at or past the
message. A retried sync with the same `since` therefore gets the same messages again.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from canonicaljson import encode_canonical_json

from homeserver.errors import BadJSON, InvalidParam, TooLarge
from homeserver.identifiers import split_id
from homeserver.notifier import Notifier
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

# The largest content of one message, in bytes of canonical JSON. An Olm-encrypted room
# key is a few kilobytes, so 64 KiB leaves ample room while bounding each inbox row.
MAX_MESSAGE_BYTES = 65536


@dataclass(frozen=True)
class ToDeviceBatch:
    """Messages for one device and the stream position the batch reaches."""

    events: list[dict[str, Any]]
    position: int


class ToDeviceInbox:
    """Stores, delivers and deletes to-device messages."""

    def __init__(self, db: Database, notifier: Notifier, server_name: str) -> None:
        self._db = db
        self._notifier = notifier
        self._server_name = server_name
        # Per device, the position up to which its inbox is known to be empty. New
        # messages always get positions above the current one, so this stays true.
        self._acknowledged: dict[tuple[str, str], int] = {}

    async def load_position(self) -> None:
        """Set the notifier's to_device position from the database at start-up."""
        position = await self._db.fetchvalue(
            "SELECT seq FROM sqlite_sequence WHERE name = 'device_inbox'", default=0
        )
        self._notifier.set_position("to_device", int(position))

    async def send(
        self,
        sender: str,
        sender_device: str,
        event_type: str,
        txn_id: str,
        messages: dict[str, Any],
    ) -> None:
        """Queue `messages` ({user_id: {device_id or "*": content}}) once per txn ID.

        Raises `BadJSON`, `InvalidParam` or `TooLarge` for a malformed request before
        anything is stored.
        """
        local, remote = self._validate(messages)
        async with self._db.transaction("send_to_device") as txn:
            seen = await txn.fetchone(
                "SELECT 1 FROM to_device_txn_ids"
                " WHERE user_id = ? AND device_id = ? AND txn_id = ?",
                (sender, sender_device, txn_id),
            )
            if seen is not None:
                return
            now = int(time.time() * 1000)
            await txn.execute(
                "INSERT INTO to_device_txn_ids (user_id, device_id, txn_id, created_ts)"
                " VALUES (?, ?, ?, ?)",
                (sender, sender_device, txn_id, now),
            )
            position = 0
            recipients: set[str] = set()
            for user_id, by_device in local.items():
                for device_id, content in by_device.items():
                    for target in await self._target_devices(txn, user_id, device_id):
                        position = await txn.execute(
                            "INSERT INTO device_inbox (user_id, device_id, sender,"
                            " type, content, created_ts) VALUES (?, ?, ?, ?, ?, ?)",
                            (user_id, target, sender, event_type, content, now),
                        )
                        recipients.add(user_id)
            await self._queue_remote(txn, sender, event_type, txn_id, remote, now)
            if position:
                txn.call_after_commit(
                    lambda: self._notifier.notify("to_device", position, recipients)
                )
        logger.debug(
            "Sent to-device %s from %s/%s to %d local users",
            event_type,
            sender,
            sender_device,
            len(local),
        )

    def _validate(
        self, messages: dict[str, Any]
    ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, Any]]]]:
        """Split `messages` into local ones (content serialised) and remote ones."""
        local: dict[str, dict[str, str]] = {}
        remote: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for user_id, by_device in messages.items():
            try:
                _, server = split_id(user_id, "@")
            except ValueError as exc:
                raise InvalidParam(f"Invalid user ID {user_id!r} in messages") from exc
            if not isinstance(by_device, dict):
                raise BadJSON(f"Messages for {user_id} must be a JSON object")
            for device_id, content in by_device.items():
                if not isinstance(content, dict):
                    raise BadJSON(
                        f"Message for {user_id} device {device_id} must be an object"
                    )
                size = len(encode_canonical_json(content))
                if size > MAX_MESSAGE_BYTES:
                    raise TooLarge(
                        f"Message for {user_id} device {device_id} is {size} bytes;"
                        f" the limit is {MAX_MESSAGE_BYTES}"
                    )
            if server == self._server_name:
                local[user_id] = {
                    device_id: json.dumps(content, ensure_ascii=False)
                    for device_id, content in by_device.items()
                }
            else:
                remote[server][user_id] = by_device
        return local, remote

    async def _target_devices(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> list[str]:
        """Return the existing devices a message for `device_id` ("*" for all) goes to.

        Messages for a device that does not exist are dropped, since no sync could fetch
        them.
        """
        if device_id == "*":
            rows = await txn.fetchall(
                "SELECT device_id FROM devices WHERE user_id = ?", (user_id,)
            )
        else:
            rows = await txn.fetchall(
                "SELECT device_id FROM devices WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            )
        return [row[0] for row in rows]

    async def _queue_remote(
        self,
        txn: Transaction,
        sender: str,
        event_type: str,
        txn_id: str,
        remote: dict[str, dict[str, dict[str, Any]]],
        now: int,
    ) -> None:
        # NOTE: nothing sends device_federation_outbox yet, so messages for users on
        # other servers are stored here and not delivered until a federation sender
        # reads this table as m.direct_to_device EDUs.
        for destination, messages in remote.items():
            await txn.execute(
                "INSERT INTO device_federation_outbox (destination, sender, type,"
                " message_id, messages, created_ts) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    destination,
                    sender,
                    event_type,
                    f"{sender}:{txn_id}",
                    json.dumps(messages, ensure_ascii=False),
                    now,
                ),
            )

    async def fetch(
        self, user_id: str, device_id: str, after: int, upto: int, limit: int
    ) -> ToDeviceBatch:
        """Return up to `limit` messages with positions in (after, upto].

        The batch position is `upto` when every message in the range fits, and the
        position of the last message returned otherwise.
        """
        if after >= upto:
            return ToDeviceBatch([], after)
        rows = await self._db.fetchall(
            "SELECT stream_id, sender, type, content FROM device_inbox"
            " WHERE user_id = ? AND device_id = ? AND stream_id > ? AND stream_id <= ?"
            " ORDER BY stream_id LIMIT ?",
            (user_id, device_id, after, upto, limit),
        )
        events = [
            {"sender": row[1], "type": row[2], "content": json.loads(row[3])}
            for row in rows
        ]
        position = rows[-1][0] if len(rows) >= limit else upto
        return ToDeviceBatch(events, max(position, after))

    async def acknowledge(self, user_id: str, device_id: str, upto: int) -> None:
        """Delete the messages a device has confirmed by syncing past `upto`."""
        if self._acknowledged.get((user_id, device_id), -1) >= upto:
            return
        pending = await self._db.fetchone(
            "SELECT 1 FROM device_inbox"
            " WHERE user_id = ? AND device_id = ? AND stream_id <= ? LIMIT 1",
            (user_id, device_id, upto),
        )
        if pending is not None:
            async with self._db.transaction("delete_acknowledged_to_device") as txn:
                await txn.execute(
                    "DELETE FROM device_inbox"
                    " WHERE user_id = ? AND device_id = ? AND stream_id <= ?",
                    (user_id, device_id, upto),
                )
        self._acknowledged[(user_id, device_id)] = upto

    async def delete_device(
        self, txn: Transaction, user_id: str, device_id: str
    ) -> None:
        await txn.execute(
            "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
