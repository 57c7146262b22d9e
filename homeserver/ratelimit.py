"""Token-bucket rate limiting per (action, key), kept in memory."""

from __future__ import annotations

import math
import time

from homeserver.config import RateLimit
from homeserver.errors import LimitExceeded


class RateLimiter:
    """Allows `burst_count` actions at once, refilling at `per_second`.

    Buckets that have refilled completely are dropped on the next sweep, so idle keys cost
    no memory.
    """

    def __init__(self, limit: RateLimit, enabled: bool = True) -> None:
        self.limit = limit
        self.enabled = enabled
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_sweep = time.monotonic()

    def check(self, key: str, cost: float = 1.0) -> None:
        """Take `cost` tokens for `key`, or raise `LimitExceeded` with the wait in ms."""
        if not self.enabled:
            return
        now = time.monotonic()
        tokens, updated = self._buckets.get(key, (float(self.limit.burst_count), now))
        tokens = min(
            float(self.limit.burst_count),
            tokens + (now - updated) * self.limit.per_second,
        )
        if tokens < cost:
            wait = (cost - tokens) / self.limit.per_second
            self._buckets[key] = (tokens, now)
            raise LimitExceeded(retry_after_ms=max(1, math.ceil(wait * 1000)))
        self._buckets[key] = (tokens - cost, now)
        if now - self._last_sweep > 60:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        full = float(self.limit.burst_count)
        refill = self.limit.per_second
        self._buckets = {
            key: (tokens, updated)
            for key, (tokens, updated) in self._buckets.items()
            if tokens + (now - updated) * refill < full
        }
