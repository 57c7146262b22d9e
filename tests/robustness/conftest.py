"""One homeserver per test module, as for the room tests."""

from tests.rooms.conftest import server

__all__ = ["server"]
