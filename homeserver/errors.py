"""Errors that reach clients as Matrix JSON error bodies.

Every error a request handler raises on purpose is a `MatrixError`; the HTTP layer turns it
into `{"errcode": ..., "error": ...}` with its status. The tree:

    MatrixError(status, errcode, message)
    ├── BadJSON            400 M_BAD_JSON
    ├── NotJSON            400 M_NOT_JSON
    ├── MissingParam       400 M_MISSING_PARAM
    ├── InvalidParam       400 M_INVALID_PARAM
    ├── Unrecognized       404/405 M_UNRECOGNIZED
    ├── NotFound           404 M_NOT_FOUND
    ├── Forbidden          403 M_FORBIDDEN
    ├── MissingToken       401 M_MISSING_TOKEN
    ├── UnknownToken       401 M_UNKNOWN_TOKEN
    ├── UserInUse          400 M_USER_IN_USE
    ├── InvalidUsername    400 M_INVALID_USERNAME
    ├── TooLarge           413 M_TOO_LARGE
    ├── LimitExceeded      429 M_LIMIT_EXCEEDED (with retry_after_ms)
    ├── UnsupportedRoomVersion 400 M_UNSUPPORTED_ROOM_VERSION
    ├── RequestTimeout     408 M_UNKNOWN (the request body stopped arriving)
    ├── RoomInUse          400 M_ROOM_IN_USE
    └── InteractiveAuthRequired 401, body is the user-interactive auth flow state

Spec: Client-Server API, "Standard error response".
"""

from __future__ import annotations

from typing import Any


class MatrixError(Exception):
    """An error with an HTTP status and a Matrix errcode."""

    def __init__(
        self,
        status: int,
        errcode: str,
        message: str,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errcode": self.errcode, "error": self.message}
        body.update(self.extra)
        return body


def _simple(status: int, errcode: str) -> type[MatrixError]:
    class _Error(MatrixError):
        def __init__(self, message: str, **extra: Any) -> None:
            super().__init__(status, errcode, message, **extra)

    return _Error


class BadJSON(_simple(400, "M_BAD_JSON")):  # type: ignore[misc]
    pass


class NotJSON(_simple(400, "M_NOT_JSON")):  # type: ignore[misc]
    pass


class MissingParam(_simple(400, "M_MISSING_PARAM")):  # type: ignore[misc]
    pass


class InvalidParam(_simple(400, "M_INVALID_PARAM")):  # type: ignore[misc]
    pass


class NotFound(_simple(404, "M_NOT_FOUND")):  # type: ignore[misc]
    pass


class Forbidden(_simple(403, "M_FORBIDDEN")):  # type: ignore[misc]
    pass


class MissingToken(_simple(401, "M_MISSING_TOKEN")):  # type: ignore[misc]
    pass


class UserInUse(_simple(400, "M_USER_IN_USE")):  # type: ignore[misc]
    pass


class InvalidUsername(_simple(400, "M_INVALID_USERNAME")):  # type: ignore[misc]
    pass


class TooLarge(_simple(413, "M_TOO_LARGE")):  # type: ignore[misc]
    pass


class UnsupportedRoomVersion(_simple(400, "M_UNSUPPORTED_ROOM_VERSION")):  # type: ignore[misc]
    pass


class RoomInUse(_simple(400, "M_ROOM_IN_USE")):  # type: ignore[misc]
    pass


class RequestTimeout(MatrixError):
    """408: the client stopped sending its request body."""

    def __init__(self, message: str) -> None:
        super().__init__(408, "M_UNKNOWN", message)


class UnknownToken(MatrixError):
    """401 M_UNKNOWN_TOKEN; `soft_logout` lets the client keep its device keys."""

    def __init__(self, message: str, soft_logout: bool = False) -> None:
        extra = {"soft_logout": True} if soft_logout else {}
        super().__init__(401, "M_UNKNOWN_TOKEN", message, **extra)


class Unrecognized(MatrixError):
    """404 for an unknown endpoint, 405 for a known path with the wrong method."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(status, "M_UNRECOGNIZED", message)


class LimitExceeded(MatrixError):
    def __init__(self, retry_after_ms: int) -> None:
        super().__init__(
            429,
            "M_LIMIT_EXCEEDED",
            "Too many requests",
            retry_after_ms=retry_after_ms,
        )
        self.retry_after_ms = retry_after_ms


class InteractiveAuthRequired(MatrixError):
    """A 401 whose body is the user-interactive auth state, not an error object."""

    def __init__(self, flows_body: dict[str, Any]) -> None:
        super().__init__(401, flows_body.get("errcode", ""), "Authentication required")
        self.flows_body = flows_body

    def to_json(self) -> dict[str, Any]:
        return self.flows_body
