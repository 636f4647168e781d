"""The polling budget: the share of a client's request rate that waiting may use.

Theory of operation. Polling may use only ``polling_share`` of the client's per-minute
rate (half by default), so that invites and user calls keep the rest. :class:`PollBudget`
keeps that share as a schedule of slots: every request a sweep sends pushes the next free
slot ``1 / (share × rate)`` seconds later, as it is sent, so a sweep that costs *n*
requests is followed by a pause of at least ``n * 60 / (share * rate)`` seconds. The
sweeper plans with :meth:`PollBudget.delay` and charges with :meth:`PollBudget.spend`
(its pages go back to back; the pause follows the sweep). The budget also implements the
:class:`~zenhire_async._rate_limit.RateLimiter` protocol (:meth:`~PollBudget.acquire`,
:meth:`~PollBudget.penalize`) that every request budget shares. Time is the event loop's
clock (``anyio.current_time()``).
"""

from __future__ import annotations

import math

import anyio

from ._rate_limit import Priority

__all__ = ["PollBudget"]


class PollBudget:
    """The share of a client's request rate that polling may use, as a schedule of slots."""

    def __init__(self, per_minute: int, share: float) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"polling_share must be in (0, 1], got {share!r}")
        self.per_second = per_minute * share / 60.0
        self._next_free = -math.inf

    def delay(self, now: float) -> float:
        """Seconds to wait before polling may send again."""
        return max(0.0, self._next_free - now)

    def spend(self, requests: int, started: float) -> None:
        """Record a sweep of ``requests`` that started at ``started``."""
        self._next_free = max(self._next_free, started) + requests / self.per_second

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        """Wait until ``cost`` requests may go, spend them, and return the seconds waited.

        Every caller of the budget is polling, so ``priority`` does not reorder them.
        Cancellation-safe: a waiter cancelled while it waits spends nothing.
        """
        started = anyio.current_time()
        while True:
            wait = self.delay(anyio.current_time())
            if wait <= 0:
                break
            await anyio.sleep(wait)
        now = anyio.current_time()
        self.spend(cost, now)
        return now - started

    async def penalize(self, retry_after: float) -> None:
        """Hold all polling for ``retry_after`` seconds from now (the server said 429)."""
        now = anyio.current_time()
        self._next_free = max(self._next_free, now + max(0.0, retry_after))
