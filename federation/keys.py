"""The server's ed25519 signing key: loading, generating and publishing it.

The key file uses the format of the reference server (`ed25519 <version> <base64 seed>` per
line), so existing keys can be moved between servers.
"""

from __future__ import annotations

import logging
import os
import secrets
import string
from pathlib import Path

from nacl.signing import SigningKey
from signedjson.key import (
    decode_verify_key_bytes,
    generate_signing_key,
    get_verify_key,
    read_signing_keys,
    write_signing_keys,
)

logger = logging.getLogger(__name__)


def _new_key_version() -> str:
    alphabet = string.ascii_letters + string.digits
    return "a_" + "".join(secrets.choice(alphabet) for _ in range(4))


def load_or_create_signing_key(path: str) -> SigningKey:
    """Read the first key in `path`, creating the file with a fresh key if it is missing.

    The returned key has `.alg` and `.version` attributes set by signedjson.
    """
    key_path = Path(path)
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key = generate_signing_key(_new_key_version())
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            write_signing_keys(file, [key])
        logger.info("Generated signing key ed25519:%s in %s", key.version, path)
        return key
    with open(key_path) as file:
        keys = read_signing_keys(file)
    if not keys:
        raise ValueError(f"signing key file {path} contains no key")
    return keys[0]


def key_id(key: SigningKey) -> str:
    return f"{key.alg}:{key.version}"


def verify_key_base64(key: SigningKey) -> str:
    from unpaddedbase64 import encode_base64

    return encode_base64(get_verify_key(key).encode())


__all__ = [
    "decode_verify_key_bytes",
    "key_id",
    "load_or_create_signing_key",
    "verify_key_base64",
]
