"""The sync tests share one homeserver per module, like the room tests."""

from tests.rooms.conftest import server

__all__ = ["server"]
