"""Parse JSON text received from clients into values the server can store and send.

JSON grammar (RFC 8259) allows values that Python's `json` module cannot round-trip.
Numbers such as `1e400` become infinity, which `json.dumps` writes as the invalid
token `Infinity`. Escaped lone surrogates such as `"\\ud800"` become strings that
cannot be encoded as UTF-8. Deep nesting exhausts the recursion limit of the parser
or of the recursive code that later walks the value (event hashing, redaction).
Rejecting them on input keeps them out of the database, where they would break every
later read of the data. Spec: Client-Server API, "Standard error response"
(M_NOT_JSON, M_BAD_JSON); Appendices, "Canonical JSON".
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from homeserver.errors import BadJSON, NotJSON

# Clients nest event content and account data a few levels deep. The event code
# walks values recursively with about two stack frames per level, so 100 levels stays
# well inside Python's default recursion limit of 1000.
MAX_JSON_DEPTH = 100

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _NonFiniteNumber(ValueError):
    pass


def parse_client_json(text: bytes | str, source: str = "Request body") -> Any:
    """Parse JSON `text` from a client; `source` names it in error messages.

    Raises `NotJSON` for invalid JSON. Raises `BadJSON` for values that the grammar
    allows but the server rejects: non-finite numbers, lone surrogates and nesting
    deeper than `MAX_JSON_DEPTH`.
    """
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_parse_finite_float
        )
    except RecursionError as exc:
        raise BadJSON(f"{source} is nested too deeply") from exc
    except _NonFiniteNumber as exc:
        raise BadJSON(f"{source} contains a number out of range: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJSON(f"{source} is not valid JSON: {exc}") from exc
    _check_value(value, source)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NonFiniteNumber(text[:40])
    return number


def _check_value(value: Any, source: str) -> None:
    """Raise `BadJSON` for nesting past `MAX_JSON_DEPTH` or a lone surrogate.

    Walks the value with an explicit stack, so the check itself cannot recurse too
    deeply.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, source)
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise BadJSON(
                    f"{source} is nested more than {MAX_JSON_DEPTH} levels deep"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, source)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str, source: str) -> None:
    # json.loads joins escaped surrogate pairs into one code point, so any
    # surrogate left in a parsed string is a lone one.
    if not text.isascii() and _LONE_SURROGATE.search(text):
        raise BadJSON(f"{source} contains a lone UTF-16 surrogate escape")
