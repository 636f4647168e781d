"""The shared watcher's side of ``RedisCoordinator``: a :class:`WatchChannel` on Redis.

One :class:`RedisWatchChannel` per shared watcher (per client and loop), with a random token
naming its registrations and its hold on the leader's lock. Every call goes through the
coordinator's ``_attempt`` (an :class:`Attempt`): bounded by ``REDIS_TIMEOUT``, ``None`` on
any Redis failure (with the coordinator's single WARNING per outage), never an exception to
the watcher. The scripts and keys are in :mod:`zenhire_async._redis_watch_lua`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from ._redis_watch_lua import (
    JOIN,
    LEAD,
    LEASE,
    LOCK_TTL,
    PUBLISH,
    REGISTERED,
    RESIGN,
    STATUS_TTL_MS,
    STREAM_MAXLEN,
    WatchKeys,
)

__all__ = ["RedisWatchChannel"]

_BATCH = 500  # session ids per JOIN (Lua's unpack has a bound)
_Script = Callable[..., Awaitable[Any]]
T = TypeVar("T")


class Attempt(Protocol):
    """``RedisCoordinator._attempt``: a Redis call within the timeout, ``None`` on failure."""

    async def __call__(self, call: Callable[[], Awaitable[T]], slack: float = 0.0) -> T | None:
        """Run ``call()``; ``None`` (and the coordinator's fallback) when Redis fails."""
        ...


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _raw(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class RedisWatchChannel:
    """One shared watcher's registrations, lock and stream cursor, in Redis."""

    def __init__(self, attempt: Attempt, client: Any, api_key: str) -> None:
        self._attempt = attempt
        self._client = client
        self._keys = WatchKeys(api_key)
        self._token = secrets.token_hex(8)
        self._cursor: str | None = None
        self._lead: _Script = client.register_script(LEAD)
        self._resign: _Script = client.register_script(RESIGN)
        self._join: _Script = client.register_script(JOIN)
        self._registered: _Script = client.register_script(REGISTERED)
        self._publish: _Script = client.register_script(PUBLISH)

    def __repr__(self) -> str:
        return f"<RedisWatchChannel {self._keys.stream}>"

    async def lead(self) -> bool | None:
        """Take (``SET NX PX``) or extend (compare-and-extend) the leader's lock."""
        keys, args = [self._keys.leader], [self._token, int(LOCK_TTL * 1000)]
        reply = await self._attempt(lambda: self._lead(keys=keys, args=args))
        return None if reply is None else int(reply) > 0

    async def resign(self) -> None:
        """Delete the lock if this watcher holds it."""
        keys, args = [self._keys.leader], [self._token]
        await self._attempt(lambda: self._resign(keys=keys, args=args))

    async def join(self, session_ids: Sequence[str]) -> list[bytes | None] | None:
        """Register (renew) ``session_ids`` and read their latest rows; the first call
        places the follow cursor at the stream's end as the rows are read."""
        keys = [self._keys.registry, self._keys.status, self._keys.stream]
        rows: list[bytes | None] = []
        ids = list(session_ids)
        for start in range(0, max(1, len(ids)), _BATCH):
            args = [int(LEASE * 1000), self._token, *ids[start : start + _BATCH]]
            reply = await self._attempt(
                lambda args=args: self._join(keys=keys, args=args)  # type: ignore[misc]
            )
            if reply is None:
                return None
            cursor, values = reply
            if self._cursor is None:
                self._cursor = _text(cursor)
            rows.extend(None if v is None else _raw(v) for v in values)
        return rows

    async def leave(self, session_ids: Sequence[str]) -> None:
        """Remove this watcher's registrations of ``session_ids``."""
        if session_ids:
            members = [f"{self._token}:{sid}" for sid in session_ids]
            key = self._keys.registry
            await self._attempt(lambda: self._client.zrem(key, *members))

    async def registered(self) -> set[str] | None:
        """Every registered session of the key, lapsed leases dropped."""
        keys = [self._keys.registry]
        reply = await self._attempt(lambda: self._registered(keys=keys, args=[]))
        if reply is None:
            return None
        return {_text(member).partition(":")[2] for member in reply}

    async def publish(self, rows: Sequence[tuple[str, bytes]]) -> bool:
        """Write each row to the status hash and the stream, forward only."""
        if not rows:
            return True
        keys = [self._keys.status, self._keys.stream]
        args: list[object] = [STREAM_MAXLEN, STATUS_TTL_MS]
        for session_id, row in rows:
            args += [session_id, row]
        reply = await self._attempt(lambda: self._publish(keys=keys, args=args))
        return reply is not None

    async def follow(self, block: float) -> list[bytes] | None:
        """Rows after the cursor, blocking up to ``block`` s (``XREAD BLOCK``) for one."""
        if self._cursor is None and await self.join(()) is None:  # place the cursor
            return None
        stream, cursor = self._keys.stream, self._cursor
        millis = max(1, int(block * 1000))
        reply = await self._attempt(
            lambda: self._client.xread({stream: cursor}, count=1000, block=millis),
            slack=block,
        )
        if reply is None:
            return None
        rows: list[bytes] = []
        for entry_id, fields in _entries(reply):
            self._cursor = _text(entry_id)
            value = fields.get(b"v", fields.get("v"))
            if value is not None:
                rows.append(_raw(value))
        return rows


def _entries(reply: Any) -> list[tuple[object, dict[Any, Any]]]:
    """The entries of an ``XREAD`` answer of one stream (RESP2 list or RESP3 map)."""
    batches = list(reply.values()) if isinstance(reply, dict) else [b for _, b in reply or []]
    found: list[tuple[object, dict[Any, Any]]] = []
    for batch in batches:
        if batch and isinstance(batch[0], list) and batch[0] and isinstance(batch[0][0], list):
            batch = batch[0]  # RESP3: {stream: [[entries]]}
        found.extend((entry_id, fields) for entry_id, fields in batch)
    return found
