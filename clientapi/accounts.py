"""Routes for registration, login, logout, whoami, password change and deactivation.

Spec: Client-Server API, "Account registration and management" and "Login". `install`
also registers the device, profile and admin registration routes.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Blueprint, Quart, request

from clientapi.account_helpers import operation, require_password_auth
from clientapi.common import (
    access_token_from_request,
    authenticated,
    client_ip,
    json_response,
    read_json_body,
    require_dict,
    require_str,
    services,
)
from clientapi.routing import client_route
from homeserver.accounts import Accounts
from homeserver.accounts.login import (
    PASSWORD_LOGIN,
    device_id_from_body,
    display_name_from_body,
)
from homeserver.accounts.passwords import check_password_length, hash_password
from homeserver.accounts.registration import DUMMY_STAGE, REGISTRATION_TOKEN_STAGE
from homeserver.accounts.uia import dummy_stage
from homeserver.auth import Requester
from homeserver.errors import (
    BadJSON,
    Forbidden,
    InvalidParam,
    MatrixError,
    MissingParam,
)

logger = logging.getLogger(__name__)

bp = Blueprint("accounts", __name__)


def _optional_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise BadJSON(f"Field {key!r} must be a boolean")
    return value


def _require_registration_enabled() -> None:
    if not services().config.registration.enabled:
        raise Forbidden("Registration is disabled on this server")


@client_route(bp, "/register", ["POST"])
async def register() -> Any:
    """POST /_matrix/client/v3/register"""
    kind = request.args.get("kind", "user")
    if kind == "guest":
        raise MatrixError(
            403, "M_GUEST_ACCESS_FORBIDDEN", "Guest accounts are not supported"
        )
    if kind != "user":
        raise InvalidParam(f"Unknown account kind {kind!r}; expected user or guest")
    _require_registration_enabled()
    body = await read_json_body()
    accounts: Accounts = services().accounts
    registrar = accounts.registrar

    username = require_str(body, "username", optional=True)
    password = require_str(body, "password", optional=True)
    device_id = device_id_from_body(body)
    device_name = display_name_from_body(body)
    inhibit_login = _optional_bool(body, "inhibit_login", False)
    auth = require_dict(body, "auth", optional=True)
    if password is not None:
        check_password_length(password)
    # A taken or invalid name is reported before any auth stage is attempted.
    user_id = await registrar.check_available(username) if username else None

    if auth is not None and "type" in auth:
        # Counted per stage attempt, so guessing registration tokens is slow too.
        services().limiters["registration"].check(client_ip())
    method, path = operation()
    session = await accounts.uia.authenticate(
        auth,
        flows=registrar.flows(),
        checks={
            DUMMY_STAGE: dummy_stage,
            REGISTRATION_TOKEN_STAGE: registrar.token_stage,
        },
        method=method,
        path=path,
    )
    if password is None:
        raise MissingParam("Missing required field 'password'")
    if user_id is None:
        user_id = await registrar.random_user_id()
    account = await registrar.create(
        user_id,
        await hash_password(password),
        device_id=device_id,
        device_display_name=device_name,
        inhibit_login=inhibit_login,
        registration_token=session.results.get("registration_token"),
        ip=client_ip(),
    )
    response: dict[str, Any] = {
        "user_id": account.user_id,
        "home_server": accounts.server_name,
    }
    if account.access_token is not None:
        response["access_token"] = account.access_token
        response["device_id"] = account.device_id
    return json_response(response)


@client_route(bp, "/register/available", ["GET"])
async def register_available() -> Any:
    """GET /_matrix/client/v3/register/available"""
    _require_registration_enabled()
    username = request.args.get("username")
    if not username:
        raise MissingParam("Missing query parameter 'username'")
    await services().accounts.registrar.check_available(username)
    return json_response({"available": True})


@bp.route(
    "/_matrix/client/v1/register/m.login.registration_token/validity",
    methods=["GET"],
)
async def registration_token_validity() -> Any:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
    _require_registration_enabled()
    services().limiters["registration"].check(client_ip())
    token = request.args.get("token")
    if token is None:
        raise MissingParam("Missing query parameter 'token'")
    valid = services().accounts.registrar.is_valid_token(token)
    return json_response({"valid": valid})


@client_route(bp, "/login", ["GET"])
async def login_flows() -> Any:
    """GET /_matrix/client/v3/login"""
    return json_response({"flows": [{"type": PASSWORD_LOGIN}]})


@client_route(bp, "/login", ["POST"])
async def login() -> Any:
    """POST /_matrix/client/v3/login"""
    ip = client_ip()
    services().limiters["login"].check(f"ip:{ip}")
    body = await read_json_body()
    session = await services().accounts.passwords.login(body, ip)
    config = services().config
    return json_response(
        {
            "user_id": session.user_id,
            "access_token": session.access_token,
            "device_id": session.device_id,
            "home_server": config.server_name,
            "well_known": {
                "m.homeserver": {"base_url": config.public_baseurl.rstrip("/")}
            },
        }
    )


@client_route(bp, "/logout", ["POST"])
@authenticated
async def logout(requester: Requester) -> Any:
    """POST /_matrix/client/v3/logout"""
    await services().accounts.management.logout(requester)
    return json_response({})


@client_route(bp, "/logout/all", ["POST"])
@authenticated
async def logout_all(requester: Requester) -> Any:
    """POST /_matrix/client/v3/logout/all"""
    await services().accounts.management.logout_all(requester)
    return json_response({})


@client_route(bp, "/account/whoami", ["GET"])
@authenticated
async def whoami(requester: Requester) -> Any:
    """GET /_matrix/client/v3/account/whoami"""
    return json_response(
        {
            "user_id": requester.user_id,
            "device_id": requester.device_id,
            "is_guest": False,
        }
    )


@client_route(bp, "/account/password", ["POST"])
@authenticated
async def change_password(requester: Requester) -> Any:
    """POST /_matrix/client/v3/account/password"""
    body = await read_json_body()
    new_password = require_str(body, "new_password", optional=True)
    logout_devices = _optional_bool(body, "logout_devices", True)
    if new_password is not None:
        check_password_length(new_password)
    await require_password_auth(requester, body)
    if new_password is None:
        raise MissingParam("Missing required field 'new_password'")
    await services().accounts.management.change_password(
        requester, new_password, logout_devices
    )
    return json_response({})


@client_route(bp, "/account/deactivate", ["POST"])
@authenticated
async def deactivate(requester: Requester) -> Any:
    """POST /_matrix/client/v3/account/deactivate"""
    body = await read_json_body(allow_empty=True)
    erase = _optional_bool(body, "erase", False)
    await require_password_auth(requester, body)
    await services().accounts.management.deactivate(requester.user_id, erase)
    # No third-party identifiers are stored, so there is nothing to unbind.
    return json_response({"id_server_unbind_result": "success"})


def install(app: Quart, services_: Any) -> None:
    """Build the accounts component and register its routes and hooks."""
    from clientapi import admin_register, devices, profile

    accounts = Accounts(services_)
    services_.components["accounts"] = accounts
    app.register_blueprint(bp)
    app.register_blueprint(devices.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(admin_register.bp)
    app.extensions["startup_hooks"].append(accounts.start)
    app.extensions["shutdown_hooks"].append(accounts.stop)

    @app.before_request
    async def record_device_seen() -> None:
        token = access_token_from_request()
        if token is None:
            return
        try:
            requester = await services_.tokens.resolve(token)
        except MatrixError:
            # The route itself reports the unknown token.
            return
        accounts.devices.record_seen(
            requester.user_id, requester.device_id, client_ip()
        )
