"""Ed25519 signatures on the JSON objects clients upload: device, one-time and
cross-signing keys.

Spec: Appendices, "Signing JSON": the signature covers the canonical JSON of the object
without its `signatures` and `unsigned` members.
"""

from __future__ import annotations

import binascii
from typing import Any

from nacl.exceptions import CryptoError
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64


class InvalidSignature(ValueError):
    """A signature that is missing, malformed or does not verify."""


def decode_ed25519_key(key_id: str, public_key: str) -> Any:
    """Return the `VerifyKey` for an unpadded base64 Ed25519 public key.

    `key_id` is the part after `ed25519:`. Raises `InvalidSignature` for a key that is not
    32 bytes of valid base64.
    """
    try:
        raw = decode_base64(public_key)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidSignature(f"Invalid base64 in Ed25519 key {key_id!r}") from exc
    if len(raw) != 32:
        raise InvalidSignature(f"Ed25519 key {key_id!r} is not 32 bytes long")
    return decode_verify_key_bytes("ed25519:" + key_id, raw)


def verify_json(
    signed: dict[str, Any], user_id: str, key_id: str, public_key: str
) -> None:
    """Check the signature of `user_id` with `ed25519:<key_id>` on `signed`.

    Raises `InvalidSignature` when the signature is absent or does not verify.
    """
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict) or not isinstance(
        signatures.get(user_id), dict
    ):
        raise InvalidSignature(f"No signatures by {user_id} on the object")
    if not isinstance(signatures[user_id].get("ed25519:" + key_id), str):
        raise InvalidSignature(f"No signature by {user_id} with ed25519:{key_id}")
    verify_key = decode_ed25519_key(key_id, public_key)
    try:
        verify_signed_json(signed, user_id, verify_key)
    except (SignatureVerifyException, CryptoError) as exc:
        raise InvalidSignature(
            f"Signature by {user_id} with ed25519:{key_id} does not verify"
        ) from exc


def signature_of(signed: dict[str, Any], user_id: str, key_id: str) -> str | None:
    """Return the unpadded base64 signature of `user_id` with `ed25519:<key_id>`."""
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return None
    by_user = signatures.get(user_id)
    if not isinstance(by_user, dict):
        return None
    value = by_user.get("ed25519:" + key_id)
    return value if isinstance(value, str) else None


def without_signatures(signed: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `signed` without `signatures` and `unsigned`, for comparisons."""
    return {
        key: value
        for key, value in signed.items()
        if key not in ("signatures", "unsigned")
    }
