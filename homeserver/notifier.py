"""Stream positions, sync tokens and waking long-polling clients.

Every kind of data a client syncs is a stream with a monotonically increasing position:
room events, account data, receipts, typing, presence, to-device messages and device-list
changes. A sync token is the tuple of positions a client has seen, written as
`s<events>_<account_data>_<receipts>_<typing>_<presence>_<to_device>_<device_lists>`.

Writers call `Notifier.notify(stream, position, user_ids)` after their transaction has
committed. Each waiting `/sync` request owns one future registered under its user; a
notification resolves exactly the futures of the users it names, so nothing polls.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, fields, replace
from typing import Iterable

from homeserver.errors import InvalidParam

logger = logging.getLogger(__name__)

STREAMS = (
    "events",
    "account_data",
    "receipts",
    "typing",
    "presence",
    "to_device",
    "device_lists",
)

# Positions are stored in SQLite INTEGER columns, which hold signed 64-bit values, so
# a larger position in a token cannot have come from this server.
MAX_POSITION = 2**63 - 1


@dataclass(frozen=True)
class StreamToken:
    """The positions a client has seen in every stream."""

    events: int = 0
    account_data: int = 0
    receipts: int = 0
    typing: int = 0
    presence: int = 0
    to_device: int = 0
    device_lists: int = 0

    def serialize(self) -> str:
        # Written out instead of a loop over STREAMS: every /sync response calls it.
        return (
            f"s{self.events}_{self.account_data}_{self.receipts}_{self.typing}"
            f"_{self.presence}_{self.to_device}_{self.device_lists}"
        )

    @classmethod
    def parse(cls, text: str) -> StreamToken:
        """Parse a token from `serialize`; `InvalidParam` if it is malformed."""
        if not text.startswith("s"):
            raise InvalidParam(f"Invalid sync token {text!r}")
        parts = text[1:].split("_")
        if len(parts) > len(STREAMS) or not parts:
            raise InvalidParam(f"Invalid sync token {text!r}")
        try:
            values = [int(part) for part in parts]
        except ValueError as exc:
            raise InvalidParam(f"Invalid sync token {text!r}") from exc
        if any(not 0 <= value <= MAX_POSITION for value in values):
            raise InvalidParam(f"Invalid sync token {text!r}")
        # Tokens written before a stream existed simply lack its position.
        return cls(**dict(zip(STREAMS, values)))

    def advance(self, **positions: int) -> StreamToken:
        return replace(self, **positions)

    def is_after(self, other: StreamToken) -> bool:
        """Return whether any stream of this token is ahead of `other`."""
        return any(
            getattr(self, f.name) > getattr(other, f.name) for f in fields(StreamToken)
        )

    def clamp(self, current: StreamToken) -> StreamToken:
        """Cap each position at `current`, for tokens from the future or a reset."""
        return StreamToken(
            **{
                name: min(getattr(self, name), getattr(current, name))
                for name in STREAMS
            }
        )


class Notifier:
    """Current stream positions and the futures of waiting sync requests."""

    def __init__(self) -> None:
        self._positions: dict[str, int] = {name: 0 for name in STREAMS}
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    def set_position(self, stream: str, position: int) -> None:
        """Set a stream's position at start-up, from the database."""
        self._positions[stream] = position

    def current_token(self) -> StreamToken:
        return StreamToken(**self._positions)

    def position(self, stream: str) -> int:
        return self._positions[stream]

    def notify(self, stream: str, position: int, user_ids: Iterable[str]) -> None:
        """Record that `stream` reached `position` and wake the named users' syncs."""
        if position > self._positions[stream]:
            self._positions[stream] = position
        for user_id in user_ids:
            waiters = self._waiters.get(user_id)
            if not waiters:
                continue
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    async def wait_for_change(self, user_id: str, timeout_seconds: float) -> bool:
        """Wait until a notification names `user_id`; return False on timeout."""
        if timeout_seconds <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(user_id, set())
        waiters.add(future)
        try:
            await asyncio.wait_for(future, timeout_seconds)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters.discard(future)
            if not waiters:
                self._waiters.pop(user_id, None)

    def waiting_user_count(self) -> int:
        return len(self._waiters)
