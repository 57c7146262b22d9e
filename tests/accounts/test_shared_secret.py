"""Shared-secret admin registration and the `register-user` command."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import subprocess
import sys

from homeserver.accounts.shared_secret import NonceRegistry, compute_mac
from tests.accounts.helpers import login
from tests.client import RawClient
from tests.serverproc import ServerProcess

ADMIN_REGISTER = "/_synapse/admin/v1/register"


def test_mac_matches_reference_construction() -> None:
    # The message is built as one byte string here, independently of compute_mac.
    expected = hmac.new(
        b"shared", b"thenonce\x00bob\x00abc123\x00admin", hashlib.sha1
    ).hexdigest()
    assert compute_mac("shared", "thenonce", "bob", "abc123", True) == expected


def test_mac_with_user_type() -> None:
    expected = hmac.new(
        b"shared", b"n\x00bot\x00pw\x00notadmin\x00bot", hashlib.sha1
    ).hexdigest()
    assert compute_mac("shared", "n", "bot", "pw", False, "bot") == expected


def test_nonce_single_use() -> None:
    registry = NonceRegistry()
    nonce = registry.issue()
    assert registry.consume(nonce)
    assert not registry.consume(nonce)
    assert not registry.consume("never-issued")


def test_nonce_expires() -> None:
    registry = NonceRegistry(lifetime=0.0)
    nonce = registry.issue()
    assert not registry.consume(nonce)


async def _register(
    client: RawClient,
    secret: str,
    username: str,
    password: str,
    admin: bool = False,
) -> tuple[str, object]:
    nonce_response = await client.request("GET", ADMIN_REGISTER)
    assert nonce_response.status == 200, nonce_response.body
    nonce = nonce_response.body["nonce"]
    response = await client.request(
        "POST",
        ADMIN_REGISTER,
        {
            "nonce": nonce,
            "username": username,
            "password": password,
            "admin": admin,
            "mac": compute_mac(secret, nonce, username, password, admin),
        },
    )
    return nonce, response


async def test_admin_register_good_mac(
    server: ServerProcess, client: RawClient
) -> None:
    _, response = await _register(client, server.shared_secret, "root", "pw", True)
    assert response.status == 200, response.body
    assert response.body["user_id"] == "@root:localhost"
    assert response.body["access_token"]
    assert response.body["device_id"]
    assert (await login(client, "root", "pw")).status == 200


async def test_admin_register_bad_mac(client: RawClient) -> None:
    _, response = await _register(client, "not-the-secret", "root", "pw")
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"
    assert (await login(client, "root", "pw")).status == 403


async def test_admin_register_nonce_reuse(
    server: ServerProcess, client: RawClient
) -> None:
    nonce, first = await _register(client, server.shared_secret, "one", "pw")
    assert first.status == 200
    replay = await client.request(
        "POST",
        ADMIN_REGISTER,
        {
            "nonce": nonce,
            "username": "two",
            "password": "pw",
            "admin": False,
            "mac": compute_mac(server.shared_secret, nonce, "two", "pw", False),
        },
    )
    assert replay.status == 400


async def test_admin_register_taken_user(
    server: ServerProcess, client: RawClient
) -> None:
    await client.register("alice")
    _, response = await _register(client, server.shared_secret, "alice", "pw")
    assert response.status == 400
    assert response.body["errcode"] == "M_USER_IN_USE"


async def test_admin_register_disabled(custom_server) -> None:
    overrides = {"registration": {"shared_secret": None}}
    async with custom_server(overrides) as (_, client):
        response = await client.request("GET", ADMIN_REGISTER)
        assert response.status == 400
        post = await client.request("POST", ADMIN_REGISTER, {"nonce": "x"})
        assert post.status == 400


def _run_cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "homeserver.cli",
            "-c",
            str(server.config_path),
            "register-user",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


async def test_cli_register_user(server: ServerProcess, client: RawClient) -> None:
    result = await asyncio.to_thread(
        _run_cli, server, "carol", "--password", "pw", "--admin"
    )
    assert result.returncode == 0, result.stderr
    assert "@carol:localhost" in result.stdout
    assert (await login(client, "carol", "pw")).status == 200


async def test_cli_register_full_user_id(
    server: ServerProcess, client: RawClient
) -> None:
    result = await asyncio.to_thread(
        _run_cli,
        server,
        "@dan:localhost",
        "--password",
        "pw",
        "--url",
        server.base_url,
    )
    assert result.returncode == 0, result.stderr
    assert (await login(client, "dan", "pw")).status == 200


async def test_cli_register_taken_user(
    server: ServerProcess, client: RawClient
) -> None:
    await client.register("erin")
    result = await asyncio.to_thread(_run_cli, server, "erin", "--password", "pw")
    assert result.returncode == 1
    assert "M_USER_IN_USE" in result.stderr


async def test_cli_register_server_down(server: ServerProcess) -> None:
    server.stop()
    result = await asyncio.to_thread(_run_cli, server, "fay", "--password", "pw")
    assert result.returncode == 1
    assert "Could not reach the server" in result.stderr
