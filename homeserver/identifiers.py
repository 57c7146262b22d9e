"""Matrix identifiers as types, with their grammar checks.

Spec: Appendices, "Identifier Grammar". The types are `NewType`s: free at run time, but mypy
catches a room ID passed where a user ID belongs.
"""

from __future__ import annotations

import re
from typing import NewType

UserID = NewType("UserID", str)
"""`@localpart:server_name`, at most 255 bytes."""
RoomID = NewType("RoomID", str)
"""`!opaque:server_name` before room version 12, `!reference_hash` from version 12."""
EventID = NewType("EventID", str)
"""`$` followed by the URL-safe unpadded base64 reference hash of the event."""
RoomAlias = NewType("RoomAlias", str)
"""`#alias:server_name`."""
ServerName = NewType("ServerName", str)
"""A hostname, IPv4 or bracketed IPv6 literal, with an optional port."""
DeviceID = NewType("DeviceID", str)

MAX_ID_LENGTH = 255

# Localparts of new users: the strict historical grammar is a-z 0-9 . _ = - /, plus +.
_NEW_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
# Localparts accepted from other servers and old data: any printable ASCII but ':'.
_ANY_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
_SERVER_NAME = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.\-]{1,255})(?::[0-9]{1,5})?$"
)


def is_valid_server_name(name: str) -> bool:
    return bool(_SERVER_NAME.match(name))


def split_id(identifier: str, sigil: str) -> tuple[str, str]:
    """Split `<sigil>localpart:server` into (localpart, server); ValueError if malformed."""
    if not identifier.startswith(sigil) or ":" not in identifier:
        raise ValueError(f"invalid identifier {identifier!r}: expected {sigil}local:server")
    localpart, _, server = identifier[1:].partition(":")
    if not localpart or not is_valid_server_name(server):
        raise ValueError(f"invalid identifier {identifier!r}")
    return localpart, server


def is_valid_user_id(user_id: str) -> bool:
    if len(user_id.encode("utf-8")) > MAX_ID_LENGTH:
        return False
    try:
        localpart, _ = split_id(user_id, "@")
    except ValueError:
        return False
    return bool(_ANY_LOCALPART.match(localpart))


def is_valid_new_localpart(localpart: str) -> bool:
    return bool(_NEW_LOCALPART.match(localpart))


def is_valid_room_alias(alias: str) -> bool:
    if len(alias.encode("utf-8")) > MAX_ID_LENGTH:
        return False
    try:
        split_id(alias, "#")
    except ValueError:
        return False
    return True


def server_name_of(identifier: str) -> str:
    """Return the server part of a user ID, alias or pre-v12 room ID."""
    return identifier.partition(":")[2]
