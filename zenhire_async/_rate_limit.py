"""The one interface every request budget implements. Pure, no I/O.

A budget decides *when* requests may go; it never sends them. Two live in the process
today: the client's request pacer (every request, ``_pacing``) and the polling share that
waiting may use (``PollBudget``); a shared budget across processes implements the same
protocol. Callers name the ``priority`` of what they ask for: ``"interactive"`` (a call a
person or a web request waits on) or ``"batch"`` (bulk jobs, polling), so that a budget can
keep a reserve for interactive calls: batch never takes the last ``interactive_reserve``
(:data:`DEFAULT_INTERACTIVE_RESERVE`) of the budget.
"""

from __future__ import annotations

from typing import Literal, Protocol

__all__ = [
    "DEFAULT_INTERACTIVE_RESERVE",
    "PRIORITIES",
    "Priority",
    "RateLimiter",
    "check_priority",
    "priority_error",
]

Priority = Literal["interactive", "batch"]
"""Who is waiting: a person (``"interactive"``) or a job that can wait (``"batch"``)."""

PRIORITIES: tuple[Priority, ...] = ("interactive", "batch")

DEFAULT_INTERACTIVE_RESERVE = 0.2
"""The share of the budget that batch callers leave to interactive ones."""


def check_priority(priority: object) -> Priority:
    """``priority`` if it is one of :data:`PRIORITIES`, else ``ValueError``."""
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise priority_error(priority)
    return priority


def priority_error(priority: object) -> ValueError:
    """The error for a ``priority`` that is not one of :data:`PRIORITIES`."""
    return ValueError(f"priority must be 'interactive' or 'batch', got {priority!r}")


class RateLimiter(Protocol):
    """A budget of requests over time, shared by everything that draws on it."""

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        """Wait until ``cost`` requests may go, take them, and return the seconds waited.

        Cancellation-safe: a waiter cancelled while it waits takes nothing.
        """
        ...

    async def penalize(self, retry_after: float) -> None:
        """Hold every request for ``retry_after`` seconds from now (the server said 429).

        Awaited by the request that saw the 429, before it sleeps for its retry: a shared
        limiter tells the other processes here, in that request's task, never in the
        background. It never raises and returns promptly (a bounded write at most).
        """
        ...
