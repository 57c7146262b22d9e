"""User-interactive auth sessions and password hashing, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.accounts.passwords import (
    MAX_PASSWORD_BYTES,
    check_password_length,
    hash_password,
    verify_password,
)
from homeserver.accounts.uia import (
    StageFailed,
    UiaSession,
    UserInteractiveAuth,
    dummy_stage,
)
from homeserver.errors import (
    Forbidden,
    InteractiveAuthRequired,
    InvalidParam,
    MatrixError,
)

FLOWS = [["m.login.dummy", "example.stage"]]


async def example_stage(auth: dict[str, Any], session: UiaSession) -> None:
    if auth.get("secret") != "open sesame":
        raise StageFailed("M_FORBIDDEN", "wrong secret")


CHECKS = {"m.login.dummy": dummy_stage, "example.stage": example_stage}


async def _state(uia: UserInteractiveAuth, auth: dict | None) -> dict[str, Any]:
    with pytest.raises(InteractiveAuthRequired) as raised:
        await uia.authenticate(
            auth, flows=FLOWS, checks=CHECKS, method="POST", path="/op"
        )
    return raised.value.to_json()


async def test_two_stage_flow() -> None:
    uia = UserInteractiveAuth()
    start = await _state(uia, None)
    session = start["session"]
    assert start["completed"] == []
    assert start["flows"] == [{"stages": FLOWS[0]}]

    after_dummy = await _state(uia, {"type": "m.login.dummy", "session": session})
    assert after_dummy["completed"] == ["m.login.dummy"]
    assert "errcode" not in after_dummy

    failed = await _state(
        uia, {"type": "example.stage", "secret": "no", "session": session}
    )
    assert failed["errcode"] == "M_FORBIDDEN"
    assert failed["completed"] == ["m.login.dummy"]

    done = await uia.authenticate(
        {"type": "example.stage", "secret": "open sesame", "session": session},
        flows=FLOWS,
        checks=CHECKS,
        method="POST",
        path="/op",
    )
    assert done.completed == ["m.login.dummy", "example.stage"]


async def test_completed_session_cannot_be_replayed() -> None:
    uia = UserInteractiveAuth()
    flows = [["m.login.dummy"]]
    session = await uia.authenticate(
        {"type": "m.login.dummy"},
        flows=flows,
        checks=CHECKS,
        method="POST",
        path="/op",
    )
    with pytest.raises(MatrixError) as raised:
        await uia.authenticate(
            {"type": "m.login.dummy", "session": session.session_id},
            flows=flows,
            checks=CHECKS,
            method="POST",
            path="/op",
        )
    assert raised.value.status == 400


async def test_session_bound_to_path() -> None:
    uia = UserInteractiveAuth()
    session = (await _state(uia, None))["session"]
    with pytest.raises(Forbidden):
        await uia.authenticate(
            {"type": "m.login.dummy", "session": session},
            flows=FLOWS,
            checks=CHECKS,
            method="POST",
            path="/other",
        )


async def test_password_hash_roundtrip() -> None:
    stored = await hash_password("hunter2")
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, "hunter2")
    assert not await verify_password(stored, "hunter3")
    assert not await verify_password(None, "hunter2")
    assert not await verify_password("not a hash", "hunter2")


def test_password_length_limits() -> None:
    check_password_length("x" * MAX_PASSWORD_BYTES)
    with pytest.raises(InvalidParam):
        check_password_length("")
    with pytest.raises(InvalidParam):
        check_password_length("x" * (MAX_PASSWORD_BYTES + 1))
