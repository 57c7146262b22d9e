"""Filters for `/sync` and `/messages`: validation, storage and the parsed model.

Spec: Client-Server API, "Filtering" and the `Filter`, `EventFilter` and
`RoomEventFilter` schemas. A client uploads a filter once and refers to it by ID, or
passes the JSON inline. Validation checks the types the schemas give; unknown keys are
kept and ignored, as the schemas allow additional properties.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from homeserver.client_json import parse_client_json
from homeserver.errors import BadJSON, NotFound
from homeserver.events.event import Event
from homeserver.storage.database import Database

logger = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


class FilterFormatError(BadJSON):
    """400 M_BAD_JSON naming the filter field that does not match the schema."""


def _check_bool(data: Mapping[str, Any], key: str, path: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise FilterFormatError(f"Filter field {path}{key} must be a boolean")
    return value


def _check_strings(
    data: Mapping[str, Any], key: str, path: str, sigil: str | None = None
) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise FilterFormatError(f"Filter field {path}{key} must be an array of strings")
    for item in value:
        if not isinstance(item, str):
            raise FilterFormatError(
                f"Filter field {path}{key} must contain only strings, got {item!r}"
            )
        if sigil is not None and not item.startswith(sigil):
            raise FilterFormatError(
                f"Filter field {path}{key} must contain IDs starting with {sigil!r},"
                f" got {item!r}"
            )
    return tuple(value)


def _check_object(data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FilterFormatError(f"Filter field {path}{key} must be an object")
    return value


@lru_cache(maxsize=4096)
def _type_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an event type pattern in which `*` matches any sequence of characters."""
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile(".*".join(parts), re.DOTALL)


def _matches_any(value: str, patterns: Iterable[str]) -> bool:
    return any(_type_pattern(pattern).fullmatch(value) for pattern in patterns)


def _fields_of(event: Event | Mapping[str, Any]) -> tuple[str, str, str, Any]:
    """Return the type, sender, room ID and content of an event object or dict."""
    if isinstance(event, Event):
        return event.type, event.sender, event.room_id, event.content
    return (
        event.get("type", ""),
        event.get("sender", ""),
        event.get("room_id", ""),
        event.get("content"),
    )


@dataclass(frozen=True)
class EventFilter:
    """Spec schema `EventFilter`: types, senders and a limit."""

    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()

    @classmethod
    def parse_fields(cls, data: Mapping[str, Any], path: str) -> dict[str, Any]:
        limit = data.get("limit")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise FilterFormatError(f"Filter field {path}limit must be an integer")
            # NOTE: the schema asks for limit > 0, but clients send 0 to leave a
            # section empty, so only negative limits are rejected.
            if limit < 0:
                raise FilterFormatError(
                    f"Filter field {path}limit must not be negative, got {limit}"
                )
        return {
            "limit": limit,
            "types": _check_strings(data, "types", path),
            "not_types": _check_strings(data, "not_types", path) or (),
            "senders": _check_strings(data, "senders", path, "@"),
            "not_senders": _check_strings(data, "not_senders", path, "@") or (),
        }

    @classmethod
    def parse(cls, data: Mapping[str, Any], path: str = "") -> EventFilter:
        return cls(**cls.parse_fields(data, path))

    def matches_type_and_sender(self, event_type: str, sender: str) -> bool:
        if self.not_types and _matches_any(event_type, self.not_types):
            return False
        if self.types is not None and not _matches_any(event_type, self.types):
            return False
        if sender in self.not_senders:
            return False
        return self.senders is None or sender in self.senders

    def matches(self, event: Event | Mapping[str, Any]) -> bool:
        event_type, sender, _, _ = _fields_of(event)
        return self.matches_type_and_sender(event_type, sender)

    def filter(self, events: Iterable[Any]) -> list[Any]:
        """Return the events that match, in order; the limit is not applied."""
        return [event for event in events if self.matches(event)]

    def limit_or(self, default: int, maximum: int) -> int:
        """Return the filter's limit, or `default` if unset, capped at `maximum`."""
        return min(self.limit if self.limit is not None else default, maximum)


@dataclass(frozen=True)
class RoomEventFilter(EventFilter):
    """Spec schema `RoomEventFilter`: `EventFilter` plus room and lazy-loading keys."""

    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False

    @classmethod
    def parse(cls, data: Mapping[str, Any], path: str = "") -> RoomEventFilter:
        fields = cls.parse_fields(data, path)
        return cls(
            **fields,
            rooms=_check_strings(data, "rooms", path, "!"),
            not_rooms=_check_strings(data, "not_rooms", path, "!") or (),
            contains_url=_check_bool(data, "contains_url", path),
            lazy_load_members=bool(_check_bool(data, "lazy_load_members", path)),
            include_redundant_members=bool(
                _check_bool(data, "include_redundant_members", path)
            ),
            unread_thread_notifications=bool(
                _check_bool(data, "unread_thread_notifications", path)
            ),
        )

    def matches_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def matches(self, event: Event | Mapping[str, Any]) -> bool:
        event_type, sender, room_id, content = _fields_of(event)
        if not self.matches_type_and_sender(event_type, sender):
            return False
        if room_id and not self.matches_room(room_id):
            return False
        if self.contains_url is not None:
            has_url = isinstance(content, dict) and isinstance(content.get("url"), str)
            if has_url != self.contains_url:
                return False
        return True


@dataclass(frozen=True)
class RoomFilter:
    """Spec schema `RoomFilter`: which rooms, and a filter per section of a room."""

    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    include_leave: bool = False
    timeline: RoomEventFilter = field(default_factory=RoomEventFilter)
    state: RoomEventFilter = field(default_factory=RoomEventFilter)
    ephemeral: RoomEventFilter = field(default_factory=RoomEventFilter)
    account_data: RoomEventFilter = field(default_factory=RoomEventFilter)

    @classmethod
    def parse(cls, data: Mapping[str, Any], path: str = "room.") -> RoomFilter:
        sections = {
            name: RoomEventFilter.parse(
                _check_object(data, name, path), f"{path}{name}."
            )
            for name in ("timeline", "state", "ephemeral", "account_data")
        }
        return cls(
            rooms=_check_strings(data, "rooms", path, "!"),
            not_rooms=_check_strings(data, "not_rooms", path, "!") or (),
            include_leave=bool(_check_bool(data, "include_leave", path)),
            **sections,
        )

    def matches_room(self, room_id: str) -> bool:
        """Apply `rooms`/`not_rooms`, before any section filter (spec order)."""
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms


@dataclass(frozen=True)
class Filter:
    """Spec schema `Filter`, as uploaded or passed inline."""

    event_fields: tuple[str, ...] | None = None
    event_format: str = "client"
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)

    @classmethod
    def parse(cls, data: Any) -> Filter:
        """Validate a filter definition; `FilterFormatError` names the bad field."""
        if not isinstance(data, dict):
            raise FilterFormatError("Filter must be a JSON object")
        event_format = data.get("event_format", "client")
        if event_format not in ("client", "federation"):
            raise FilterFormatError(
                f"Filter field event_format must be client or federation,"
                f" got {event_format!r}"
            )
        return cls(
            event_fields=_check_strings(data, "event_fields", ""),
            event_format=event_format,
            presence=EventFilter.parse(
                _check_object(data, "presence", ""), "presence."
            ),
            account_data=EventFilter.parse(
                _check_object(data, "account_data", ""), "account_data."
            ),
            room=RoomFilter.parse(_check_object(data, "room", "")),
        )

    def apply_event_fields(self, event: dict[str, Any]) -> dict[str, Any]:
        """Keep only the `event_fields` paths of a client-format event."""
        if self.event_fields is None:
            return event
        return project_fields(event, self.event_fields)


def split_field_path(path: str) -> list[str]:
    """Split a dot-separated property path; `\\.` is a literal dot, `\\\\` a backslash.

    Spec: Appendices, "Dot-separated property paths".
    """
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def project_fields(event: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """Copy only the given property paths of `event` into a new dict."""
    result: dict[str, Any] = {}
    for path in paths:
        keys = split_field_path(path)
        source: Any = event
        for key in keys:
            if not isinstance(source, Mapping) or key not in source:
                break
            source = source[key]
        else:
            target = result
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = source
    return result


def parse_filter_json(text: str) -> Filter:
    """Parse and validate a filter passed inline as JSON text."""
    return Filter.parse(parse_client_json(text, "Filter"))


class FilterStore:
    """Uploaded filters: IDs count from 0 per user, parsed filters kept in memory."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[tuple[str, int], Filter] = OrderedDict()
        self._inline: OrderedDict[str, Filter] = OrderedDict()

    async def create(self, user_id: str, definition: dict[str, Any]) -> str:
        """Validate and store a filter; return its ID as a string."""
        parsed = Filter.parse(definition)
        async with self._db.transaction("create_filter") as txn:
            row = await txn.fetchone(
                "SELECT MAX(filter_id) FROM filters WHERE user_id = ?", (user_id,)
            )
            filter_id = 0 if row is None or row[0] is None else row[0] + 1
            await txn.execute(
                "INSERT INTO filters (user_id, filter_id, filter_json)"
                " VALUES (?, ?, ?)",
                (user_id, filter_id, json.dumps(definition)),
            )
        self._remember((user_id, filter_id), parsed)
        return str(filter_id)

    async def get_definition(self, user_id: str, filter_id: str) -> dict[str, Any]:
        """Return the stored JSON of a filter; `NotFound` if the user has no such ID."""
        number = _parse_filter_id(filter_id)
        text = await self._db.fetchvalue(
            "SELECT filter_json FROM filters WHERE user_id = ? AND filter_id = ?",
            (user_id, number),
        )
        if text is None:
            raise NotFound(f"No filter {filter_id!r} for {user_id}")
        return json.loads(text)

    async def get(self, user_id: str, filter_id: str) -> Filter:
        """Return the parsed filter; `NotFound` if the user has no such ID."""
        number = _parse_filter_id(filter_id)
        cached = self._cache.get((user_id, number))
        if cached is not None:
            self._cache.move_to_end((user_id, number))
            return cached
        parsed = Filter.parse(await self.get_definition(user_id, filter_id))
        self._remember((user_id, number), parsed)
        return parsed

    async def parse_filter_param(self, value: str | None, user_id: str) -> Filter:
        """Resolve a `filter` query parameter: a filter ID or an inline JSON object."""
        if value is None or value == "":
            return Filter()
        if value.lstrip().startswith("{"):
            # Clients repeat the same inline filter on every sync; parse it once.
            parsed = self._inline.get(value)
            if parsed is None:
                parsed = parse_filter_json(value)
                self._inline[value] = parsed
                if len(self._inline) > _CACHE_SIZE:
                    self._inline.popitem(last=False)
            else:
                self._inline.move_to_end(value)
            return parsed
        return await self.get(user_id, value)

    def _remember(self, key: tuple[str, int], parsed: Filter) -> None:
        self._cache[key] = parsed
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)


def _parse_filter_id(filter_id: str) -> int:
    # SQLite integers are 64-bit, so longer IDs cannot exist.
    if not filter_id.isascii() or not filter_id.isdigit() or len(filter_id) > 18:
        raise NotFound(f"No filter {filter_id!r}")
    return int(filter_id)
