"""The Client-Server API routes.

Each feature module has an `install(app, services)` function that builds the feature's
core component, registers it in `services.components` and registers its blueprint.
"""

from __future__ import annotations

import importlib
from typing import Any

from quart import Quart

# Installed in this order; later features may use components of earlier ones.
FEATURE_MODULES = (
    "clientapi.server_info",
    "clientapi.accounts",
    "clientapi.keys",
    "clientapi.to_device",
    "clientapi.room_keys",
    "clientapi.rooms",
    "clientapi.push_rules",
    "clientapi.account_data",
    "clientapi.receipts",
    "clientapi.typing",
    "clientapi.presence",
    "clientapi.filters",
    "clientapi.media",
    "clientapi.sync",
)


def register_client_api(app: Quart, services: Any) -> None:
    for name in FEATURE_MODULES:
        importlib.import_module(name).install(app, services)
