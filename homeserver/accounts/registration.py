"""Account creation: user name rules, registration tokens, the new user's first session.

Spec: Client-Server API, "Account registration and management" and "Token-authenticated
registration" (`m.login.registration_token`).
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from homeserver.accounts.devices import DeviceManager
from homeserver.accounts.store import AccountStore
from homeserver.accounts.uia import StageFailed, UiaSession
from homeserver.auth import TokenStore
from homeserver.errors import InvalidUsername, UserInUse
from homeserver.identifiers import MAX_ID_LENGTH, is_valid_new_localpart
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)

REGISTRATION_TOKEN_STAGE = "m.login.registration_token"
DUMMY_STAGE = "m.login.dummy"
# Spec grammar of registration tokens.
_TOKEN_GRAMMAR = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")


@dataclass(frozen=True)
class NewAccount:
    user_id: str
    # None when the request set `inhibit_login`.
    device_id: str | None
    access_token: str | None


class Registrar:
    """Validates user names and creates accounts."""

    def __init__(
        self,
        db: Database,
        store: AccountStore,
        devices: DeviceManager,
        tokens: TokenStore,
        server_name: str,
        registration_tokens: tuple[str, ...],
    ) -> None:
        self._db = db
        self._store = store
        self._devices = devices
        self._tokens = tokens
        self._server_name = server_name
        self._registration_tokens = frozenset(registration_tokens)

    @property
    def requires_token(self) -> bool:
        return bool(self._registration_tokens)

    def flows(self) -> list[list[str]]:
        """The UIA flows of `POST /register`: a token when any are configured."""
        if self._registration_tokens:
            return [[REGISTRATION_TOKEN_STAGE]]
        return [[DUMMY_STAGE]]

    def is_valid_token(self, token: Any) -> bool:
        return (
            isinstance(token, str)
            and bool(_TOKEN_GRAMMAR.match(token))
            and token in self._registration_tokens
        )

    async def token_stage(self, auth: dict[str, Any], session: UiaSession) -> None:
        """`m.login.registration_token`: the token is recorded once the user exists."""
        token = auth.get("token")
        if not self.is_valid_token(token):
            raise StageFailed("M_FORBIDDEN", "Invalid registration token")
        session.results["registration_token"] = token

    def user_id_for(self, localpart: str) -> str:
        """Return the user ID for a requested localpart, or raise `InvalidUsername`."""
        if not localpart:
            raise InvalidUsername("User name must not be empty")
        if not is_valid_new_localpart(localpart):
            raise InvalidUsername(
                "User name may contain only the characters a-z, 0-9, '.', '_', '=',"
                " '-', '/' and '+'"
            )
        user_id = f"@{localpart}:{self._server_name}"
        if len(user_id.encode("utf-8")) > MAX_ID_LENGTH:
            raise InvalidUsername(
                f"User ID {user_id} is longer than {MAX_ID_LENGTH} bytes"
            )
        return user_id

    async def check_available(self, localpart: str) -> str:
        """Return the user ID, or raise `InvalidUsername` or `UserInUse`."""
        user_id = self.user_id_for(localpart)
        # Deactivated accounts keep their ID, so it is never handed to someone else.
        if await self._store.get_user(user_id) is not None:
            raise UserInUse(f"User ID {user_id} is already taken")
        return user_id

    async def random_user_id(self) -> str:
        while True:
            user_id = f"@u{secrets.token_hex(6)}:{self._server_name}"
            if await self._store.get_user(user_id) is None:
                return user_id

    async def create(
        self,
        user_id: str,
        password_hash: str | None,
        *,
        device_id: str | None = None,
        device_display_name: str | None = None,
        inhibit_login: bool = False,
        admin: bool = False,
        user_type: str | None = None,
        displayname: str | None = None,
        registration_token: str | None = None,
        ip: str | None = None,
    ) -> NewAccount:
        """Create the user and, unless `inhibit_login`, a device with an access token.

        Raises `UserInUse` when another request created the same user first.
        """
        access_token = None
        try:
            async with self._db.transaction("register_user") as txn:
                await self._store.insert_user(
                    txn,
                    user_id,
                    password_hash,
                    admin=admin,
                    user_type=user_type,
                    displayname=displayname,
                )
                if registration_token is not None:
                    await self._store.record_registration_token_use(
                        txn, registration_token, user_id
                    )
                if not inhibit_login:
                    device_id = await self._devices.ensure_device(
                        txn, user_id, device_id, device_display_name, ip
                    )
                    access_token = await self._tokens.issue(txn, user_id, device_id)
        except sqlite3.IntegrityError as exc:
            raise UserInUse(f"User ID {user_id} is already taken") from exc
        logger.info("Registered user %s (admin=%s)", user_id, admin)
        if inhibit_login:
            return NewAccount(user_id, None, None)
        return NewAccount(user_id, device_id, access_token)
