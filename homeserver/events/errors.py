"""The exception raised when an event fails the authorization rules."""

from __future__ import annotations


class AuthError(Exception):
    """An event is not allowed by the authorization rules of its room version.

    `reason` says which rule failed, for logs and for the rejection reason stored
    with the event.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
