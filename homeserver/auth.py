"""Access tokens: issuing them and resolving a request's token to its user and device."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from homeserver.errors import UnknownToken
from homeserver.identifiers import DeviceID, UserID
from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

_TOKEN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Requester:
    """The authenticated user and device behind a request."""

    user_id: UserID
    device_id: DeviceID
    token_id: int
    is_admin: bool = False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Issues, resolves and revokes access tokens.

    Tokens are stored as SHA-256 digests; resolved tokens are cached in memory and the cache
    entry is dropped whenever a token is revoked.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[str, Requester] = OrderedDict()

    async def issue(self, txn: Transaction, user_id: str, device_id: str) -> str:
        """Create a token for the device inside the caller's transaction."""
        token = "mat_" + secrets.token_urlsafe(32)
        await txn.execute(
            "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts)"
            " VALUES (?, ?, ?, ?)",
            (hash_token(token), user_id, device_id, int(time.time() * 1000)),
        )
        return token

    async def resolve(self, token: str) -> Requester:
        """Return the requester for `token` or raise `UnknownToken`."""
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        row = await self._db.fetchone(
            "SELECT t.id, t.user_id, t.device_id, u.admin, u.deactivated"
            " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.token_hash = ?",
            (digest,),
        )
        if row is None or row["deactivated"]:
            raise UnknownToken("Unrecognised access token")
        requester = Requester(
            user_id=UserID(row["user_id"]),
            device_id=DeviceID(row["device_id"]),
            token_id=row["id"],
            is_admin=bool(row["admin"]),
        )
        self._cache[digest] = requester
        if len(self._cache) > _TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)
        return requester

    async def revoke_token(self, txn: Transaction, token_id: int) -> None:
        await txn.execute("DELETE FROM access_tokens WHERE id = ?", (token_id,))
        txn.call_after_commit(lambda: self._forget(lambda r: r.token_id == token_id))

    async def revoke_device(self, txn: Transaction, user_id: str, device_id: str) -> None:
        await txn.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
            (user_id, device_id),
        )
        txn.call_after_commit(
            lambda: self._forget(
                lambda r: r.user_id == user_id and r.device_id == device_id
            )
        )

    async def revoke_user(
        self, txn: Transaction, user_id: str, except_token_id: int | None = None
    ) -> None:
        await txn.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND id != ?",
            (user_id, except_token_id if except_token_id is not None else -1),
        )
        txn.call_after_commit(
            lambda: self._forget(
                lambda r: r.user_id == user_id and r.token_id != except_token_id
            )
        )

    def invalidate_user(self, user_id: str) -> None:
        """Drop cached tokens of a user whose admin or deactivated flag changed."""
        self._forget(lambda r: r.user_id == user_id)

    def _forget(self, predicate) -> None:
        for digest in [d for d, r in self._cache.items() if predicate(r)]:
            del self._cache[digest]
