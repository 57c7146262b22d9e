"""Password hashing with argon2id.

Hashing and verifying take tens of milliseconds of CPU by design, so both run in a
worker thread (`asyncio.to_thread`) and never block the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from homeserver.errors import InvalidParam

# Longer passwords are rejected before hashing, so one request cannot make the server
# hash megabytes of input.
MAX_PASSWORD_BYTES = 1024

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" parameters.
_hasher = PasswordHasher()

# A hash of a random string, verified against when a login names an unknown user, so
# that the response time does not reveal whether the user exists.
_DUMMY_HASH = _hasher.hash("no user has this password")


def check_password_length(password: str) -> None:
    """Raise `InvalidParam` for an empty password or one over `MAX_PASSWORD_BYTES`."""
    if not password:
        raise InvalidParam("Password must not be empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidParam(f"Password is longer than {MAX_PASSWORD_BYTES} bytes")


async def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` in PHC string format."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password` against a stored hash; a missing hash never matches.

    A missing hash still costs one verification, against a dummy hash, so that the
    timing is the same as for a real account.
    """
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    if password_hash is None:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password)
        return False
    return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash used other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
