"""The pool gate: how many attempts may hold a connection at once. Pure (anyio).

A place is held for a whole attempt (body included). Waiting for one here instead of in
aiohttp's connector keeps that wait out of the attempt's timeout (10,000 concurrent calls
with ``timeout=1`` would otherwise all time out queued behind a 50-connection pool) and
costs a waiter far less memory than a started aiohttp request.
"""

from __future__ import annotations

from typing import Protocol

import anyio

__all__ = ["pool_gate"]


class _Connector(Protocol):
    @property
    def limit(self) -> int: ...


class _Session(Protocol):
    @property
    def connector(self) -> _Connector | None: ...


def pool_gate(
    max_connections: int, session: _Session | None, owns_session: bool
) -> anyio.Semaphore | None:
    """The gate of a client's pool: ``max_connections`` places, or a borrowed session's.

    A borrowed session's pool is its owner's: the gate then follows its connector's limit,
    if it has one (none, or no limit: no gate).
    """
    limit = max_connections
    if not owns_session:
        connector = session.connector if session is not None else None
        limit = connector.limit if connector is not None else 0
    return anyio.Semaphore(limit, fast_acquire=True) if limit > 0 else None
