"""Client-side pacing: one token bucket per client, shared by every request it sends.

The platform allows each key a number of requests per minute (500 by default) and answers
429 past it. Rather than earn 429s, every request first takes a token here. The bucket holds
``burst`` tokens and refills at ``(per_minute - burst) / 60`` per second, so that *any* window
of 60 seconds sees at most ``per_minute`` requests whatever the server's window algorithm is;
the price is about one percent of throughput at the default burst. A 429 that gets through
anyway (another process sharing the key) penalizes the whole bucket: no token for its
``Retry-After``. The bucket implements the :class:`~zenhire_async._rate_limit.RateLimiter`
protocol.

Priority (theory of operation). A caller is ``"interactive"`` (a person waits on it) or
``"batch"`` (bulk invites, the watcher's sweeps). An interactive call may take a token
whenever one is there; a batch call only while it leaves at least ``interactive_reserve``
(default 0.2) of the bucket, ``reserve_tokens = interactive_reserve × burst`` (one token of
the default five), so a person's call arriving in the middle of a bulk job finds a token at
once. Waiters queue by priority: every interactive waiter goes before every batch waiter,
and within one priority they are served first come, first served. Only the head of the
queue (the first interactive waiter, else the first batch waiter) takes tokens from the
refill, so while interactive demand exists batch gets only what it leaves; with nobody
interactive waiting, batch gets the whole refill. Batch may under-use the budget, never the
other way: the bucket's size and refill are the same for both, so no window of 60 s ever
sees more than ``per_minute``. An interactive call waits at most one token time
(``1 / refill_per_second``) per interactive call ahead of it, however many batch callers
saturate the client — within the ``60 / (per_minute × interactive_reserve)`` bound the
shared budget promises across processes. With ``burst`` 1 (below 200 requests per minute)
the bucket cannot keep a fraction of a token aside: batch waits for the whole token, and
the reserve rests on the queue order alone.

A waiter cancelled while it waits takes no token and hands the head of the queue on. When
nobody of its priority (or, for batch, nobody at all) waits and its tokens are there, a call
takes them without queueing (the common case; a few attribute reads). Time is the event
loop's clock (``anyio.current_time()``), so tests can run the bucket on virtual time.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

import anyio

from ._rate_limit import DEFAULT_INTERACTIVE_RESERVE, Priority, priority_error

__all__ = ["RequestPacer"]

_EPSILON = 1e-9


class _Waiter:
    """One queued acquisition: woken (``wake``) when it may have become the head."""

    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake = anyio.Event()


class RequestPacer:
    """A cancellation-safe token bucket of ``per_minute`` requests per minute, with a reserve
    for interactive callers (see the module's docstring)."""

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        interactive_reserve: float = DEFAULT_INTERACTIVE_RESERVE,
    ) -> None:
        if not isinstance(per_minute, int) or per_minute < 1:
            raise ValueError(
                f"rate_limit_per_minute must be a positive integer or None, got {per_minute!r}"
            )
        if (
            not isinstance(interactive_reserve, int | float)
            or isinstance(interactive_reserve, bool)
            or not 0 <= interactive_reserve < 1
        ):
            raise ValueError(
                f"interactive_reserve must be a number in [0, 1), got {interactive_reserve!r}"
            )
        self.per_minute = per_minute
        self.burst = burst if burst is not None else max(1, per_minute // 100)
        if not 1 <= self.burst <= per_minute:
            raise ValueError(f"burst must be from 1 to {per_minute}, got {self.burst!r}")
        spare = per_minute - self.burst
        self.refill_per_second = (spare if spare > 0 else per_minute) / 60.0
        self.interactive_reserve = float(interactive_reserve)
        self.reserve_tokens = self.interactive_reserve * self.burst
        """Tokens a batch acquisition leaves in the bucket (``interactive_reserve × burst``)."""
        self._tokens = float(self.burst)
        self._updated: float | None = None
        self._paused_until = 0.0
        self._interactive: deque[_Waiter] = deque()
        self._batch: deque[_Waiter] = deque()

    def _refill(self, now: float) -> None:
        if self._updated is None:
            self._updated = now
        elapsed = max(0.0, now - max(self._updated, self._paused_until))
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.refill_per_second)
        self._updated = max(now, self._updated)

    def wait_time(self, now: float, cost: int = 1, priority: Priority = "interactive") -> float:
        """Seconds until ``cost`` tokens may be taken at ``now`` by a ``priority`` caller (0
        when they may now): batch needs ``reserve_tokens`` more left over, as far as the
        bucket holds them."""
        self._refill(now)
        pause = max(0.0, self._paused_until - now)
        needed = float(cost)
        if priority == "batch":
            needed = min(needed + self.reserve_tokens, float(self.burst))
        missing = needed - self._tokens
        if missing <= _EPSILON:  # float refills land a hair short of whole tokens
            return pause
        return pause + missing / self.refill_per_second

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        """Wait for ``cost`` tokens (1 to ``burst``) and take them; return the seconds waited.

        ``priority`` is ``"interactive"`` or ``"batch"`` (see the module's docstring). 0.0
        when the tokens were there and nobody was queued ahead.
        """
        if cost != 1 and not 1 <= cost <= self.burst:  # more than burst would never come
            raise ValueError(f"cost must be from 1 to burst={self.burst}, got {cost!r}")
        if priority == "interactive":
            queue, ahead = self._interactive, self._interactive
        elif priority == "batch":
            queue, ahead = self._batch, self._interactive or self._batch
        else:
            raise priority_error(priority)
        # Fast path, most requests: nobody queued ahead and the tokens are there. The loop's
        # clock is read directly: it is what anyio.current_time() returns on asyncio.
        if not ahead and self.wait_time(asyncio.get_running_loop().time(), cost, priority) <= 0:
            self.take(cost)
            return 0.0
        return await self._queue(cost, priority, queue)

    async def _queue(self, cost: int, priority: Priority, queue: deque[_Waiter]) -> float:
        """Wait in ``queue`` until this waiter is the head and its tokens are there; take them."""
        started = anyio.current_time()
        waiter = _Waiter()
        queue.append(waiter)
        try:
            while True:
                delay = math.inf  # not the head: sleep until woken
                if self._head() is waiter:
                    delay = self.wait_time(anyio.current_time(), cost, priority)
                    if delay <= 0:
                        break
                with anyio.move_on_after(delay):
                    await waiter.wake.wait()
                waiter.wake = anyio.Event()
            self.take(cost)  # no await since the check: a cancelled waiter takes nothing
        finally:
            queue.remove(waiter)  # the head on success; anywhere when cancelled
            head = self._head()
            if head is not None:
                head.wake.set()  # the next head computes its own wait
        return anyio.current_time() - started

    def _head(self) -> _Waiter | None:
        """The waiter served next: the first interactive one, else the first batch one."""
        if self._interactive:
            return self._interactive[0]
        return self._batch[0] if self._batch else None

    def take(self, cost: int = 1) -> None:
        """Take ``cost`` tokens that :meth:`wait_time` just said are there (no clock, no lock)."""
        self._tokens = max(0.0, self._tokens - cost)

    def hold(self, now: float, seconds: float) -> None:
        """Hold every token for ``seconds`` from ``now``, emptying the bucket (no clock)."""
        self._refill(now)
        self._paused_until = max(self._paused_until, now + max(0.0, seconds))
        self._tokens = 0.0

    async def penalize(self, retry_after: float) -> None:
        """Hold every request for ``retry_after`` seconds from now (a 429's ``Retry-After``)."""
        self.hold(anyio.current_time(), retry_after)
