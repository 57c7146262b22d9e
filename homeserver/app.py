"""The composition root: builds every component and the Quart application.

Components take their collaborators in their constructors; this module is the one place
that wires them together. Routes reach the components through `Services`, stored in
`app.extensions["homeserver"]`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey
from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from federation.keys import load_or_create_signing_key
from homeserver.auth import TokenStore
from homeserver.config import Config, ConfigError
from homeserver.errors import MatrixError, TooLarge, Unrecognized
from homeserver.notifier import Notifier
from homeserver.ratelimit import RateLimiter
from homeserver.rooms.pipeline import EventPipeline
from homeserver.rooms.room_cache import RoomCache
from homeserver.rooms.user_rooms import UserRooms
from homeserver.storage.database import Database
from homeserver.storage.events import EventStore
from homeserver.storage.state import StateStore

logger = logging.getLogger(__name__)

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "X-Requested-With, Content-Type, Authorization, Date"
    ),
    "Access-Control-Expose-Headers": "Content-Disposition, Content-Range, ETag",
}


@dataclass
class Services:
    """The components that routes call, built once at start-up."""

    config: Config
    db: Database
    signing_key: SigningKey
    notifier: Notifier
    tokens: TokenStore
    events: EventStore
    state: StateStore
    room_cache: RoomCache
    user_rooms: UserRooms
    pipeline: EventPipeline
    limiters: dict[str, RateLimiter]
    started_ts: int = field(default_factory=lambda: int(time.time() * 1000))
    # Components added by feature modules (accounts, rooms, sync, media, keys, ...).
    components: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        components = self.__dict__.get("components", {})
        if name in components:
            return components[name]
        raise AttributeError(name)


def build_services(config: Config) -> Services:
    db = Database(config.database_path, config.database_synchronous)
    signing_key = load_or_create_signing_key(config.signing_key_path)
    notifier = Notifier()
    events = EventStore(db)
    state = StateStore(db)
    room_cache = RoomCache(db, events, state)
    user_rooms = UserRooms(db)
    pipeline = EventPipeline(
        db,
        events,
        state,
        room_cache,
        notifier,
        config.server_name,
        signing_key,
        user_rooms,
    )
    limits = config.rate_limits
    limiters = {
        name: RateLimiter(getattr(limits, name), limits.enabled)
        for name in ("message", "login", "registration", "media_upload")
    }
    return Services(
        config=config,
        db=db,
        signing_key=signing_key,
        notifier=notifier,
        tokens=TokenStore(db),
        events=events,
        state=state,
        room_cache=room_cache,
        user_rooms=user_rooms,
        pipeline=pipeline,
        limiters=limiters,
    )


def _install_features(app: Quart, services: Services) -> None:
    """Register every feature's component and routes. Order matters only for startup."""
    from clientapi import register_client_api

    register_client_api(app, services)


async def _record_server_name(db: Database, server_name: str) -> None:
    """Store the server name on first start; refuse a database of another name."""
    stored = await db.fetchvalue(
        "SELECT value FROM server_settings WHERE name = 'server_name'"
    )
    if stored is None:
        async with db.transaction("record_server_name") as txn:
            await txn.execute(
                "INSERT INTO server_settings (name, value) VALUES ('server_name', ?)",
                (server_name,),
            )
    elif stored != server_name:
        raise ConfigError(
            f"server_name: the database belongs to {stored!r}, not {server_name!r};"
            " user and room IDs contain the server name, so it cannot change"
        )


def create_app(config: Config) -> Quart:
    """Build the Quart application for `config`; the database opens at startup."""
    import os

    # The database and media hold private messages: readable by the server's user only.
    os.makedirs(config.data_dir, mode=0o700, exist_ok=True)
    app = Quart("homeserver")
    # Routes read bodies in chunks and enforce their own limits. This cap only bounds
    # what Quart buffers for a route that does not read its body.
    app.config["MAX_CONTENT_LENGTH"] = max(
        config.max_request_body_size, config.media.max_upload_size
    ) + 65536
    app.config["BODY_TIMEOUT"] = 60
    app.url_map.strict_slashes = False
    services = build_services(config)
    app.extensions["homeserver"] = services
    startup_hooks: list[Any] = []
    shutdown_hooks: list[Any] = []
    app.extensions["startup_hooks"] = startup_hooks
    app.extensions["shutdown_hooks"] = shutdown_hooks
    _install_features(app, services)

    @app.before_serving
    async def open_services() -> None:
        await services.db.open()
        await _record_server_name(services.db, config.server_name)
        await services.state.load_keys()
        await services.state.load_counters()
        await services.pipeline.start()
        for hook in startup_hooks:
            await hook()
        logger.info("Homeserver %s started", config.server_name)

    @app.after_serving
    async def close_services() -> None:
        for hook in reversed(shutdown_hooks):
            await hook()
        await services.pipeline.stop()
        await services.db.close()
        logger.info("Homeserver %s stopped", config.server_name)

    @app.before_request
    async def answer_preflight() -> Response | None:
        if request.method == "OPTIONS":
            return Response("{}", status=200, content_type="application/json")
        return None

    @app.after_request
    async def add_cors_headers(response: Response) -> Response:
        for name, value in _CORS_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(MatrixError)
    async def matrix_error(error: MatrixError) -> Response:
        from clientapi.common import json_response

        return json_response(error.to_json(), status=error.status)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        from clientapi.common import json_response

        if error.code == 404:
            body = Unrecognized("Unrecognized request")
        elif error.code == 405:
            body = Unrecognized("Unrecognized request method", status=405)
        elif error.code == 413:
            body = TooLarge("Request body is too large")
        else:
            body = MatrixError(
                error.code or 500, "M_UNKNOWN", error.description or "Request failed"
            )
        return json_response(body.to_json(), status=body.status)

    @app.errorhandler(Exception)
    async def unexpected_error(error: Exception) -> Response:
        from clientapi.common import json_response

        logger.exception("Unhandled error on %s %s", request.method, request.path)
        body = MatrixError(500, "M_UNKNOWN", "Internal server error")
        return json_response(body.to_json(), status=500)

    return app
