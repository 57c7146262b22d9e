"""Route registration under both Client-Server API prefixes, and path checks.

Spec: Client-Server API, "API Standards". The current prefix is `/_matrix/client/v3`;
older clients still call the same endpoints under `/_matrix/client/r0`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Blueprint

from homeserver.auth import Requester
from homeserver.errors import Forbidden, InvalidParam

CLIENT_PREFIXES = ("/_matrix/client/v3", "/_matrix/client/r0")


def client_route(
    bp: Blueprint, path: str, methods: list[str]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view at `path` under every Client-Server prefix."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        for prefix in CLIENT_PREFIXES:
            bp.add_url_rule(prefix + path, view_func=view, methods=methods)
        return view

    return register


def require_own_user(requester: Requester, user_id: str, action: str) -> None:
    """Raise `Forbidden` unless the path's user is the requester.

    `action` completes the message "Cannot ... for other users".
    """
    if requester.user_id != user_id:
        raise Forbidden(f"Cannot {action} for other users")


def require_room_id(room_id: str) -> None:
    """Raise `InvalidParam` unless `room_id` has the room ID sigil."""
    if not room_id.startswith("!") or len(room_id.encode("utf-8")) > 255:
        raise InvalidParam(f"Invalid room ID {room_id!r}")
