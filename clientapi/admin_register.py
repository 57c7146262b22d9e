"""Shared-secret registration: `GET/POST /_synapse/admin/v1/register`.

Not part of the Matrix spec; the request and MAC format follow Synapse's admin API, so
its `register_new_matrix_user` tool and `homeserver register-user` both work. The routes
reject every request while no `registration.shared_secret` is configured.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Blueprint

from clientapi.common import json_response, read_json_body, require_str, services
from homeserver.accounts.passwords import check_password_length, hash_password
from homeserver.accounts.shared_secret import compute_mac, mac_matches
from homeserver.errors import BadJSON, Forbidden, InvalidUsername, MatrixError

logger = logging.getLogger(__name__)

bp = Blueprint("admin_register", __name__)
PATH = "/_synapse/admin/v1/register"


def _shared_secret() -> str:
    secret = services().config.registration.shared_secret
    if not secret:
        raise MatrixError(
            400, "M_UNKNOWN", "Shared secret registration is not enabled on this server"
        )
    return secret


@bp.route(PATH, methods=["GET"])
async def get_nonce() -> Any:
    """GET /_synapse/admin/v1/register"""
    _shared_secret()
    return json_response({"nonce": services().accounts.nonces.issue()})


@bp.route(PATH, methods=["POST"])
async def register_with_shared_secret() -> Any:
    """POST /_synapse/admin/v1/register"""
    secret = _shared_secret()
    body = await read_json_body()
    nonce = require_str(body, "nonce")
    username = require_str(body, "username")
    password = require_str(body, "password")
    mac = require_str(body, "mac")
    displayname = require_str(body, "displayname", optional=True)
    user_type = require_str(body, "user_type", optional=True)
    admin = body.get("admin", False)
    if not isinstance(admin, bool):
        raise BadJSON("admin must be a boolean")
    assert nonce is not None and username is not None
    assert password is not None and mac is not None
    if "\x00" in username or "\x00" in password or "\x00" in (user_type or ""):
        raise BadJSON("username, password and user_type must not contain NUL")

    accounts = services().accounts
    if not accounts.nonces.consume(nonce):
        raise MatrixError(400, "M_UNKNOWN", "Unrecognised or expired nonce")
    expected = compute_mac(secret, nonce, username, password, admin, user_type)
    if not mac_matches(expected, mac):
        logger.warning(
            "Shared-secret registration of %r failed: HMAC incorrect", username
        )
        raise Forbidden("HMAC incorrect")

    if username.startswith("@"):
        raise InvalidUsername("username must be a localpart, not a full user ID")
    check_password_length(password)
    user_id = await accounts.registrar.check_available(username.lower())
    account = await accounts.registrar.create(
        user_id,
        await hash_password(password),
        admin=admin,
        user_type=user_type,
        displayname=displayname,
    )
    return json_response(
        {
            "user_id": account.user_id,
            "access_token": account.access_token,
            "device_id": account.device_id,
            "home_server": accounts.server_name,
        }
    )
