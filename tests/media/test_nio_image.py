"""A matrix-nio client uploads and sends an m.image, and another user fetches it."""

from __future__ import annotations

import io
from pathlib import Path

from nio import (
    JoinResponse,
    MemoryDownloadResponse,
    RoomCreateResponse,
    RoomMessageImage,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from PIL import Image

from tests.media.helpers import png_bytes
from tests.nio_helpers import new_nio_client
from tests.serverproc import ServerProcess


async def test_image_message_downloaded(server: ServerProcess, tmp_path: Path) -> None:
    alice = await new_nio_client(server, "alice", tmp_path)
    bob = await new_nio_client(server, "bob", tmp_path)
    try:
        data = png_bytes(640, 480, (0, 128, 255))
        uploaded, _ = await alice.upload(
            io.BytesIO(data),
            content_type="image/png",
            filename="photo.png",
            filesize=len(data),
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        assert uploaded.content_uri.startswith("mxc://localhost/")

        created = await alice.room_create(invite=[bob.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        joined = await bob.join(room_id)
        assert isinstance(joined, JoinResponse), joined

        sent = await alice.room_send(
            room_id,
            "m.room.message",
            {
                "msgtype": "m.image",
                "body": "photo.png",
                "url": uploaded.content_uri,
                "info": {
                    "mimetype": "image/png",
                    "size": len(data),
                    "w": 640,
                    "h": 480,
                },
            },
        )
        assert isinstance(sent, RoomSendResponse), sent

        image_event = None
        for _ in range(10):
            response = await bob.sync(timeout=3000)
            assert isinstance(response, SyncResponse), response
            room = response.rooms.join.get(room_id)
            events = room.timeline.events if room is not None else []
            image_event = next(
                (event for event in events if isinstance(event, RoomMessageImage)), None
            )
            if image_event is not None:
                break
        assert image_event is not None
        assert image_event.url == uploaded.content_uri

        downloaded = await bob.download(mxc=image_event.url)
        assert isinstance(downloaded, MemoryDownloadResponse), downloaded
        assert downloaded.body == data
        assert downloaded.content_type == "image/png"
        assert downloaded.filename == "photo.png"

        thumbnail = await bob.thumbnail(
            "localhost", image_event.url.rsplit("/", 1)[1], 96, 96
        )
        # nio requests "scale", which is served from the smallest configured scale size
        # that covers 96x96: 320x240 by default.
        assert Image.open(io.BytesIO(thumbnail.body)).size == (320, 240)
    finally:
        await alice.close()
        await bob.close()
