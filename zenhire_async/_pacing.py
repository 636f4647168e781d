"""Client-side pacing: one token bucket per client, shared by every request it sends.

The platform allows each key a number of requests per minute (500 by default) and answers
429 past it. Rather than earn 429s, every request first takes a token here. The bucket holds
``burst`` tokens and refills at ``(per_minute - burst) / 60`` per second, so that *any* window
of 60 seconds sees at most ``per_minute`` requests whatever the server's window algorithm is;
the price is about one percent of throughput at the default burst. A 429 that gets through
anyway (another process sharing the key) penalizes the whole bucket: no token for its
``Retry-After``. The bucket implements the :class:`~zenhire_async._rate_limit.RateLimiter`
protocol; it accepts a ``priority`` and serves every caller in turn whatever it is.

Waiters are served first come, first served (an ``anyio.Lock`` is fair), and a waiter that is
cancelled while it sleeps takes no token. When nobody waits and a token is there, a request
takes it without touching the lock (the common case; it costs a few attribute reads). Time is
the event loop's clock (``anyio.current_time()``), so tests can run the bucket on virtual time.
"""

from __future__ import annotations

import asyncio

import anyio

from ._rate_limit import Priority

__all__ = ["RequestPacer"]

_EPSILON = 1e-9


class RequestPacer:
    """A fair, cancellation-safe token bucket of ``per_minute`` requests per minute."""

    def __init__(self, per_minute: int, *, burst: int | None = None) -> None:
        if not isinstance(per_minute, int) or per_minute < 1:
            raise ValueError(
                f"rate_limit_per_minute must be a positive integer or None, got {per_minute!r}"
            )
        self.per_minute = per_minute
        self.burst = burst if burst is not None else max(1, per_minute // 100)
        if not 1 <= self.burst <= per_minute:
            raise ValueError(f"burst must be from 1 to {per_minute}, got {self.burst!r}")
        spare = per_minute - self.burst
        self.refill_per_second = (spare if spare > 0 else per_minute) / 60.0
        self._tokens = float(self.burst)
        self._updated: float | None = None
        self._paused_until = 0.0
        self._lock = anyio.Lock()

    def _refill(self, now: float) -> None:
        if self._updated is None:
            self._updated = now
        elapsed = max(0.0, now - max(self._updated, self._paused_until))
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.refill_per_second)
        self._updated = max(now, self._updated)

    def wait_time(self, now: float, cost: int = 1) -> float:
        """Seconds until ``cost`` tokens are available at ``now`` (0 when they are there)."""
        self._refill(now)
        pause = max(0.0, self._paused_until - now)
        missing = cost - self._tokens
        if missing <= _EPSILON:  # float refills land a hair short of whole tokens
            return pause
        return pause + missing / self.refill_per_second

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        """Wait for ``cost`` tokens (1 to ``burst``) and take them; return the seconds waited.

        ``priority`` is accepted for the protocol: every caller is served first come, first
        served. 0.0 when the tokens were there and nobody was queued.
        """
        # Fast path, most requests: nobody waits (a released lock with waiters passes
        # straight to the next one, so it stays locked) and a token is there. The loop's
        # clock is read directly: it is what anyio.current_time() returns on asyncio.
        if cost != 1 and not 1 <= cost <= self.burst:  # more than burst would never come
            raise ValueError(f"cost must be from 1 to burst={self.burst}, got {cost!r}")
        if not self._lock.locked() and self.wait_time(asyncio.get_running_loop().time(), cost) <= 0:
            self.take(cost)
            return 0.0
        started = anyio.current_time()
        waited = self._lock.locked()  # queued behind a waiter: a wait for tokens too
        async with self._lock:
            while True:
                delay = self.wait_time(anyio.current_time(), cost)
                if delay <= 0:
                    break
                waited = True
                await anyio.sleep(delay)
            self.take(cost)
        return anyio.current_time() - started if waited else 0.0

    def take(self, cost: int = 1) -> None:
        """Take ``cost`` tokens that :meth:`wait_time` just said are there (no clock, no lock)."""
        self._tokens = max(0.0, self._tokens - cost)

    def hold(self, now: float, seconds: float) -> None:
        """Hold every token for ``seconds`` from ``now``, emptying the bucket (no clock)."""
        self._refill(now)
        self._paused_until = max(self._paused_until, now + max(0.0, seconds))
        self._tokens = 0.0

    def penalize(self, retry_after: float) -> None:
        """Hold every request for ``retry_after`` seconds from now (a 429's ``Retry-After``)."""
        self.hold(anyio.current_time(), retry_after)
