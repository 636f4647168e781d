"""Many processes, one key: ``RedisCoordinator``, the shared budget (``pip install
'zenhire-async[redis]'``).

::

    from zenhire_async.redis import RedisCoordinator
    coordinator = RedisCoordinator("redis://127.0.0.1:6379/0")
    async with ZenHireClient(coordinator=coordinator) as zh:
        ...

Every client with the same API key and the same Redis, in any process on any host, paces
its requests through one budget of ``rate_limit_per_minute`` held in Redis: one atomic Lua
script per request (``_redis_budget``), on the server's clock. A 429 seen by any of them
pauses all of them for its ``Retry-After``. Batch requests (``priority="batch"``) never take
the last ``interactive_reserve`` of the budget.

**Redis down or slow.** A Redis error, or a call slower than :data:`REDIS_TIMEOUT`, never
reaches the caller: the process paces itself locally at ``fallback_share`` of the rate (an
in-process ``RequestPacer``, starting empty: the shared budget has just filled the server's
window; four processes at 0.25 stay within the key's budget), logs one WARNING per outage,
and asks Redis again at most every :data:`PROBE_EVERY` seconds; the first answer puts it
back on the shared budget, on fresh connections (those idle through the outage are
closed), still within its local share for two probe times more: until every other process
has asked Redis again, the ones still pacing locally are sending beside the budget. Redis
holds no API key (a hash names it), no link and no candidate ref.

**Bulk invites.** Each row of a ``bulk_invite`` is claimed in Redis before its create
(:meth:`RedisCoordinator.claims`, scripts and key names in ``_redis_claims``), so two jobs
on one key and persona running at once never both invite one candidate; Redis down, the
claim is granted and the job relies on the sessions it listed at its start.

**Waiting.** The ``await_completion`` of every client on one key and Redis share one
watcher (:meth:`RedisCoordinator.watch_channel`, scripts and key names in ``_redis_watch``):
one leader sweeps for every registered session and publishes each change; Redis down, each
process waits on its own sweeps until the first answer.

Made from a URL, the coordinator owns its Redis connection pool (:meth:`aclose`, or ``async
with``); made with ``client=`` it borrows that ``redis.asyncio.Redis`` and never closes it.
``ZenHireClient.aclose()`` never closes a coordinator: many clients share one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from yarl import URL

from ._coordination import Claim, WatchChannel
from ._pacing import RequestPacer
from ._rate_limit import Priority, RateLimiter
from ._redis_budget import ACQUIRE, PENALIZE, BudgetShape, budget_key
from ._redis_claims import CLAIM, CLAIM_TTL, SETTLE, SETTLED_TTL, ClaimKeys, read_claim
from ._redis_watch import RedisWatchChannel

__all__ = ["PROBE_EVERY", "REDIS_TIMEOUT", "RedisCoordinator"]

logger = logging.getLogger("zenhire_async")

REDIS_TIMEOUT = 1.0
"""Seconds a Redis call may take before the process paces itself locally."""

PROBE_EVERY = 2.0
"""Seconds between two attempts to reach Redis again while pacing locally."""

_SETTLING = 2 * PROBE_EVERY
"""Seconds after Redis answers again during which a process also keeps to its local share.
Every other process of the fleet asks Redis again within about :data:`PROBE_EVERY` of its
restart; until then those still pace locally, beside the shared budget, and one process
taking the whole shared rate meanwhile overshot the key (the outage's 429s)."""

_Script = Callable[..., Awaitable[Any]]
T = TypeVar("T")


def _where(url: str) -> str:
    """What a repr may say of a Redis URL: scheme, host, port (or socket path) and database;
    never a user, a password (also accepted as ``?password=``) or any other query."""
    try:
        parsed = URL(url)
        if parsed.scheme == "unix":
            return f"unix://{parsed.path}"
        if not parsed.host:
            return "redis"
        port = f":{parsed.port}" if parsed.explicit_port else ""
        return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"
    except (TypeError, ValueError):
        return "redis"


class RedisCoordinator:
    """The budget shared through Redis by every client of one API key, in any process.

    ``RedisCoordinator(url)`` or ``RedisCoordinator(client=redis.asyncio.Redis(...))``.
    ``interactive_reserve`` (0 to 1) is the part of the budget batch traffic never takes;
    ``fallback_share`` (0 to 1) the part of the rate a process uses alone while Redis is
    unreachable. Use one coordinator per process and event loop, for all its clients.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        interactive_reserve: float = 0.2,
        fallback_share: float = 0.25,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("pass a Redis URL or client=redis.asyncio.Redis(...), not both")
        for name, value in (
            ("interactive_reserve", interactive_reserve),
            ("fallback_share", fallback_share),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be from 0 to 1, got {value!r}")
        if fallback_share <= 0:
            raise ValueError("fallback_share must be above 0 (local pacing needs a rate)")
        if url is not None:
            self._where = _where(url)
            self._client = aioredis.Redis.from_url(
                url, socket_timeout=1.0, socket_connect_timeout=1.0
            )
            self._owns_client = True
        else:
            assert client is not None
            self._where = "borrowed client"
            self._client = client
            self._owns_client = False
        self.interactive_reserve = float(interactive_reserve)
        self.fallback_share = float(fallback_share)
        self._acquire: _Script = self._client.register_script(ACQUIRE)
        self._penalize: _Script = self._client.register_script(PENALIZE)
        self._claim: _Script = self._client.register_script(CLAIM)
        self._settle: _Script = self._client.register_script(SETTLE)
        self._limiters: dict[tuple[str, int], _SharedLimiter] = {}
        self._shared = True
        self._next_probe = 0.0
        self._returned_at = -_SETTLING
        self._closed = False

    def __repr__(self) -> str:
        mode = "shared" if self._shared else "local fallback"
        return f"<RedisCoordinator {self._where} {mode}>"

    @property
    def shared(self) -> bool:
        """Whether the last Redis call answered (False while pacing locally)."""
        return self._shared

    def limiter(self, api_key: str, per_minute: int) -> RateLimiter:
        """The shared budget of ``api_key`` as this process paces it at ``per_minute``.

        One object per key and rate, whichever client asks: the clients of a process share
        its fallback pacing too.
        """
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
            raise ValueError(f"per_minute must be a positive integer, got {per_minute!r}")
        key = budget_key(api_key)
        found = self._limiters.get((key, per_minute))
        if found is None:
            found = self._limiters[key, per_minute] = _SharedLimiter(self, key, per_minute)
            if not self._shared:
                found.start_local(anyio.current_time())
        return found

    def claims(self, api_key: str, persona_id: str) -> _RowClaims:
        """The bulk-invite row claims of ``api_key`` for ``persona_id`` (``_redis_claims``):
        a Redis failure grants the claim (the job's list of sessions is the check left)."""
        return _RowClaims(self, ClaimKeys(api_key, persona_id))

    def watch_channel(self, api_key: str) -> WatchChannel:
        """A channel for one shared watcher of ``api_key`` (``_redis_watch``)."""
        return RedisWatchChannel(self._attempt, self._client, api_key)

    async def _call(self, script: _Script, key: str, args: Sequence[int]) -> list[int] | None:
        """Run ``script`` on ``key``; None (and local pacing) when Redis fails or is slow."""
        reply = await self._run(script, key, args)
        if reply is None:
            return None
        return [int(value) for value in reply] if isinstance(reply, list) else [int(reply)]

    async def _run(self, script: _Script, key: str, args: Sequence[int | str]) -> Any:
        """Run ``script`` on ``key`` through :meth:`_attempt`: its reply, or None when Redis
        fails or is slow (or is not asked again yet)."""
        return await self._attempt(lambda: script(keys=[key], args=list(args)))

    async def _attempt(self, call: Callable[[], Awaitable[T]], slack: float = 0.0) -> T | None:
        """``call()`` within :data:`REDIS_TIMEOUT` (plus ``slack``, a blocking read's own
        wait); None when Redis fails or is slow (one WARNING per outage, a probe at most
        every :data:`PROBE_EVERY` s while it is away). Never raises but cancellation."""
        if not self._shared:
            now = anyio.current_time()
            if now < self._next_probe:
                return None
            self._next_probe = now + PROBE_EVERY  # one probe at a time
        try:
            with anyio.fail_after(REDIS_TIMEOUT + slack):
                try:
                    reply = await call()
                except RedisConnectionError:  # a pooled connection Redis closed: once more
                    reply = await call()
        except Exception as exc:  # any failure of Redis: go local, never raise
            if self._fall_back(exc):
                await self._drop_idle_connections()
            return None
        if not self._shared:
            await self._drop_idle_connections()  # before any other task may take one
            self._shared = True
            self._returned_at = anyio.current_time()
            logger.info("Redis answers again: back to the shared rate budget and watcher")
        return reply

    def _settling(self) -> bool:
        """Whether Redis answered again less than ``_SETTLING`` s ago (after an outage)."""
        return anyio.current_time() < self._returned_at + _SETTLING

    def _fall_back(self, exc: Exception) -> bool:
        """Pace locally until the next probe; True when this starts an outage (the one
        WARNING, every limiter's local bucket drained)."""
        now = anyio.current_time()
        self._next_probe = now + PROBE_EVERY
        if not self._shared:
            return False
        self._shared = False
        logger.warning(
            "Redis is unreachable or slow (%s): pacing locally at %.0f%% of the rate "
            "and waiting on local sweeps until it answers",
            type(exc).__name__,
            self.fallback_share * 100,
        )
        for limiter in self._limiters.values():
            limiter.start_local(now)
        return True

    async def _drop_idle_connections(self) -> None:
        """Close the connections idle in the pool, when an outage starts and when it ends
        (while no other task may take one). One opened before a Redis restart is dead, and
        redis-py finds out only on its next command ("Connection closed by server"): that
        would end the shared budget again right after it came back (a second WARNING, more
        local pacing beside the shared traffic). Bounded by :data:`REDIS_TIMEOUT`; a
        failure here only means a connection is closed later."""
        with anyio.move_on_after(REDIS_TIMEOUT), contextlib.suppress(Exception):
            await self._client.connection_pool.disconnect(inuse_connections=False)

    async def aclose(self) -> None:
        """Close the Redis client if it was made here (a borrowed one stays open).
        Idempotent."""
        if self._owns_client and not self._closed:
            await self._client.aclose()
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _SharedLimiter:
    """One API key's shared budget, as one process paces it: a ``RateLimiter``."""

    def __init__(self, coordinator: RedisCoordinator, key: str, per_minute: int) -> None:
        self._coordinator = coordinator
        self._key = key
        self._shape = BudgetShape(per_minute, coordinator.interactive_reserve)
        self.per_minute = per_minute
        self.burst = self._shape.burst
        self._fallback = RequestPacer(max(1, int(per_minute * coordinator.fallback_share)))
        self._batch = anyio.Lock()  # one batch waiter per process asks Redis at a time
        self._held_until = 0.0  # a 429 seen here, until its pause is in Redis
        self._reserved_until = 0.0  # the latest shared slot given to a caller here

    def __repr__(self) -> str:
        return f"<shared budget {self.per_minute}/min via {self._coordinator!r}>"

    def start_local(self, now: float) -> None:
        """An outage begins: the local bucket starts empty, never with a burst on top of a
        server window the shared budget has just filled, and holds until the last shared
        slot this process was given has come (its callers are still sending on those)."""
        self._fallback.hold(now, max(0.0, self._reserved_until - now))

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        """Wait for a slot of the shared budget (local pacing while Redis is away); return
        the seconds waited."""
        if not 1 <= cost <= self.burst:
            raise ValueError(f"cost must be from 1 to burst={self.burst}, got {cost!r}")
        started = anyio.current_time()
        if priority == "batch":
            async with self._batch:
                waited = await self._take(cost, priority)
        else:
            waited = await self._take(cost, priority)
        return anyio.current_time() - started if waited else 0.0

    async def _take(self, cost: int, priority: Priority) -> bool:
        waited = paced_locally = False
        batch = priority == "batch"
        local = min(cost, self._fallback.burst)
        while True:
            hold = self._held_until - anyio.current_time()
            if hold > 0:
                waited = True
                await anyio.sleep(hold)
            settling = self._coordinator._settling()
            if settling and not paced_locally:
                # others may still pace locally: keep to this process's share too. The local
                # token first: a shared slot is sent when it comes, never saved up
                paced_locally = True
                waited = await self._fallback.acquire(local, priority) > 0 or waited
            args = self._shape.acquire_args(cost, batch, settling)
            reply = await self._coordinator._call(self._coordinator._acquire, self._key, args)
            if reply is None:
                if paced_locally:
                    return waited
                return await self._fallback.acquire(local, priority) > 0 or waited
            admitted, micros = reply
            if admitted:
                slot = anyio.current_time() + micros / 1_000_000
                self._reserved_until = max(self._reserved_until, slot)
            if micros > 0:
                waited = True
                await anyio.sleep(micros / 1_000_000)
                if admitted and self._held_until > anyio.current_time():
                    continue  # a 429 came meanwhile: the slot is wasted, not sent into the pause
            if admitted:
                return waited

    async def penalize(self, retry_after: float) -> None:
        """Pause every process on this key for ``retry_after`` seconds: this process holds
        at once, then the pause is written to Redis by the calling task (at most
        :data:`REDIS_TIMEOUT`; a failed write only means local pacing)."""
        seconds = max(0.0, retry_after)
        self._held_until = max(self._held_until, anyio.current_time() + seconds)
        await self._fallback.penalize(seconds)
        args = self._shape.penalize_args(seconds)
        await self._coordinator._call(self._coordinator._penalize, self._key, args)


class _RowClaims:
    """One API key's and persona's row claims in Redis: a ``RowClaims``."""

    def __init__(self, coordinator: RedisCoordinator, keys: ClaimKeys) -> None:
        self._coordinator = coordinator
        self._keys = keys

    def __repr__(self) -> str:
        return f"<row claims via {self._coordinator!r}>"

    async def claim(self, row: bytes, job_id: str) -> Claim:
        """Claim ``row`` for ``job_id``; granted when Redis does not answer."""
        c = self._coordinator
        args = (job_id, int(CLAIM_TTL * 1000))
        reply = await c._run(c._claim, self._keys.key(row), args)
        if not isinstance(reply, list) or len(reply) != 2 or int(reply[0]) == 1:
            return Claim(granted=True)
        return Claim(granted=False, session_id=read_claim(reply[1]))

    async def settle(self, row: bytes, job_id: str, session_id: str | None) -> None:
        """Point ``job_id``'s claim at ``session_id``, or release it (``None``)."""
        c = self._coordinator
        args = (job_id, session_id or "", int(SETTLED_TTL * 1000))
        await c._run(c._settle, self._keys.key(row), args)
