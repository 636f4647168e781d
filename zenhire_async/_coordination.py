"""What a client needs of a fleet coordinator (``ZenHireClient(coordinator=...)``). Pure.

A coordinator hands each client the budget it shares with every other client of the same
API key (a :class:`~zenhire_async._rate_limit.RateLimiter`), the claims by which bulk
invites of one key and persona, in any process, never both invite one candidate
(:class:`RowClaims`), and the channel through which the shared watchers of every process on
that key meet (a :class:`WatchChannel`). ``zenhire_async.redis``'s ``RedisCoordinator`` is
the one the SDK ships; the client and the bulk code only know these protocols, so the
package imports without redis-py installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ._rate_limit import RateLimiter

__all__ = ["Claim", "Coordinator", "RowClaims", "WatchChannel"]


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to a row's claim: ``granted`` (this job may create the row's session),
    else another job holds it, and ``session_id`` is its session when the claim names one.
    A coordinator that cannot tell (its store is down) grants: the job then relies on the
    sessions it listed at its start."""

    granted: bool
    session_id: str | None = None


class RowClaims(Protocol):
    """Claims on the rows of one API key and persona, shared by every job on them."""

    async def claim(self, row: bytes, job_id: str) -> Claim:
        """Claim ``row`` (a row key) for ``job_id`` before creating its session. A claim
        already held by the same job is granted again (a resumed job). Never raises."""
        ...

    async def settle(self, row: bytes, job_id: str, session_id: str | None) -> None:
        """After the create: point ``job_id``'s claim at ``session_id``, or release it
        (``None``: the row got no session). Never raises."""
        ...


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
    """A source of shared budgets, row claims and watcher channels, one per API key."""

    def limiter(self, api_key: str, per_minute: int) -> RateLimiter:
        """The budget of ``api_key``, paced at ``per_minute`` by this client."""
        ...

    def claims(self, api_key: str, persona_id: str) -> RowClaims:
        """The bulk-invite row claims of ``api_key`` for ``persona_id``."""
        ...

    def watch_channel(self, api_key: str) -> WatchChannel:
        """A new channel for one shared watcher of ``api_key``."""
        ...
