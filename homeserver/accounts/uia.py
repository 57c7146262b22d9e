"""User-interactive authentication (UIA) sessions.

Spec: Client-Server API, "User-Interactive Authentication API". An endpoint protected
by UIA answers 401 with the flows a client may complete, a session ID and the stages
completed so far. The client then sends one stage at a time in `auth`, each time with
the same session, until one flow is complete and the request goes through.

A session is bound to the method and path of the request that started it and, for
endpoints that need an access token, to the user. Sessions live in memory, so a restart
makes clients start over.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from homeserver.errors import Forbidden, InteractiveAuthRequired, MatrixError

logger = logging.getLogger(__name__)

SESSION_LIFETIME_SECONDS = 30 * 60
_MAX_SESSIONS = 10_000


@dataclass
class UiaSession:
    session_id: str
    method: str
    path: str
    user_id: str | None
    created: float
    completed: list[str] = field(default_factory=list)
    # Values that stages record for the request handler, such as a registration token.
    results: dict[str, Any] = field(default_factory=dict)


class StageFailed(Exception):
    """A stage's credentials were wrong; the client may retry the stage."""

    def __init__(self, errcode: str, message: str) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.message = message


# A stage check receives the `auth` dict and the session; it raises `StageFailed`.
StageCheck = Callable[[dict[str, Any], UiaSession], Awaitable[None]]


class UserInteractiveAuth:
    """Runs UIA for one request against the flows and stage checks it is given."""

    def __init__(self) -> None:
        self._sessions: dict[str, UiaSession] = {}

    async def authenticate(
        self,
        auth: dict[str, Any] | None,
        *,
        flows: list[list[str]],
        checks: dict[str, StageCheck],
        method: str,
        path: str,
        user_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> UiaSession:
        """Return the session once a flow is complete; else raise the 401 state.

        Raises `InteractiveAuthRequired` while stages remain or when a stage fails,
        `Forbidden` when the session belongs to another request or user, and a 400 for
        an unknown session or a stage that no flow contains.
        """
        params = params or {}
        session_id = auth.get("session") if auth else None
        if session_id is None:
            session = self._create(method, path, user_id)
        else:
            session = self._get(session_id)
            if session.method != method or session.path != path:
                raise Forbidden(
                    "The request changed during the user-interactive auth session;"
                    " start a new session"
                )
            if session.user_id != user_id:
                raise Forbidden("The auth session belongs to another user")

        stage = auth.get("type") if auth else None
        if stage is not None:
            if not isinstance(stage, str) or not any(stage in f for f in flows):
                raise MatrixError(
                    400, "M_UNRECOGNIZED", f"Unsupported auth stage type {stage!r}"
                )
            try:
                await checks[stage](auth or {}, session)
            except StageFailed as failure:
                raise InteractiveAuthRequired(
                    self._state(session, flows, params, failure)
                ) from None
            if stage not in session.completed:
                session.completed.append(stage)

        if any(all(s in session.completed for s in flow) for flow in flows):
            # A completed session is used once, so it cannot authorise a replay.
            self._sessions.pop(session.session_id, None)
            return session
        raise InteractiveAuthRequired(self._state(session, flows, params, None))

    def _create(self, method: str, path: str, user_id: str | None) -> UiaSession:
        self._expire()
        session = UiaSession(
            session_id=secrets.token_urlsafe(18),
            method=method,
            path=path,
            user_id=user_id,
            created=time.monotonic(),
        )
        self._sessions[session.session_id] = session
        return session

    def _get(self, session_id: Any) -> UiaSession:
        session = (
            self._sessions.get(session_id) if isinstance(session_id, str) else None
        )
        if session is None or self._expired(session):
            raise MatrixError(400, "M_UNKNOWN", "Unknown or expired auth session")
        return session

    def _expired(self, session: UiaSession) -> bool:
        return time.monotonic() - session.created > SESSION_LIFETIME_SECONDS

    def _expire(self) -> None:
        for session_id in [s for s, v in self._sessions.items() if self._expired(v)]:
            del self._sessions[session_id]
        while len(self._sessions) >= _MAX_SESSIONS:
            oldest = next(iter(self._sessions))
            del self._sessions[oldest]
            logger.warning("Dropped auth session %s: too many open sessions", oldest)

    def _state(
        self,
        session: UiaSession,
        flows: list[list[str]],
        params: dict[str, Any],
        failure: StageFailed | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "flows": [{"stages": list(flow)} for flow in flows],
            "params": params,
            "session": session.session_id,
            "completed": list(session.completed),
        }
        if failure is not None:
            body["errcode"] = failure.errcode
            body["error"] = failure.message
        return body


async def dummy_stage(auth: dict[str, Any], session: UiaSession) -> None:
    """`m.login.dummy`: always succeeds."""
