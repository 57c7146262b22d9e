"""Errors specific to end-to-end encryption endpoints.

    MatrixError
    ├── InvalidSignatureError  400 M_INVALID_SIGNATURE
    └── WrongRoomKeysVersion   403 M_WRONG_ROOM_KEYS_VERSION (with current_version)

Spec: Client-Server API, "Cross-signing" and "Server-side key backups".
"""

from __future__ import annotations

from homeserver.errors import MatrixError


class InvalidSignatureError(MatrixError):
    """A key or signature upload whose signature does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "M_INVALID_SIGNATURE", message)


class WrongRoomKeysVersion(MatrixError):
    """A key backup write that names a version other than the current one."""

    def __init__(self, current_version: str) -> None:
        super().__init__(
            403,
            "M_WRONG_ROOM_KEYS_VERSION",
            "Wrong backup version; the current version is " + current_version,
            current_version=current_version,
        )
