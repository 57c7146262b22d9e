"""Push rule routes, read-only: every user has the server-default rules.

Spec: Client-Server API, "Push Rules: API". Changing rules is not supported yet; the
methods that would change them are not registered, so they answer 405 M_UNRECOGNIZED.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart

from clientapi.common import authenticated, json_response, services
from clientapi.routing import client_route
from homeserver.auth import Requester
from homeserver.errors import InvalidParam, NotFound
from homeserver.push_rules import RULE_KINDS, PushRules

bp = Blueprint("push_rules", __name__)


@client_route(bp, "/pushrules/", ["GET"])
@authenticated
async def get_all(requester: Requester) -> Any:
    """GET /pushrules/"""
    return json_response(services().push_rules.rules_content(requester.user_id))


@client_route(bp, "/pushrules/global/", ["GET"])
@authenticated
async def get_global(requester: Requester) -> Any:
    """GET /pushrules/global/"""
    return json_response(services().push_rules.ruleset(requester.user_id))


def _find(requester: Requester, kind: str, rule_id: str) -> dict[str, Any]:
    if kind not in RULE_KINDS:
        raise InvalidParam(f"Unknown push rule kind {kind!r}")
    rule = services().push_rules.find_rule(requester.user_id, kind, rule_id)
    if rule is None:
        raise NotFound(f"Push rule {kind}/{rule_id} not found")
    return rule


@client_route(bp, "/pushrules/global/<kind>/<rule_id>", ["GET"])
@authenticated
async def get_rule(requester: Requester, kind: str, rule_id: str) -> Any:
    """GET /pushrules/global/{kind}/{ruleId}"""
    return json_response(_find(requester, kind, rule_id))


@client_route(bp, "/pushrules/global/<kind>/<rule_id>/enabled", ["GET"])
@authenticated
async def get_enabled(requester: Requester, kind: str, rule_id: str) -> Any:
    """GET /pushrules/global/{kind}/{ruleId}/enabled"""
    return json_response({"enabled": _find(requester, kind, rule_id)["enabled"]})


@client_route(bp, "/pushrules/global/<kind>/<rule_id>/actions", ["GET"])
@authenticated
async def get_actions(requester: Requester, kind: str, rule_id: str) -> Any:
    """GET /pushrules/global/{kind}/{ruleId}/actions"""
    return json_response({"actions": _find(requester, kind, rule_id)["actions"]})


def install(app: Quart, services_: Any) -> None:
    services_.components["push_rules"] = PushRules()
    app.register_blueprint(bp)
