"""matrix-nio clients registered on a test server."""

from __future__ import annotations

from pathlib import Path

from nio import AsyncClient, AsyncClientConfig

from tests.serverproc import ServerProcess


async def new_nio_client(server: ServerProcess, name: str, tmp_path: Path) -> AsyncClient:
    """Register `name` through matrix-nio and return the logged-in client.

    Encryption is off; the end-to-end tests build their own clients.
    """
    store = tmp_path / f"store-{name}"
    store.mkdir()
    client = AsyncClient(
        server.base_url,
        f"@{name}:{server.server_name}",
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=False),
    )
    response = await client.register(name, "a secret password")
    assert response.user_id == f"@{name}:{server.server_name}", response
    return client
