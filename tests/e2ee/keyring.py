"""Signed key objects for tests, made with real Ed25519 keys the way clients make them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from nacl.public import PrivateKey
from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from tests.client import RawClient

PREFIX = "/_matrix/client/v3"


def public_key_of(signing_key: Any) -> str:
    return encode_base64(get_verify_key(signing_key).encode())


def sign_as(obj: dict[str, Any], user_id: str, signing_key: Any) -> dict[str, Any]:
    """Return a copy of `obj` with a signature by `user_id` with `signing_key` added."""
    return sign_json(copy.deepcopy(obj), user_id, signing_key)


@dataclass
class TestDevice:
    """A device's identity keys; signs its own device keys and one-time keys."""

    __test__ = False

    user_id: str
    device_id: str
    signing_key: Any = None
    curve_key: str = ""
    _next_key: int = field(default=0)

    def __post_init__(self) -> None:
        # The key version becomes the key ID, ed25519:<device_id>.
        self.signing_key = generate_signing_key(self.device_id)
        self.curve_key = encode_base64(bytes(PrivateKey.generate().public_key))

    @property
    def ed25519(self) -> str:
        return public_key_of(self.signing_key)

    def device_keys(self) -> dict[str, Any]:
        unsigned = {
            "user_id": self.user_id,
            "device_id": self.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {
                f"curve25519:{self.device_id}": self.curve_key,
                f"ed25519:{self.device_id}": self.ed25519,
            },
        }
        return sign_as(unsigned, self.user_id, self.signing_key)

    def one_time_keys(self, count: int, fallback: bool = False) -> dict[str, Any]:
        keys = {}
        for _ in range(count):
            self._next_key += 1
            key: dict[str, Any] = {
                "key": encode_base64(bytes(PrivateKey.generate().public_key))
            }
            if fallback:
                key["fallback"] = True
            key_id = f"signed_curve25519:AAAA{self._next_key:04d}"
            keys[key_id] = sign_as(key, self.user_id, self.signing_key)
        return keys


def _cross_signing_key() -> Any:
    key = generate_signing_key("pending")
    # signedjson builds the signature's key ID from the key's version, and a
    # cross-signing key's ID is its own public key.
    key.version = public_key_of(key)
    return key


@dataclass
class CrossSigningIdentity:
    """A user's master, self-signing and user-signing keys."""

    user_id: str
    master: Any = None
    self_signing: Any = None
    user_signing: Any = None

    def __post_init__(self) -> None:
        self.master = _cross_signing_key()
        self.self_signing = _cross_signing_key()
        self.user_signing = _cross_signing_key()

    def _key(self, usage: str, signing_key: Any) -> dict[str, Any]:
        public = public_key_of(signing_key)
        return {
            "user_id": self.user_id,
            "usage": [usage],
            "keys": {f"ed25519:{public}": public},
        }

    def master_key(self) -> dict[str, Any]:
        return self._key("master", self.master)

    def self_signing_key(self) -> dict[str, Any]:
        key = self._key("self_signing", self.self_signing)
        return sign_as(key, self.user_id, self.master)

    def user_signing_key(self) -> dict[str, Any]:
        key = self._key("user_signing", self.user_signing)
        return sign_as(key, self.user_id, self.master)

    def upload_body(self) -> dict[str, Any]:
        return {
            "master_key": self.master_key(),
            "self_signing_key": self.self_signing_key(),
            "user_signing_key": self.user_signing_key(),
        }


async def upload_device(
    client: RawClient, token: str, device: TestDevice, otks: int = 0
) -> Any:
    body: dict[str, Any] = {"device_keys": device.device_keys()}
    if otks:
        body["one_time_keys"] = device.one_time_keys(otks)
    response = await client.request("POST", PREFIX + "/keys/upload", body, token=token)
    assert response.status == 200, response.body
    return response.body
