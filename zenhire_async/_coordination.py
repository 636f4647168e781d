"""What a client needs of a fleet coordinator (``ZenHireClient(coordinator=...)``). Pure.

A coordinator hands each client the budget it shares with every other client of the same
API key (a :class:`~zenhire_async._rate_limit.RateLimiter`) and the channel through which
the shared watchers of every process on that key meet (a :class:`WatchChannel`).
``zenhire_async.redis``'s ``RedisCoordinator`` is the one the SDK ships; the client only
knows these protocols, so the package imports without redis-py installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ._rate_limit import RateLimiter

__all__ = ["Coordinator", "WatchChannel"]


class WatchChannel(Protocol):
    """One shared watcher's line to the others on its key (one per watcher).

    Rows go through as opaque bytes (``_redis_watch_lua.encode_row``). Every method answers
    ``None`` (or ``False``) when the fleet is unreachable or slow, and never raises: the
    watcher then waits on its own sweeps.
    """

    async def lead(self) -> bool | None:
        """Take or extend the leader's lock: whether this watcher leads now."""
        ...

    async def resign(self) -> None:
        """Give the lock up, if held (best effort)."""
        ...

    async def join(self, session_ids: Sequence[str]) -> list[bytes | None] | None:
        """Register (or renew) these sessions; their latest published rows. The first call
        also places the :meth:`follow` cursor, before the rows are read."""
        ...

    async def leave(self, session_ids: Sequence[str]) -> None:
        """Unregister these sessions (best effort)."""
        ...

    async def registered(self) -> set[str] | None:
        """Every session some watcher on the key has registered (live leases only)."""
        ...

    async def publish(self, rows: Sequence[tuple[str, bytes]]) -> bool:
        """Publish ``(session id, row)`` changes; whether the fleet took them."""
        ...

    async def follow(self, block: float) -> list[bytes] | None:
        """The rows published since the last call (or the first :meth:`join`), waiting up to
        ``block`` seconds for one."""
        ...


class Coordinator(Protocol):
    """A source of shared budgets and watcher channels, one per API key."""

    def limiter(self, api_key: str, per_minute: int) -> RateLimiter:
        """The budget of ``api_key``, paced at ``per_minute`` by this client."""
        ...

    def watch_channel(self, api_key: str) -> WatchChannel:
        """A new channel for one shared watcher of ``api_key``."""
        ...
