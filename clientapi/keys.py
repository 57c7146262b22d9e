"""Routes for device keys and cross-signing, and the E2EE component's installation.

Spec: Client-Server API, "End-to-End Encryption": `/keys/upload`, `/keys/query`,
`/keys/claim`, `/keys/changes`, `/keys/device_signing/upload` and
`/keys/signatures/upload`.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Blueprint, Quart, request

from clientapi.account_helpers import require_password_auth
from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route
from homeserver.auth import Requester
from homeserver.e2ee import E2EE
from homeserver.errors import BadJSON, MissingParam
from homeserver.notifier import StreamToken

logger = logging.getLogger(__name__)

bp = Blueprint("keys", __name__)


@client_route(bp, "/keys/upload", ["POST"])
@authenticated
async def upload_keys(requester: Requester) -> Any:
    """POST /_matrix/client/v3/keys/upload"""
    body = await read_json_body()
    counts = await services().e2ee.device_keys.upload(
        requester.user_id, requester.device_id, body
    )
    return json_response({"one_time_key_counts": counts})


@client_route(bp, "/keys/query", ["POST"])
@authenticated
async def query_keys(requester: Requester) -> Any:
    """POST /_matrix/client/v3/keys/query"""
    body = await read_json_body()
    if "device_keys" not in body:
        raise MissingParam("Missing required field 'device_keys'")
    result = await services().e2ee.query_keys(requester.user_id, body["device_keys"])
    return json_response(result)


@client_route(bp, "/keys/claim", ["POST"])
@authenticated
async def claim_keys(requester: Requester) -> Any:
    """POST /_matrix/client/v3/keys/claim"""
    body = await read_json_body()
    if "one_time_keys" not in body:
        raise MissingParam("Missing required field 'one_time_keys'")
    return json_response(await services().e2ee.claim_keys(body["one_time_keys"]))


@client_route(bp, "/keys/changes", ["GET"])
@authenticated
async def key_changes(requester: Requester) -> Any:
    """GET /_matrix/client/v3/keys/changes?from=<token>&to=<token>"""
    raw_from = request.args.get("from")
    if not raw_from:
        raise MissingParam("Missing query parameter 'from'")
    from_token = StreamToken.parse(raw_from)
    raw_to = request.args.get("to")
    current = services().notifier.current_token()
    to_token = StreamToken.parse(raw_to).clamp(current) if raw_to else current
    result = await services().e2ee.key_changes(requester.user_id, from_token, to_token)
    return json_response(result)


@client_route(bp, "/keys/device_signing/upload", ["POST"])
@authenticated
async def upload_cross_signing_keys(requester: Requester) -> Any:
    """POST /_matrix/client/v3/keys/device_signing/upload

    Replacing an existing master key needs user-interactive auth with the account
    password; the first upload does not, as clients set up cross-signing right after
    registration.
    """
    body = await read_json_body()
    store = services().e2ee.cross_signing
    uploaded = store.parse_upload(requester.user_id, body)
    if await store.upload_requires_auth(requester.user_id, uploaded):
        await require_password_auth(requester, body)
    await store.upload(requester.user_id, uploaded)
    return json_response({})


@client_route(bp, "/keys/signatures/upload", ["POST"])
@authenticated
async def upload_signatures(requester: Requester) -> Any:
    """POST /_matrix/client/v3/keys/signatures/upload"""
    body = await read_json_body()
    e2ee = services().e2ee
    own_devices = await e2ee.device_keys.device_keys(requester.user_id, None)
    for user_id, value in body.items():
        if not isinstance(value, dict):
            raise BadJSON(f"Signatures for {user_id} must be a JSON object")
    failures = await e2ee.cross_signing.upload_signatures(
        requester.user_id, body, own_devices
    )
    return json_response({"failures": failures})


def install(app: Quart, services_: Any) -> None:
    """Build the E2EE component, hook it into accounts and register the key routes."""
    e2ee = E2EE(services_.db, services_.notifier, services_.config.server_name)
    services_.components["e2ee"] = e2ee

    services_.pipeline.listeners.append(e2ee.device_lists.note_events)

    async def start_e2ee() -> None:
        await e2ee.start()
        e2ee.device_lists.start_tracking(services_.notifier.position("events"))
        accounts = services_.components.get("accounts")
        if accounts is None or not hasattr(accounts, "device_deleted_hooks"):
            logger.warning(
                "No accounts component with device_deleted_hooks; keys of deleted"
                " devices will stay stored"
            )
            return
        accounts.device_deleted_hooks.append(e2ee.on_device_deleted)
        renamed = getattr(accounts, "device_renamed_hooks", None)
        if renamed is not None:
            # The display name is part of the keys other users query.
            renamed.append(_device_renamed_hook(e2ee))

    app.extensions["startup_hooks"].append(start_e2ee)
    app.register_blueprint(bp)


def _device_renamed_hook(e2ee: E2EE) -> Any:
    async def on_device_renamed(txn: Any, user_id: str, device_id: str) -> None:
        await e2ee.mark_device_list_changed(txn, user_id)

    return on_device_renamed
