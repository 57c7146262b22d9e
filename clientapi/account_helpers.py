"""Helpers shared by the account, device and profile routes."""

from __future__ import annotations

import re
from typing import Any

from quart import request

from clientapi.common import require_dict, services
from homeserver.accounts.login import PASSWORD_LOGIN
from homeserver.accounts.store import DeviceRecord
from homeserver.auth import Requester

_VERSION_PREFIX = re.compile(r"^/_matrix/client/(?:v3|r0|v1)")


def operation() -> tuple[str, str]:
    """Return the request's method and path without its API version prefix."""
    return request.method, _VERSION_PREFIX.sub("", request.path)


async def require_password_auth(requester: Requester, body: dict[str, Any]) -> None:
    """Run user-interactive auth with the `m.login.password` stage for `requester`."""
    accounts = services().accounts
    method, path = operation()
    await accounts.uia.authenticate(
        require_dict(body, "auth", optional=True),
        flows=[[PASSWORD_LOGIN]],
        checks={PASSWORD_LOGIN: accounts.passwords.password_stage(requester.user_id)},
        method=method,
        path=path,
        user_id=requester.user_id,
    )


def device_json(device: DeviceRecord) -> dict[str, Any]:
    body: dict[str, Any] = {"device_id": device.device_id}
    if device.display_name is not None:
        body["display_name"] = device.display_name
    if device.last_seen_ip is not None:
        body["last_seen_ip"] = device.last_seen_ip
    if device.last_seen_ts is not None:
        body["last_seen_ts"] = device.last_seen_ts
    return body
