"""Routes that describe the server: versions, well-known, capabilities."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, services
from homeserver.auth import Requester
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomDisposition

bp = Blueprint("server_info", __name__)

# Spec versions whose Client-Server requirements this server meets.
SUPPORTED_SPEC_VERSIONS = (
    "r0.6.1",
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
    "v1.11",
    "v1.12",
)


@bp.route("/_matrix/client/versions", methods=["GET"])
async def versions() -> Any:
    """GET /_matrix/client/versions"""
    return json_response({"versions": list(SUPPORTED_SPEC_VERSIONS), "unstable_features": {}})


@bp.route("/.well-known/matrix/client", methods=["GET"])
async def well_known_client() -> Any:
    """GET /.well-known/matrix/client"""
    base = services().config.public_baseurl.rstrip("/")
    return json_response({"m.homeserver": {"base_url": base}})


@bp.route("/_matrix/client/v3/capabilities", methods=["GET"])
@bp.route("/_matrix/client/r0/capabilities", methods=["GET"])
@authenticated
async def capabilities(requester: Requester) -> Any:
    """GET /_matrix/client/v3/capabilities"""
    config = services().config
    available = {
        version.identifier: version.disposition.value
        for version in KNOWN_ROOM_VERSIONS.values()
        if version.disposition in (RoomDisposition.STABLE, RoomDisposition.UNSTABLE)
    }
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": config.default_room_version,
                    "available": available,
                },
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
            }
        }
    )


def install(app: Quart, services_: Any) -> None:
    app.register_blueprint(bp)
