"""The per-API-key rate limit: a token bucket for each key id, held in this process's memory.

A key holds at most `burst` tokens and earns `per_second` more each second; each authenticated
request spends one (api/deps.py `Allow`, before the handler runs), and a JSON-RPC batch to the
ledger front one more per further contract call or log query in it (services/audit.py). A
request that finds too few is refused with 429 `rate_limited` and the whole seconds until it
would have enough. Only keys that authenticated get a bucket, so there are no more buckets than
issued keys. The buckets are per process: a restart, or another worker process, starts every
key full.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from node_gateway.config import GatewaySettings
from node_gateway.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key id; safe to share between the threads serving requests.
    `clock` (seconds, monotonic) is injectable so tests move time without sleeping."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int | None = None,
    ) -> None:
        if not (math.isfinite(per_second) and per_second > 0):
            raise ValueError("per_second must be a positive number")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._refused: Counter[str] = Counter()
        # Beyond this many buckets, those full by now are dropped (a full bucket is the same
        # as none): for keys that are not a fixed set, e.g. a peer requester per subject.
        self.max_keys = max_keys

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RateLimiter | None:
        """The limiter `settings` ask for; None when `rate_limit_per_second` is 0 (off)."""
        if settings.rate_limit_per_second == 0:
            return None
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst)

    def wait(self, key_id: str, cost: int = 1) -> float:
        """Spend `cost` of `key_id`'s tokens and return 0.0, or, when it has fewer, spend
        nothing and return the seconds until it has them (until it is full when `cost` is
        more than the burst: such a request is never admitted)."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key_id)
            if bucket is None and self.max_keys is not None:
                if len(self._buckets) >= self.max_keys:
                    self._drop_full(now)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
            earned = max(0.0, now - bucket.updated) * self.per_second
            bucket.tokens = min(float(self.burst), bucket.tokens + earned)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            self._refused[key_id] += 1
            return (min(cost, self.burst) - bucket.tokens) / self.per_second

    def admit(self, key_id: str, cost: int = 1) -> None:
        """Spend `cost` of `key_id`'s tokens (one request by default; a JSON-RPC batch adds
        one per further call), or raise RateLimited (nothing spent)."""
        wait = self.wait(key_id, cost)
        if wait > 0 or cost > self.burst:
            retry_after = max(1, math.ceil(wait))
            detail = (
                f"this API key may send {self.per_second:g} requests per second "
                f"(bursts of {self.burst})"
            )
            if cost > self.burst:
                detail += f"; this request costs {cost} more, over a whole burst: send less at once"
            elif cost != 1:
                detail += f"; this request costs {cost} more; retry in {retry_after} s"
            else:
                detail += f"; retry in {retry_after} s"
            raise RateLimited(detail, retry_after)

    def _drop_full(self, now: float) -> None:
        """Forget the buckets that have earned back a whole burst by `now` (lock held)."""
        refill = self.burst / self.per_second
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.per_second >= self.burst or (
                now - bucket.updated >= refill
            ):
                del self._buckets[key]
                self._refused.pop(key, None)

    def refused(self) -> dict[str, int]:
        """Requests refused so far per key id, since this process started."""
        with self._lock:
            return dict(self._refused)
