"""matrix-nio, an unmodified client library, registers, logs in and asks whoami."""

from __future__ import annotations

from nio import AsyncClient, LoginResponse, RegisterResponse, WhoamiResponse

from tests.serverproc import ServerProcess


async def test_nio_register_login_whoami(server: ServerProcess) -> None:
    client = AsyncClient(server.base_url, "niouser")
    try:
        registered = await client.register("niouser", "nio-password", "nio device")
        assert isinstance(registered, RegisterResponse), registered
        assert registered.user_id == "@niouser:localhost"

        other = AsyncClient(server.base_url, "niouser")
        try:
            logged_in = await other.login("nio-password", device_name="second")
            assert isinstance(logged_in, LoginResponse), logged_in
            assert logged_in.user_id == "@niouser:localhost"

            whoami = await other.whoami()
            assert isinstance(whoami, WhoamiResponse), whoami
            assert whoami.user_id == "@niouser:localhost"
            assert whoami.device_id == logged_in.device_id
            assert whoami.is_guest is False
        finally:
            await other.close()
    finally:
        await client.close()
