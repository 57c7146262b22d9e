"""Media IDs and `mxc://` URIs.

Spec: Client-Server API, "Content repository", "Security considerations": the media ID
allows only `A-Za-z0-9`, `_` and `-`, and the server name must be a valid server name,
so neither can traverse paths.
"""

from __future__ import annotations

import re
import secrets

from homeserver.errors import InvalidParam
from homeserver.identifiers import is_valid_server_name

_MEDIA_ID = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_media_id() -> str:
    """Return a fresh random media ID of 24 letters (about 137 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


def check_media_id(server_name: str, media_id: str) -> None:
    """Raise `InvalidParam` unless both parts of an `mxc://` URI are well formed."""
    if not is_valid_server_name(server_name):
        raise InvalidParam(f"Invalid server name in media URI: {server_name!r}")
    if not _MEDIA_ID.match(media_id):
        raise InvalidParam(
            f"Invalid media ID {media_id!r}:"
            " only A-Z, a-z, 0-9, '_' and '-' are allowed"
        )


def mxc_uri(server_name: str, media_id: str) -> str:
    return f"mxc://{server_name}/{media_id}"
