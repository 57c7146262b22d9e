"""Routes for user profiles.

Spec: Client-Server API, "Profiles". Any profile of a local user can be read; only the
owner may change it.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from clientapi.common import authenticated, json_response, read_json_body, services
from clientapi.routing import client_route
from homeserver.auth import Requester

bp = Blueprint("profile", __name__)


@client_route(bp, "/profile/<user_id>", ["GET"])
async def get_profile(user_id: str) -> Any:
    """GET /_matrix/client/v3/profile/{userId}"""
    return json_response(await services().accounts.profiles.get_profile(user_id))


@client_route(bp, "/profile/<user_id>/<key>", ["GET"])
async def get_profile_field(user_id: str, key: str) -> Any:
    """GET /_matrix/client/v3/profile/{userId}/{keyName}"""
    value = await services().accounts.profiles.get_field(user_id, key)
    return json_response({key: value})


@client_route(bp, "/profile/<user_id>/<key>", ["PUT"])
@authenticated
async def set_profile_field(requester: Requester, user_id: str, key: str) -> Any:
    """PUT /_matrix/client/v3/profile/{userId}/{keyName}"""
    body = await read_json_body()
    await services().accounts.profiles.set_field(requester.user_id, user_id, key, body)
    return json_response({})


@client_route(bp, "/profile/<user_id>/<key>", ["DELETE"])
@authenticated
async def delete_profile_field(requester: Requester, user_id: str, key: str) -> Any:
    """DELETE /_matrix/client/v3/profile/{userId}/{keyName}"""
    await services().accounts.profiles.delete_field(requester.user_id, user_id, key)
    return json_response({})
