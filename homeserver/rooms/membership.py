"""Membership changes of local users: join, invite, leave, kick, ban, unban, forget.

The room version's auth rules decide whether a change is allowed. The checks here only
give clearer errors first, such as "not invited" instead of a rule number, and fill in what
the rules need, like `join_authorised_via_users_server` for restricted rooms.
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.errors import Forbidden, NotFound
from homeserver.events.power_levels import get_user_power_level, get_named_level
from homeserver.events.stripped import STRIPPED_STATE_TYPES, strip_event
from homeserver.identifiers import server_name_of
from homeserver.rooms.pipeline import EventPipeline
from homeserver.rooms.room_cache import RoomCache, RoomSnapshot
from homeserver.rooms.user_rooms import UserRooms
from homeserver.storage.database import Database
from homeserver.storage.events import PersistedEvent

logger = logging.getLogger(__name__)


class ProfileSource:
    """The source of the display name and avatar in membership events."""

    async def get_profile(self, user_id: str) -> tuple[str | None, str | None]:
        raise NotImplementedError


class DatabaseProfiles(ProfileSource):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_profile(self, user_id: str) -> tuple[str | None, str | None]:
        row = await self._db.fetchone(
            "SELECT displayname, avatar_url FROM users WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None, None
        return row["displayname"], row["avatar_url"]


def invite_room_state(snapshot: RoomSnapshot, inviter: str) -> list[dict[str, Any]]:
    """Return the stripped state for an invitee: the recommended types and the inviter."""
    stripped = [
        strip_event(event)
        for key in STRIPPED_STATE_TYPES
        if (event := snapshot.state.get(key)) is not None
    ]
    inviter_member = snapshot.state.get(("m.room.member", inviter))
    if inviter_member is not None:
        stripped.append(strip_event(inviter_member))
    return stripped


class MembershipHandler:
    """Sends `m.room.member` events for local users."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        rooms: RoomCache,
        profiles: ProfileSource,
        server_name: str,
        user_rooms: UserRooms,
    ) -> None:
        self._db = db
        self._user_rooms = user_rooms
        self._pipeline = pipeline
        self._rooms = rooms
        self._profiles = profiles
        self._server_name = server_name

    async def own_member_content(
        self, user_id: str, membership: str, reason: str | None = None
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"membership": membership}
        displayname, avatar_url = await self._profiles.get_profile(user_id)
        if displayname is not None:
            content["displayname"] = displayname
        if avatar_url is not None:
            content["avatar_url"] = avatar_url
        if reason is not None:
            content["reason"] = reason
        return content

    async def _snapshot(self, room_id: str) -> RoomSnapshot:
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            raise NotFound(f"Unknown room {room_id}")
        return snapshot

    async def join(
        self,
        user_id: str,
        room_id: str,
        reason: str | None = None,
        extra_content: dict[str, Any] | None = None,
    ) -> PersistedEvent:
        snapshot = await self._snapshot(room_id)
        content = await self._membership_content_keeping(
            snapshot, user_id, "join", reason
        )
        if extra_content:
            content.update(extra_content)

        def precheck(current: RoomSnapshot) -> None:
            membership = current.membership_of(user_id)
            if membership == "ban":
                raise Forbidden(f"{user_id} is banned from {room_id}")
            join_rule_event = current.get("m.room.join_rules")
            join_rule = (
                join_rule_event.content.get("join_rule")
                if join_rule_event is not None
                else "invite"
            )
            if membership in ("join", "invite"):
                return
            if join_rule == "public":
                return
            if join_rule in ("restricted", "knock_restricted"):
                authoriser = self._restricted_join_authoriser(current, user_id)
                if authoriser is not None:
                    content["join_authorised_via_users_server"] = authoriser
                    return
            raise Forbidden(f"{user_id} is not invited to {room_id}")

        return await self._pipeline.send(
            room_id, user_id, "m.room.member", content, user_id, precheck=precheck
        )

    def _restricted_join_authoriser(
        self, snapshot: RoomSnapshot, user_id: str
    ) -> str | None:
        """Pick a local member who can invite, if `user_id` is in an allowed room."""
        join_rules = snapshot.get("m.room.join_rules")
        allow = join_rules.content.get("allow", []) if join_rules is not None else []
        allowed_rooms = {
            entry.get("room_id")
            for entry in allow
            if isinstance(entry, dict) and entry.get("type") == "m.room_membership"
        }
        if not any(
            (other := self._rooms_peek(room)) is not None
            and user_id in other.joined
            for room in allowed_rooms
            if isinstance(room, str)
        ):
            return None
        power_event = snapshot.get("m.room.power_levels")
        invite_level = get_named_level("invite", power_event, snapshot.version)
        for member in sorted(snapshot.joined):
            if server_name_of(member) != self._server_name:
                continue
            level = get_user_power_level(member, snapshot.state, snapshot.version)
            if level >= invite_level:
                return member
        return None

    def _rooms_peek(self, room_id: str) -> RoomSnapshot | None:
        # Only rooms already in memory are checked: a restricted join needs the
        # allowed room's membership, and loading it here would need an await.
        return self._rooms._rooms.get(room_id)  # noqa: SLF001

    async def _membership_content_keeping(
        self, snapshot: RoomSnapshot, user_id: str, membership: str, reason: str | None
    ) -> dict[str, Any]:
        content = await self.own_member_content(user_id, membership, reason)
        return content

    async def invite(
        self,
        sender: str,
        room_id: str,
        target: str,
        reason: str | None = None,
        is_direct: bool = False,
    ) -> PersistedEvent:
        snapshot = await self._snapshot(room_id)
        if server_name_of(target) != self._server_name:
            # NOTE: inviting users of other servers needs the federation invite API.
            raise Forbidden("Inviting users of other servers is not supported yet")
        exists = await self._db.fetchvalue(
            "SELECT 1 FROM users WHERE user_id = ?", (target,)
        )
        if exists is None:
            raise NotFound(f"Unknown user {target}")
        content: dict[str, Any] = {"membership": "invite"}
        displayname, avatar_url = await self._profiles.get_profile(target)
        if displayname is not None:
            content["displayname"] = displayname
        if avatar_url is not None:
            content["avatar_url"] = avatar_url
        if is_direct:
            content["is_direct"] = True
        if reason is not None:
            content["reason"] = reason

        def precheck(current: RoomSnapshot) -> None:
            membership = current.membership_of(target)
            if membership == "join":
                raise Forbidden(f"{target} is already in the room")
            if membership == "ban":
                raise Forbidden(f"{target} is banned from the room")

        del snapshot
        return await self._pipeline.send(
            room_id,
            sender,
            "m.room.member",
            content,
            target,
            precheck=precheck,
            unsigned_for_event=lambda current: {
                "invite_room_state": invite_room_state(current, sender)
            },
        )

    async def leave(
        self, user_id: str, room_id: str, reason: str | None = None
    ) -> PersistedEvent | None:
        """Leave a room, or reject an invite; None if the user had already left."""
        snapshot = await self._snapshot(room_id)
        membership = snapshot.membership_of(user_id)
        if membership in (None, "leave"):
            return None
        if membership == "ban":
            raise Forbidden(f"{user_id} is banned from {room_id}")
        content: dict[str, Any] = {"membership": "leave"}
        if reason is not None:
            content["reason"] = reason
        return await self._pipeline.send(
            room_id, user_id, "m.room.member", content, user_id
        )

    async def set_membership_of(
        self,
        sender: str,
        room_id: str,
        target: str,
        membership: str,
        reason: str | None,
    ) -> PersistedEvent:
        """Kick (`leave`), ban or unban (`leave` from `ban`) another user."""
        await self._snapshot(room_id)
        content: dict[str, Any] = {"membership": membership}
        if reason is not None:
            content["reason"] = reason

        def precheck(current: RoomSnapshot) -> None:
            now = current.membership_of(target)
            if membership == "leave" and now in (None, "leave"):
                raise Forbidden(f"{target} is not in the room")

        return await self._pipeline.send(
            room_id, sender, "m.room.member", content, target, precheck=precheck
        )

    async def unban(
        self, sender: str, room_id: str, target: str, reason: str | None
    ) -> PersistedEvent:
        snapshot = await self._snapshot(room_id)
        if snapshot.membership_of(target) != "ban":
            raise Forbidden(f"{target} is not banned")
        return await self.set_membership_of(sender, room_id, target, "leave", reason)

    async def forget(self, user_id: str, room_id: str) -> None:
        row = await self._db.fetchone(
            "SELECT membership FROM room_memberships WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )
        if row is None:
            raise NotFound(f"{user_id} has never been in {room_id}")
        if row["membership"] in ("join", "invite", "knock"):
            raise Forbidden("Leave the room before forgetting it")
        async with self._db.transaction("forget_room") as txn:
            await txn.execute(
                "UPDATE room_memberships SET forgotten = 1"
                " WHERE room_id = ? AND user_id = ?",
                (room_id, user_id),
            )
            txn.call_after_commit(lambda: self._user_rooms.invalidate(user_id))

    async def update_profile_in_rooms(
        self, user_id: str, displayname: str | None, avatar_url: str | None
    ) -> None:
        """Send a new join event with the profile in every room the user is joined to."""
        rows = await self._db.fetchall(
            "SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join'",
            (user_id,),
        )
        for row in rows:
            room_id = row["room_id"]
            snapshot = await self._rooms.get(room_id)
            if snapshot is None:
                continue
            current = snapshot.get("m.room.member", user_id)
            if current is None or current.membership != "join":
                continue
            content = dict(current.content)
            for key, value in (("displayname", displayname), ("avatar_url", avatar_url)):
                if value is None:
                    content.pop(key, None)
                else:
                    content[key] = value
            content.pop("join_authorised_via_users_server", None)
            if content == current.content:
                continue
            try:
                await self._pipeline.send(
                    room_id, user_id, "m.room.member", content, user_id
                )
            except Forbidden as exc:
                logger.warning(
                    "Could not update profile of %s in %s: %s", user_id, room_id, exc
                )
