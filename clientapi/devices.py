"""Routes for device management.

Spec: Client-Server API, "Device management". Deleting devices needs user-interactive
auth with the account password.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from clientapi.account_helpers import device_json, require_password_auth
from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route
from homeserver.accounts.devices import MAX_DEVICE_NAME_LENGTH
from homeserver.auth import Requester
from homeserver.errors import BadJSON, InvalidParam, MissingParam, NotFound

bp = Blueprint("devices", __name__)


@client_route(bp, "/devices", ["GET"])
@authenticated
async def list_devices(requester: Requester) -> Any:
    """GET /_matrix/client/v3/devices"""
    manager = services().accounts.devices
    records = await services().accounts.store.list_devices(requester.user_id)
    return json_response(
        {"devices": [device_json(manager.with_last_seen(d)) for d in records]}
    )


@client_route(bp, "/devices/<device_id>", ["GET"])
@authenticated
async def get_device(requester: Requester, device_id: str) -> Any:
    """GET /_matrix/client/v3/devices/{deviceId}"""
    accounts = services().accounts
    record = await accounts.store.get_device(requester.user_id, device_id)
    if record is None:
        raise NotFound(f"You have no device {device_id}")
    return json_response(device_json(accounts.devices.with_last_seen(record)))


@client_route(bp, "/devices/<device_id>", ["PUT"])
@authenticated
async def update_device(requester: Requester, device_id: str) -> Any:
    """PUT /_matrix/client/v3/devices/{deviceId}"""
    body = await read_json_body()
    display_name = body.get("display_name")
    accounts = services().accounts
    if display_name is None:
        # Nothing to change, but an unknown device is still an error.
        if await accounts.store.get_device(requester.user_id, device_id) is None:
            raise NotFound(f"You have no device {device_id}")
        return json_response({})
    if not isinstance(display_name, str):
        raise BadJSON("display_name must be a string")
    if len(display_name) > MAX_DEVICE_NAME_LENGTH:
        raise InvalidParam(
            f"display_name is longer than {MAX_DEVICE_NAME_LENGTH} characters"
        )
    async with services().db.transaction("rename_device") as txn:
        renamed = await accounts.devices.rename(
            txn, requester.user_id, device_id, display_name
        )
    if not renamed:
        raise NotFound(f"You have no device {device_id}")
    return json_response({})


@client_route(bp, "/devices/<device_id>", ["DELETE"])
@authenticated
async def delete_device(requester: Requester, device_id: str) -> Any:
    """DELETE /_matrix/client/v3/devices/{deviceId}"""
    body = await read_json_body(allow_empty=True)
    await require_password_auth(requester, body)
    async with services().db.transaction("delete_device") as txn:
        await services().accounts.devices.delete(txn, requester.user_id, device_id)
    return json_response({})


@client_route(bp, "/delete_devices", ["POST"])
@authenticated
async def delete_devices(requester: Requester) -> Any:
    """POST /_matrix/client/v3/delete_devices"""
    body = await read_json_body()
    device_ids = body.get("devices")
    if device_ids is None:
        raise MissingParam("Missing required field 'devices'")
    if not isinstance(device_ids, list) or not all(
        isinstance(d, str) for d in device_ids
    ):
        raise BadJSON("devices must be a list of device ID strings")
    await require_password_auth(requester, body)
    async with services().db.transaction("delete_devices") as txn:
        await services().accounts.devices.delete_many(
            txn, requester.user_id, dict.fromkeys(device_ids)
        )
    return json_response({})
