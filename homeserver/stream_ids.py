"""Positions for the streams that this server writes to SQLite tables.

A position is allocated inside the write transaction that stores the row. Write
transactions run one at a time, so positions commit in increasing order; a rolled-back
transaction leaves a gap, which readers never notice.
"""

from __future__ import annotations

from homeserver.notifier import Notifier
from homeserver.storage.database import Database


class StreamIdAllocator:
    """The last allocated position of one stream, loaded from its table at start-up."""

    def __init__(self, notifier: Notifier, stream: str) -> None:
        self._notifier = notifier
        self.stream = stream
        self._last = 0

    async def load(self, db: Database, max_sql: str) -> None:
        """Read the position with `max_sql` (a `SELECT MAX`) and tell the notifier."""
        self._last = int(await db.fetchvalue(max_sql, (), 0))
        self._notifier.set_position(self.stream, self._last)

    def allocate(self) -> int:
        """Return the next position; call only inside a write transaction."""
        self._last += 1
        return self._last

    @property
    def current(self) -> int:
        return self._last
