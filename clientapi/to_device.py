"""Route for send-to-device messaging.

Spec: Client-Server API, "Send-to-Device messaging":
`PUT /sendToDevice/{eventType}/{txnId}`. The transaction ID is scoped to the sending
device, so a retried request with the same ID sends nothing again.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import (
    authenticated,
    json_response,
    read_json_body,
    require_dict,
    services,
)
from clientapi.routing import client_route
from homeserver.auth import Requester

bp = Blueprint("to_device", __name__)


@client_route(bp, "/sendToDevice/<event_type>/<path:txn_id>", ["PUT"])
@authenticated
async def send_to_device(requester: Requester, event_type: str, txn_id: str) -> Any:
    """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
    body = await read_json_body()
    messages = require_dict(body, "messages")
    assert messages is not None
    await services().e2ee.to_device.send(
        requester.user_id, requester.device_id, event_type, txn_id, messages
    )
    return json_response({})


def install(app: Quart, services_: Any) -> None:
    """Register the route; the E2EE component comes from `clientapi.keys`."""
    app.register_blueprint(bp)
