"""Password login and the `m.login.password` auth stage.

Spec: Client-Server API, "Login" and "Password-based" authentication. A client names
the user with `identifier: {"type": "m.id.user", "user": ...}` or, before v1.0, the
top-level `user` field. Either holds a localpart or a full user ID of this server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from homeserver.accounts.devices import (
    MAX_DEVICE_ID_LENGTH,
    MAX_DEVICE_NAME_LENGTH,
    DeviceManager,
)
from homeserver.accounts.passwords import hash_password, needs_rehash, verify_password
from homeserver.accounts.store import AccountStore, UserRecord
from homeserver.accounts.uia import StageCheck, StageFailed, UiaSession
from homeserver.auth import TokenStore
from homeserver.errors import BadJSON, Forbidden, InvalidParam, MatrixError
from homeserver.identifiers import is_valid_user_id, server_name_of
from homeserver.ratelimit import RateLimiter
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)

PASSWORD_LOGIN = "m.login.password"
_INVALID_CREDENTIALS = "Invalid username or password"


@dataclass(frozen=True)
class Session:
    """A new access token and the device it belongs to."""

    user_id: str
    device_id: str
    access_token: str


def user_id_from_auth(body: dict[str, Any], server_name: str) -> str:
    """Return the user ID that a login or auth body names.

    Raises `BadJSON` for a malformed identifier and `Forbidden` for third-party
    identifiers, which this server does not store, or a user of another server.
    """
    identifier = body.get("identifier")
    if identifier is not None:
        if not isinstance(identifier, dict):
            raise BadJSON("identifier must be a JSON object")
        kind = identifier.get("type")
        if kind != "m.id.user":
            raise Forbidden(f"Login with identifier type {kind!r} is not supported")
        user = identifier.get("user")
    else:
        user = body.get("user")
    if not isinstance(user, str) or not user:
        raise BadJSON("The user must be given as identifier.user, a non-empty string")
    if not user.startswith("@"):
        user = f"@{user}:{server_name}"
    if not is_valid_user_id(user) or server_name_of(user) != server_name:
        raise Forbidden(_INVALID_CREDENTIALS)
    return user


def device_id_from_body(body: dict[str, Any]) -> str | None:
    device_id = body.get("device_id")
    if device_id is None:
        return None
    if not isinstance(device_id, str) or not device_id:
        raise BadJSON("device_id must be a non-empty string")
    if len(device_id) > MAX_DEVICE_ID_LENGTH:
        raise InvalidParam(
            f"device_id is longer than {MAX_DEVICE_ID_LENGTH} characters"
        )
    return device_id


def display_name_from_body(body: dict[str, Any]) -> str | None:
    """Return `initial_device_display_name`, cut to `MAX_DEVICE_NAME_LENGTH`."""
    name = body.get("initial_device_display_name")
    if name is None:
        return None
    if not isinstance(name, str):
        raise BadJSON("initial_device_display_name must be a string")
    return name[:MAX_DEVICE_NAME_LENGTH]


class PasswordAuthenticator:
    """Checks user passwords for login and for the `m.login.password` stage."""

    def __init__(
        self,
        db: Database,
        store: AccountStore,
        devices: DeviceManager,
        tokens: TokenStore,
        server_name: str,
        limiter: RateLimiter,
    ) -> None:
        self._db = db
        self._store = store
        self._devices = devices
        self._tokens = tokens
        self._server_name = server_name
        self._limiter = limiter

    async def _find_user(self, user_id: str) -> UserRecord | None:
        user = await self._store.get_user(user_id)
        if user is None:
            # New localparts are lower case, but people type their name as they like.
            user = await self._store.find_user_case_insensitive(user_id)
        return user

    async def check_password(self, user_id: str, password: Any) -> UserRecord:
        """Return the user if `password` is theirs; raise `Forbidden` otherwise.

        Every attempt takes one token of the per-user login rate limit, so guessing a
        password is slow from any number of addresses.
        """
        if not isinstance(password, str):
            raise BadJSON("password must be a string")
        self._limiter.check(f"user:{user_id.lower()}")
        user = await self._find_user(user_id)
        if user is not None and user.deactivated:
            raise MatrixError(403, "M_USER_DEACTIVATED", "This account is deactivated")
        stored = user.password_hash if user is not None else None
        if user is None or not await verify_password(stored, password):
            logger.info("Failed password check for %s", user_id)
            raise Forbidden(_INVALID_CREDENTIALS)
        if stored is not None and needs_rehash(stored):
            new_hash = await hash_password(password)
            async with self._db.transaction("rehash_password") as txn:
                await self._store.set_password_hash(txn, user.user_id, new_hash)
        return user

    async def login(self, body: dict[str, Any], ip: str) -> Session:
        """Check a `POST /login` body of type `m.login.password` and start a session."""
        login_type = body.get("type")
        if login_type != PASSWORD_LOGIN:
            raise MatrixError(
                400, "M_UNKNOWN", f"Unsupported login type {login_type!r}"
            )
        user_id = user_id_from_auth(body, self._server_name)
        device_id = device_id_from_body(body)
        display_name = display_name_from_body(body)
        user = await self.check_password(user_id, body.get("password"))
        async with self._db.transaction("login") as txn:
            device_id = await self._devices.ensure_device(
                txn, user.user_id, device_id, display_name, ip
            )
            token = await self._tokens.issue(txn, user.user_id, device_id)
        logger.info("User %s logged in on device %s", user.user_id, device_id)
        return Session(user.user_id, device_id, token)

    def password_stage(self, user_id: str) -> StageCheck:
        """Return the `m.login.password` stage check for an authenticated `user_id`."""

        async def check(auth: dict[str, Any], session: UiaSession) -> None:
            named = user_id
            if "identifier" in auth or "user" in auth:
                try:
                    named = user_id_from_auth(auth, self._server_name)
                except (BadJSON, Forbidden) as exc:
                    raise StageFailed("M_FORBIDDEN", exc.message) from None
            if named.lower() != user_id.lower():
                raise StageFailed("M_FORBIDDEN", "The auth names another user")
            try:
                await self.check_password(user_id, auth.get("password"))
            except (BadJSON, Forbidden) as exc:
                raise StageFailed("M_FORBIDDEN", exc.message) from None
            except MatrixError as exc:
                if exc.errcode == "M_LIMIT_EXCEEDED":
                    raise
                raise StageFailed(exc.errcode, exc.message) from None

        return check
