"""Shared-secret registration: the admin API that creates users without UIA.

`GET /_synapse/admin/v1/register` returns a nonce. The `POST` to the same path proves
knowledge of the configured secret with an HMAC-SHA1, hex encoded, over

    nonce \\0 username \\0 password \\0 ("admin" | "notadmin") [\\0 user_type]

which is the scheme of Synapse's `register_new_matrix_user` tool, so that tool and ours
both work. A nonce is valid for 60 seconds and once only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

NONCE_LIFETIME_SECONDS = 60.0
_MAX_NONCES = 10_000


def compute_mac(
    secret: str,
    nonce: str,
    username: str,
    password: str,
    admin: bool,
    user_type: str | None = None,
) -> str:
    """Return the hex HMAC-SHA1 that authorises one registration."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha1)
    mac.update(nonce.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(username.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(password.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    if user_type:
        mac.update(b"\x00")
        mac.update(user_type.encode("utf-8"))
    return mac.hexdigest()


class NonceRegistry:
    """Issues nonces and accepts each one once, within its lifetime."""

    def __init__(self, lifetime: float = NONCE_LIFETIME_SECONDS) -> None:
        self._lifetime = lifetime
        self._issued: dict[str, float] = {}

    def issue(self) -> str:
        self._expire()
        nonce = secrets.token_hex(32)
        self._issued[nonce] = time.monotonic()
        return nonce

    def consume(self, nonce: str) -> bool:
        """Remove `nonce` and return whether it was issued and is still valid."""
        issued = self._issued.pop(nonce, None)
        return issued is not None and time.monotonic() - issued <= self._lifetime

    def _expire(self) -> None:
        now = time.monotonic()
        for nonce in [n for n, t in self._issued.items() if now - t > self._lifetime]:
            del self._issued[nonce]
        while len(self._issued) >= _MAX_NONCES:
            del self._issued[next(iter(self._issued))]


def mac_matches(expected: str, given: str) -> bool:
    """Compare in constant time, so the response time leaks nothing about the MAC."""
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8"))
