"""Changes to an existing account: logout, password change, deactivation.

Spec: Client-Server API, "Login" (`/logout`, `/logout/all`), "Password management" and
"Account deactivation".
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.accounts.devices import DeviceManager
from homeserver.accounts.passwords import check_password_length, hash_password
from homeserver.accounts.store import AccountStore
from homeserver.auth import Requester, TokenStore
from homeserver.errors import MatrixError
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)

# Memberships that deactivation ends: joined rooms are left and invites rejected.
_MEMBERSHIPS_TO_LEAVE = ("join", "invite", "knock")


class AccountManager:
    """Ends sessions and changes or deactivates accounts."""

    def __init__(
        self,
        db: Database,
        store: AccountStore,
        devices: DeviceManager,
        tokens: TokenStore,
        services: Any,
    ) -> None:
        self._db = db
        self._store = store
        self._devices = devices
        self._tokens = tokens
        # Reached at call time for the optional `rooms` component and the pipeline.
        self._services = services

    async def logout(self, requester: Requester) -> None:
        """Revoke the request's token and delete its device."""
        async with self._db.transaction("logout") as txn:
            await self._tokens.revoke_token(txn, requester.token_id)
            await self._devices.delete(txn, requester.user_id, requester.device_id)
        logger.info(
            "User %s logged out device %s", requester.user_id, requester.device_id
        )

    async def logout_all(self, requester: Requester) -> None:
        """Revoke every token of the user and delete every device."""
        async with self._db.transaction("logout_all") as txn:
            await self._tokens.revoke_user(txn, requester.user_id)
            await self._devices.delete_all_except(txn, requester.user_id, None)
        logger.info("User %s logged out all devices", requester.user_id)

    async def change_password(
        self, requester: Requester, new_password: str, logout_devices: bool
    ) -> None:
        """Store a new password; with `logout_devices`, end every other session.

        The request's own token and device stay, so the client remains logged in.
        """
        check_password_length(new_password)
        new_hash = await hash_password(new_password)
        async with self._db.transaction("change_password") as txn:
            await self._store.set_password_hash(txn, requester.user_id, new_hash)
            if logout_devices:
                await self._tokens.revoke_user(
                    txn, requester.user_id, except_token_id=requester.token_id
                )
                await self._devices.delete_all_except(
                    txn, requester.user_id, requester.device_id
                )
        logger.info(
            "User %s changed their password (logout_devices=%s)",
            requester.user_id,
            logout_devices,
        )

    async def deactivate(self, user_id: str, erase: bool) -> None:
        """Deactivate the account, end its sessions and leave its rooms.

        The user ID stays reserved. With `erase`, the profile is cleared as well.
        """
        async with self._db.transaction("deactivate_account") as txn:
            await self._store.mark_deactivated(txn, user_id)
            await self._tokens.revoke_user(txn, user_id)
            await self._devices.delete_all_except(txn, user_id, None)
            if erase:
                await self._store.clear_profile(txn, user_id)
            txn.call_after_commit(lambda: self._tokens.invalidate_user(user_id))
        logger.info("Deactivated user %s (erase=%s)", user_id, erase)
        await self._leave_rooms(user_id)

    async def _leave_rooms(self, user_id: str) -> None:
        rooms = await self._store.room_ids_with_membership(
            user_id, _MEMBERSHIPS_TO_LEAVE
        )
        rooms_component = self._services.components.get("rooms")
        leave = getattr(rooms_component, "leave", None)
        for room_id, membership in rooms:
            try:
                if leave is not None:
                    await leave(user_id=user_id, room_id=room_id)
                else:
                    # NOTE: without a `rooms` component this sends the leave event
                    # directly, skipping anything that component would add (such as
                    # federation of an invite rejection).
                    await self._services.pipeline.send(
                        room_id,
                        user_id,
                        "m.room.member",
                        {"membership": "leave"},
                        state_key=user_id,
                    )
            except MatrixError as exc:
                logger.warning(
                    "Deactivated user %s could not leave %s (membership %s): %s %s",
                    user_id,
                    room_id,
                    membership,
                    exc.errcode,
                    exc.message,
                )
