"""Matrix identifiers: their types and grammar checks.

Spec: Appendices, "Identifier Grammar" (server names, user IDs, room IDs, event IDs,
room aliases). The types are `NewType`s: free at run time, but mypy catches a room ID
passed where a user ID belongs.
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

# Spec: user IDs, room IDs, event IDs, `type` and `state_key` are each at most 255
# bytes of UTF-8.
MAX_IDENTIFIER_BYTES = 255

_PORT = r"(?::[0-9]{1,5})?"
_IPV4 = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_DNS_NAME = r"[0-9A-Za-z.-]{1,255}"
_SERVER_NAME_RE = re.compile(rf"(?:{_IPV4}|{_IPV6}|{_DNS_NAME}){_PORT}")

_STRICT_USER_LOCALPART_RE = re.compile(r"[a-z0-9._=\-/+]+")


def is_valid_server_name(server_name: str) -> bool:
    """Return whether `server_name` matches `hostname [":" port]`."""
    return _SERVER_NAME_RE.fullmatch(server_name) is not None


def get_domain_from_id(identifier: str) -> str:
    """Return the server name part of a `&localpart:domain` identifier.

    Raises ValueError if the identifier has no `:`.
    """
    _, separator, domain = identifier.partition(":")
    if not separator:
        raise ValueError(f"identifier {identifier!r} has no domain part")
    return domain


def is_valid_user_id(user_id: object, *, historical: bool = True) -> bool:
    """Return whether `user_id` is a grammatical user ID.

    With `historical=True`, the localpart may be any text without `:` or NUL,
    even empty, because servers must accept such historical user IDs in events. With
    `historical=False`, the localpart must be non-empty and use only `a-z`, `0-9`
    and `._=-/+`, as required for new user IDs.
    """
    if not isinstance(user_id, str) or not user_id.startswith("@"):
        return False
    if len(user_id.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return False
    localpart, separator, domain = user_id[1:].partition(":")
    if not separator or "\x00" in localpart:
        return False
    if not historical and _STRICT_USER_LOCALPART_RE.fullmatch(localpart) is None:
        return False
    return is_valid_server_name(domain)


def is_valid_room_id(room_id: object, *, with_domain: bool) -> bool:
    """Return whether `room_id` is a grammatical room ID.

    Room versions 1 to 11 use `!opaque:domain`. From room version 12 the room ID is
    `!` plus the create event's URL-safe unpadded base64 reference hash, with no
    domain.
    """
    if not isinstance(room_id, str) or not room_id.startswith("!"):
        return False
    if len(room_id.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return False
    if with_domain:
        localpart, separator, domain = room_id[1:].partition(":")
        if not separator or "\x00" in localpart:
            return False
        return is_valid_server_name(domain)
    return is_reference_hash_id(room_id[1:])


def is_reference_hash_id(opaque_id: str) -> bool:
    """Return whether `opaque_id` is a SHA-256 hash in URL-safe unpadded base64."""
    return re.fullmatch(r"[A-Za-z0-9_-]{43}", opaque_id) is not None


def is_valid_event_id(event_id: object) -> bool:
    """Return whether `event_id` is a room version 4+ event ID (`$` and a hash)."""
    if not isinstance(event_id, str) or not event_id.startswith("$"):
        return False
    return is_reference_hash_id(event_id[1:])


MAX_ID_LENGTH = MAX_IDENTIFIER_BYTES


def split_id(identifier: str, sigil: str) -> tuple[str, str]:
    """Split `<sigil>localpart:server` into (localpart, server); ValueError if malformed."""
    if not identifier.startswith(sigil) or ":" not in identifier:
        raise ValueError(f"invalid identifier {identifier!r}: expected {sigil}local:server")
    localpart, _, server = identifier[1:].partition(":")
    if not localpart or not is_valid_server_name(server):
        raise ValueError(f"invalid identifier {identifier!r}")
    return localpart, server


def is_valid_new_localpart(localpart: str) -> bool:
    """Return whether `localpart` may be used for a new user on this server."""
    return _STRICT_USER_LOCALPART_RE.fullmatch(localpart) is not None


def is_valid_room_alias(alias: str) -> bool:
    if len(alias.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return False
    try:
        split_id(alias, "#")
    except ValueError:
        return False
    return True


def server_name_of(identifier: str) -> str:
    """Return the server part of a user ID, alias or pre-v12 room ID ("" if none)."""
    return identifier.partition(":")[2]
