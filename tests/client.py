"""A small raw HTTP client for tests that need exact requests and status codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Response:
    status: int
    body: Any
    headers: Any


@dataclass
class User:
    user_id: str
    access_token: str
    device_id: str
    password: str


class RawClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method,
            self.base_url + path,
            json=body if data is None and body is not None else None,
            data=data,
            headers=all_headers,
            params=params,
        ) as response:
            raw = await response.read()
            try:
                parsed: Any = await response.json(content_type=None)
            except ValueError:
                parsed = raw
            return Response(response.status, parsed, response.headers)

    async def register(self, username: str, password: str = "correct horse") -> User:
        """Register through the dummy user-interactive auth flow."""
        first = await self.request(
            "POST",
            "/_matrix/client/v3/register",
            {"username": username, "password": password},
        )
        if first.status == 200:
            body = first.body
        else:
            assert first.status == 401, first.body
            second = await self.request(
                "POST",
                "/_matrix/client/v3/register",
                {
                    "username": username,
                    "password": password,
                    "auth": {"type": "m.login.dummy", "session": first.body["session"]},
                },
            )
            assert second.status == 200, second.body
            body = second.body
        return User(body["user_id"], body["access_token"], body["device_id"], password)
