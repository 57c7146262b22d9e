"""Filter upload and download routes.

Spec: Client-Server API, "Filtering".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route, require_own_user
from homeserver.auth import Requester
from homeserver.filters import FilterStore

bp = Blueprint("filters", __name__)


@client_route(bp, "/user/<user_id>/filter", ["POST"])
@authenticated
async def create_filter(requester: Requester, user_id: str) -> Any:
    """POST /user/{userId}/filter"""
    require_own_user(requester, user_id, "create filters")
    definition = await read_json_body()
    filter_id = await services().filters.create(user_id, definition)
    return json_response({"filter_id": filter_id})


@client_route(bp, "/user/<user_id>/filter/<filter_id>", ["GET"])
@authenticated
async def get_filter(requester: Requester, user_id: str, filter_id: str) -> Any:
    """GET /user/{userId}/filter/{filterId}"""
    require_own_user(requester, user_id, "read filters")
    definition = await services().filters.get_definition(user_id, filter_id)
    return json_response(definition)


def install(app: Quart, services_: Any) -> None:
    services_.components["filters"] = FilterStore(services_.db)
    app.register_blueprint(bp)
