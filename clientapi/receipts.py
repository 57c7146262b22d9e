"""Receipt route.

Spec: Client-Server API, "Receipts".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route
from homeserver.auth import Requester
from homeserver.errors import InvalidParam
from homeserver.receipts import ReceiptStore

bp = Blueprint("receipts", __name__)


@client_route(bp, "/rooms/<room_id>/receipt/<receipt_type>/<event_id>", ["POST"])
@authenticated
async def post_receipt(
    requester: Requester, room_id: str, receipt_type: str, event_id: str
) -> Any:
    """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}"""
    # Some clients send no body at all; the spec asks for an object.
    body = await read_json_body(allow_empty=True)
    thread_id = body.get("thread_id")
    if thread_id is not None and (not isinstance(thread_id, str) or not thread_id):
        raise InvalidParam("thread_id must be a non-empty string")
    await services().receipts.set_receipt(
        room_id, requester.user_id, receipt_type, event_id, thread_id
    )
    return json_response({})


def install(app: Quart, services_: Any) -> None:
    store = ReceiptStore(
        services_.db,
        services_.notifier,
        services_.events,
        services_.room_cache,
        services_.components["account_data"],
    )
    services_.components["receipts"] = store
    app.extensions["startup_hooks"].append(store.load_position)
    app.register_blueprint(bp)
