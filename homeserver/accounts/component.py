"""The accounts component: the one object other features and the routes use.

Registered as `services.components["accounts"]`. Other features use `user_exists`,
`get_profile` and append to `device_deleted_hooks`.
"""

from __future__ import annotations

from typing import Any

from homeserver.accounts.devices import DeviceHook, DeviceManager
from homeserver.accounts.login import PasswordAuthenticator
from homeserver.accounts.management import AccountManager
from homeserver.accounts.profiles import ProfileManager
from homeserver.accounts.registration import Registrar
from homeserver.accounts.shared_secret import NonceRegistry
from homeserver.accounts.store import AccountStore
from homeserver.accounts.uia import UserInteractiveAuth


class Accounts:
    """Users, devices, sessions and profiles of this server."""

    def __init__(self, services: Any) -> None:
        config = services.config
        db = services.db
        self.server_name: str = config.server_name
        self.store = AccountStore(db)
        self.uia = UserInteractiveAuth()
        self.devices = DeviceManager(db, self.store, services.tokens)
        self.passwords = PasswordAuthenticator(
            db,
            self.store,
            self.devices,
            services.tokens,
            config.server_name,
            services.limiters["login"],
        )
        self.registrar = Registrar(
            db,
            self.store,
            self.devices,
            services.tokens,
            config.server_name,
            config.registration.registration_tokens,
        )
        self.management = AccountManager(
            db, self.store, self.devices, services.tokens, services
        )
        self.profiles = ProfileManager(db, self.store, config.server_name, services)
        self.nonces = NonceRegistry()

    @property
    def device_deleted_hooks(self) -> list[DeviceHook]:
        """Hooks awaited as `hook(txn, user_id, device_id)` when a device is deleted.

        They run inside the deleting transaction, before the device row is removed.
        """
        return self.devices.deleted_hooks

    @property
    def device_renamed_hooks(self) -> list[DeviceHook]:
        return self.devices.renamed_hooks

    async def user_exists(self, user_id: str) -> bool:
        """Whether a local account with this ID exists, deactivated or not."""
        return await self.store.get_user(user_id) is not None

    async def get_profile(self, user_id: str) -> tuple[str | None, str | None]:
        """Return (displayname, avatar_url) of a local user; (None, None) if unknown."""
        user = await self.store.get_user(user_id)
        if user is None:
            return None, None
        return user.displayname, user.avatar_url

    async def start(self) -> None:
        await self.devices.start()

    async def stop(self) -> None:
        await self.devices.stop()
