"""A small in-memory room for the authorization rule tests."""

from __future__ import annotations

from typing import Any

from homeserver.events.auth import check_auth_rules
from homeserver.events.event import Event
from homeserver.events.room_versions import RoomVersion

from tests.events.event_builders import make_pdu

ALICE = "@alice:a.example"
BOB = "@bob:b.example"
CAROL = "@carol:c.example"
DAVE = "@dave:a.example"


class Room:
    """A room whose state map grows as events are added.

    The room starts with a create event by `creator` and, unless `bare` is set, the
    creator's join. `additional_creators` only has meaning from v12.
    """

    def __init__(
        self,
        room_version: RoomVersion,
        creator: str = ALICE,
        *,
        create_content: dict[str, Any] | None = None,
        bare: bool = False,
    ) -> None:
        self.room_version = room_version
        content: dict[str, Any] = {"room_version": room_version.identifier}
        if not room_version.implicit_room_creator:
            content["creator"] = creator
        content.update(create_content or {})

        self.state: dict[tuple[str, str], Event] = {}
        self.latest: list[str] = []
        if room_version.room_id_from_create_event:
            pdu = make_pdu(
                room_version,
                event_type="m.room.create",
                sender=creator,
                state_key="",
                content=content,
                room_id=None,
                depth=1,
            )
            self.create = Event(pdu, room_version)
            self.room_id = self.create.room_id
        else:
            self.room_id = "!room:" + creator.split(":", 1)[1]
            self.create = self._build(
                "m.room.create", creator, content, "", prev_events=[], depth=1
            )
        self._store(self.create)

        if not bare:
            self.add("m.room.member", creator, {"membership": "join"}, creator)

    def _build(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None,
        **kwargs: Any,
    ) -> Event:
        kwargs.setdefault("prev_events", list(self.latest))
        kwargs.setdefault("room_id", self.room_id)
        pdu = make_pdu(
            self.room_version,
            event_type=event_type,
            sender=sender,
            content=content,
            state_key=state_key,
            **kwargs,
        )
        return Event(pdu, self.room_version)

    def _store(self, event: Event) -> None:
        if event.state_key is not None:
            self.state[(event.type, event.state_key)] = event
        self.latest = [event.event_id]

    def event(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any] | None = None,
        state_key: str | None = None,
        **kwargs: Any,
    ) -> Event:
        """Build an event on top of the room without adding it to the state."""
        return self._build(event_type, sender, content or {}, state_key, **kwargs)

    def add(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any] | None = None,
        state_key: str | None = None,
    ) -> Event:
        """Build an event, check that it is allowed and add it to the state."""
        event = self.event(event_type, sender, content, state_key)
        self.check(event)
        self._store(event)
        return event

    def force(self, event_type: str, state_key: str, content: dict[str, Any]) -> Event:
        """Put a state event into the state without checking it."""
        event = self.event(event_type, ALICE, content, state_key)
        self._store(event)
        return event

    def member(self, user_id: str, membership: str, sender: str | None = None) -> Event:
        return self.event(
            "m.room.member", sender or user_id, {"membership": membership}, user_id
        )

    def set_membership(self, user_id: str, membership: str) -> None:
        self.force("m.room.member", user_id, {"membership": membership})

    def check(self, event: Event) -> None:
        check_auth_rules(self.room_version, event, self.state)
