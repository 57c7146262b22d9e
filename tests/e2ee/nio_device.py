"""A matrix-nio client with end-to-end encryption, driven one sync at a time."""

from __future__ import annotations

from pathlib import Path

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RegisterResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.serverproc import ServerProcess

PASSWORD = "a long secret password"
ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class Device:
    """One nio client with its own crypto store, driven one sync at a time."""

    def __init__(self, server: ServerProcess, name: str, store: Path) -> None:
        store.mkdir(parents=True)
        self.client = AsyncClient(
            server.base_url,
            f"@{name}:{server.server_name}",
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.name = name

    async def register(self) -> None:
        response = await self.client.register(self.name, PASSWORD)
        assert isinstance(response, RegisterResponse), response

    async def login(self, device_name: str) -> None:
        response = await self.client.login(PASSWORD, device_name=device_name)
        assert isinstance(response, LoginResponse), response

    async def step(self) -> SyncResponse:
        """Sync once and do the key work a client's sync loop does after each sync."""
        response = await self.client.sync(timeout=500)
        assert isinstance(response, SyncResponse), response
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
            # nio retries key requests that waited for an Olm session only while
            # handling a sync with a new token, which may never come in a quiet test.
            self.client.olm.collect_key_requests()
        await self.client.send_to_device_messages()
        return response

    async def close(self) -> None:
        await self.client.close()


def texts(response: SyncResponse, room_id: str) -> list[str]:
    room = response.rooms.join.get(room_id)
    if room is None:
        return []
    return [e.body for e in room.timeline.events if isinstance(e, RoomMessageText)]


async def send_text(sender: Device, room_id: str, body: str) -> None:
    response = await sender.client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, RoomSendResponse), response
