"""Helpers shared by the Client-Server routes: JSON bodies, auth, responses.

Routes stay thin: they parse and check the request with these helpers, call the core and
shape the response.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

from quart import Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from homeserver.auth import Requester
from homeserver.client_json import parse_client_json
from homeserver.errors import (
    BadJSON,
    MissingParam,
    MissingToken,
    NotJSON,
    RequestTimeout,
    TooLarge,
)

T = TypeVar("T")


def services() -> Any:
    """Return the `Services` object of the running app."""
    return current_app.extensions["homeserver"]


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(data, status=status, content_type="application/json")
    if headers:
        response.headers.update(headers)
    return response


async def read_json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    """Parse the request body as a JSON object.

    Raises `NotJSON` for a body that is not JSON, `BadJSON` for JSON that is not an
    object or that `parse_client_json` rejects, and `TooLarge` past the configured body
    size.
    """
    limit = services().config.max_request_body_size
    length = request.content_length
    if length is not None and length > limit:
        raise TooLarge(f"Request body is larger than {limit} bytes")
    chunks = bytearray()
    async for chunk in body_chunks():
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise TooLarge(f"Request body is larger than {limit} bytes")
    raw = bytes(chunks)
    if not raw:
        if allow_empty:
            return {}
        raise NotJSON("Request body is empty; expected a JSON object")
    body = parse_client_json(raw)
    if not isinstance(body, dict):
        raise BadJSON("Request body must be a JSON object")
    return body


async def body_chunks() -> AsyncIterator[bytes]:
    """Yield the request body as it arrives.

    Raises `RequestTimeout` when no data arrives for `request_body_timeout_seconds`,
    so a client that announces a body and never sends it cannot hold the request open,
    and `TooLarge` past the app's overall body cap.
    """
    timeout = services().config.request_body_timeout_seconds
    chunks = request.body.__aiter__()
    while True:
        try:
            async with asyncio.timeout(timeout):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise RequestTimeout(
                f"No request body data arrived for {timeout:g} seconds"
            ) from exc
        except RequestEntityTooLarge as exc:
            raise TooLarge("Request body is too large") from exc
        yield chunk


def access_token_from_request() -> str | None:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return request.args.get("access_token") or None


async def get_requester() -> Requester:
    """Resolve the request's access token; raise `MissingToken` or `UnknownToken`."""
    token = access_token_from_request()
    if token is None:
        raise MissingToken("Missing access token")
    return await services().tokens.resolve(token)


def authenticated(
    handler: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T]]:
    """Decorate a route so that it receives the `Requester` as its first argument."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        requester = await get_requester()
        return await handler(requester, *args, **kwargs)

    return wrapper


def require_str(body: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    """Return `body[key]` checked to be a string; `MissingParam` or `BadJSON` if not."""
    value = body.get(key)
    if value is None:
        if optional:
            return None
        raise MissingParam(f"Missing required field {key!r}")
    if not isinstance(value, str):
        raise BadJSON(f"Field {key!r} must be a string")
    return value


def require_dict(body: dict[str, Any], key: str, *, optional: bool = False) -> dict | None:
    value = body.get(key)
    if value is None:
        if optional:
            return None
        raise MissingParam(f"Missing required field {key!r}")
    if not isinstance(value, dict):
        raise BadJSON(f"Field {key!r} must be a JSON object")
    return value


def query_int(
    name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """Parse an integer query parameter, clamped to `maximum`; `InvalidParam` if invalid."""
    from homeserver.errors import InvalidParam

    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidParam(f"Query parameter {name!r} must be an integer") from exc
    if value < minimum:
        raise InvalidParam(f"Query parameter {name!r} must be at least {minimum}")
    if maximum is not None:
        value = min(value, maximum)
    return value


def query_bool(name: str, default: bool = False) -> bool:
    from homeserver.errors import InvalidParam

    raw = request.args.get(name)
    if raw is None:
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise InvalidParam(f"Query parameter {name!r} must be true or false")


def client_ip() -> str:
    return request.remote_addr or ""
