"""What a client needs of a fleet coordinator (``ZenHireClient(coordinator=...)``). Pure.

A coordinator hands each client the budget it shares with every other client of the same
API key (a :class:`~zenhire_async._rate_limit.RateLimiter`), and the claims by which bulk
invites of one key and persona, in any process, never both invite one candidate
(:class:`RowClaims`). ``zenhire_async.redis``'s ``RedisCoordinator`` is the one the SDK
ships; the client and the bulk code only know these protocols, so the package imports
without redis-py installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ._rate_limit import RateLimiter

__all__ = ["Claim", "Coordinator", "RowClaims"]


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


class Coordinator(Protocol):
    """A source of shared budgets and row claims, one per API key."""

    def limiter(self, api_key: str, per_minute: int) -> RateLimiter:
        """The budget of ``api_key``, paced at ``per_minute`` by this client."""
        ...

    def claims(self, api_key: str, persona_id: str) -> RowClaims:
        """The bulk-invite row claims of ``api_key`` for ``persona_id``."""
        ...
