"""What a client needs of a fleet coordinator (``ZenHireClient(coordinator=...)``). Pure.

A coordinator hands each client the budget it shares with every other client of the same
API key: a :class:`~zenhire_async._rate_limit.RateLimiter`. ``zenhire_async.redis``'s
``RedisCoordinator`` is the one the SDK ships; the client only knows this protocol, so the
package imports without redis-py installed.
"""

from __future__ import annotations

from typing import Protocol

from ._rate_limit import RateLimiter

__all__ = ["Coordinator"]


class Coordinator(Protocol):
    """A source of shared budgets, one per API key."""

    def limiter(self, api_key: str, per_minute: int) -> RateLimiter:
        """The budget of ``api_key``, paced at ``per_minute`` by this client."""
        ...
