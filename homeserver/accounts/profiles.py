"""User profiles: display name, avatar and custom fields.

Spec: Client-Server API, "Profiles" (custom fields and `m.tz` since v1.16). A change of
display name or avatar is copied into the user's `m.room.member` event in every joined
room before the request is answered, so room members see the new profile right away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from homeserver.accounts.store import AccountStore
from homeserver.errors import (
    BadJSON,
    Forbidden,
    InvalidParam,
    MatrixError,
    MissingParam,
    NotFound,
)
from homeserver.identifiers import is_valid_user_id, server_name_of
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1000
MAX_KEY_BYTES = 255
MAX_PROFILE_BYTES = 64 * 1024

# The keys the member event carries; the other fields stay in the profile only.
MEMBER_EVENT_FIELDS = ("displayname", "avatar_url")
_KEY_GRAMMAR = re.compile(
    r"^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"
)


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ProfileManager:
    """Reads and writes profiles of local users."""

    def __init__(
        self,
        db: Database,
        store: AccountStore,
        server_name: str,
        services: Any,
    ) -> None:
        self._db = db
        self._store = store
        self._server_name = server_name
        # The pipeline and room cache are reached through `services` at call time.
        self._services = services

    def check_key(self, key: str) -> None:
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise MatrixError(
                400,
                "M_KEY_TOO_LARGE",
                f"Profile key is longer than {MAX_KEY_BYTES} bytes",
            )
        if not _KEY_GRAMMAR.match(key):
            raise InvalidParam(f"Invalid profile key {key!r}")

    async def _local_user(self, user_id: str) -> None:
        if not is_valid_user_id(user_id):
            raise InvalidParam(f"Invalid user ID {user_id!r}")
        if server_name_of(user_id) != self._server_name:
            # TODO: query the user's server over federation once a profile query
            # client exists; until then remote profiles are reported as not found.
            raise NotFound(f"Profile of remote user {user_id} is not available")
        if await self._store.get_user(user_id) is None:
            raise NotFound(f"User {user_id} not found")

    async def get_profile(self, user_id: str) -> dict[str, Any]:
        """Return every field of a local user's profile; `NotFound` if unknown."""
        await self._local_user(user_id)
        user = await self._store.get_user(user_id)
        assert user is not None
        profile: dict[str, Any] = await self._store.get_profile_fields(user_id)
        if user.displayname is not None:
            profile["displayname"] = user.displayname
        if user.avatar_url is not None:
            profile["avatar_url"] = user.avatar_url
        return profile

    async def get_field(self, user_id: str, key: str) -> Any:
        """Return one field's value; `NotFound` if the user or the field is missing."""
        self.check_key(key)
        profile = await self.get_profile(user_id)
        if key not in profile:
            raise NotFound(f"User {user_id} has no profile field {key!r}")
        return profile[key]

    async def set_field(
        self, requester_id: str, user_id: str, key: str, body: dict[str, Any]
    ) -> None:
        """Set a profile field from a request body `{key: value}`."""
        self.check_key(key)
        if requester_id != user_id:
            raise Forbidden("You may only change your own profile")
        await self._local_user(user_id)
        if key not in body:
            raise MissingParam(f"Missing required field {key!r}")
        value = self._check_value(key, body[key])
        await self._store_field(user_id, key, value, delete=False)
        if key in MEMBER_EVENT_FIELDS:
            await self.update_member_events(user_id)

    async def delete_field(self, requester_id: str, user_id: str, key: str) -> None:
        self.check_key(key)
        if requester_id != user_id:
            raise Forbidden("You may only change your own profile")
        await self._local_user(user_id)
        await self._store_field(user_id, key, None, delete=True)
        if key in MEMBER_EVENT_FIELDS:
            await self.update_member_events(user_id)

    def _check_value(self, key: str, value: Any) -> Any:
        if key == "displayname":
            # Null or empty removes the display name, as clients before v1.16 expect.
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise BadJSON("displayname must be a string")
            if len(value) > MAX_DISPLAYNAME_LENGTH:
                raise InvalidParam(
                    f"displayname is longer than {MAX_DISPLAYNAME_LENGTH} characters"
                )
        elif key == "avatar_url":
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise BadJSON("avatar_url must be a string")
            if len(value) > MAX_AVATAR_URL_LENGTH:
                raise InvalidParam(
                    f"avatar_url is longer than {MAX_AVATAR_URL_LENGTH} characters"
                )
            if not value.startswith("mxc://"):
                raise InvalidParam("avatar_url must be an mxc:// URI")
        elif key == "m.tz":
            if not isinstance(value, str):
                raise BadJSON("m.tz must be a string")
        return value

    async def _store_field(
        self, user_id: str, key: str, value: Any, *, delete: bool
    ) -> None:
        async with self._db.transaction("set_profile_field") as txn:
            if key in MEMBER_EVENT_FIELDS:
                await self._store.set_profile_columns(
                    txn, user_id, {key: None if delete else value}
                )
                return
            if delete:
                await self._store.delete_profile_field(txn, user_id, key)
                return
            encoded = _encode(value)
            fields = await self._store.profile_fields_in_txn(txn, user_id)
            fields[key] = encoded
            user = await self._store.get_user_in_txn(txn, user_id)
            assert user is not None
            size = sum(len(k.encode()) + len(v.encode()) for k, v in fields.items())
            size += len((user.displayname or "").encode())
            size += len((user.avatar_url or "").encode())
            if size > MAX_PROFILE_BYTES:
                raise MatrixError(
                    400,
                    "M_PROFILE_TOO_LARGE",
                    f"The profile would be larger than {MAX_PROFILE_BYTES} bytes",
                )
            await self._store.set_profile_field(txn, user_id, key, encoded)

    async def update_member_events(self, user_id: str) -> None:
        """Send a new member event with the current profile into each joined room.

        A room that rejects the event is logged and skipped, so one room with strict
        power levels does not fail the profile change.
        """
        user = await self._store.get_user(user_id)
        if user is None:
            return
        rooms = await self._store.room_ids_with_membership(user_id, ("join",))
        await asyncio.gather(
            *(
                self._update_member_event(
                    room_id, user_id, user.displayname, user.avatar_url
                )
                for room_id, _ in rooms
            )
        )

    async def _update_member_event(
        self,
        room_id: str,
        user_id: str,
        displayname: str | None,
        avatar_url: str | None,
    ) -> None:
        snapshot = await self._services.room_cache.get(room_id)
        if snapshot is None:
            return
        current = snapshot.state.get(("m.room.member", user_id))
        if current is None or current.membership != "join":
            return
        content = dict(current.content)
        # The authorising server signed only the original join, so a copy of this key
        # would fail the restricted-join checks.
        content.pop("join_authorised_via_users_server", None)
        for key, value in (("displayname", displayname), ("avatar_url", avatar_url)):
            if value is None:
                content.pop(key, None)
            else:
                content[key] = value
        if content == current.content:
            return
        try:
            await self._services.pipeline.send(
                room_id, user_id, "m.room.member", content, state_key=user_id
            )
        except MatrixError as exc:
            logger.warning(
                "Could not update the member event of %s in %s: %s %s",
                user_id,
                room_id,
                exc.errcode,
                exc.message,
            )
