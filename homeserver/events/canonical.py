"""Canonical JSON encoding and the value checks that go with it.

Spec: Appendices, "Canonical JSON". Canonical JSON sorts object keys by code point,
drops insignificant whitespace, writes non-ASCII text as UTF-8 and allows only
integers in the range [-(2**53)+1, (2**53)-1]. The `canonicaljson` package does the
encoding but accepts floats, so `check_canonical_json` enforces the value rules.
"""

from __future__ import annotations

import math
from typing import Any

import canonicaljson

# Spec: Client-Server API, "Size limits": the complete event, encoded as canonical
# JSON in the federation format and including signatures, is at most this many bytes.
MAX_PDU_SIZE = 65536

MAX_CANONICAL_INT = 2**53 - 1
MIN_CANONICAL_INT = -(2**53) + 1


class InvalidJSONValue(ValueError):
    """A value that canonical JSON cannot represent."""


def encode_canonical_json(value: Any) -> bytes:
    """Encode a JSON-compatible value as canonical JSON bytes."""
    return canonicaljson.encode_canonical_json(value)


def check_canonical_json(value: Any, path: str = "$") -> None:
    """Raise `InvalidJSONValue` unless `value` is representable as canonical JSON.

    Rejects floats (NaN and infinities included), integers outside
    [-(2**53)+1, (2**53)-1], dictionary keys that are not strings and any type that is
    not a JSON type. The error message names the JSON path of the offending value,
    such as `$.content.body[2]`.
    """
    # bool is a subclass of int, so it is tested first.
    if value is None or isinstance(value, (bool, str)):
        return

    if isinstance(value, int):
        if not MIN_CANONICAL_INT <= value <= MAX_CANONICAL_INT:
            raise InvalidJSONValue(
                f"integer at {path} is outside the canonical JSON range "
                f"[{MIN_CANONICAL_INT}, {MAX_CANONICAL_INT}]: {value}"
            )
        return

    if isinstance(value, float):
        kind = "non-finite number" if not math.isfinite(value) else "float"
        raise InvalidJSONValue(
            f"{kind} at {path} is not allowed in canonical JSON: {value!r}; "
            "use an integer or a string"
        )

    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidJSONValue(
                    f"object key {key!r} at {path} is not a string"
                )
            check_canonical_json(item, f"{path}.{key}")
        return

    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_canonical_json(item, f"{path}[{index}]")
        return

    raise InvalidJSONValue(
        f"value at {path} has type {type(value).__name__}, which is not a JSON type"
    )
