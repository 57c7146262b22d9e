"""Request helpers shared by the account tests."""

from __future__ import annotations

from typing import Any

from tests.client import RawClient, Response, User

CLIENT = "/_matrix/client/v3"


def password_auth(user: User, session: str, password: str | None = None) -> dict:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": user.password if password is None else password,
        "session": session,
    }


async def with_password_auth(
    client: RawClient, method: str, path: str, user: User, body: dict[str, Any]
) -> Response:
    """Send `body` without auth, expect 401, then send it with the password stage."""
    first = await client.request(method, path, body, token=user.access_token)
    assert first.status == 401, first.body
    return await client.request(
        method,
        path,
        {**body, "auth": password_auth(user, first.body["session"])},
        token=user.access_token,
    )


async def login(client: RawClient, user: str, password: str, **extra: Any) -> Response:
    return await client.request(
        "POST",
        f"{CLIENT}/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            **extra,
        },
    )
