"""The shared budget's arithmetic and its Lua scripts: what runs inside Redis. Pure, no I/O.

One key per API key holds the bucket as GCRA's *theoretical arrival time* (``tat``, in
microseconds of the Redis server's clock): the time at which the bucket would be full again
if nothing else were sent. A request of ``cost`` moves it ``cost × interval`` later; it may
go when ``tat`` is at most ``burst × interval`` ahead of now (the bucket's ``burst`` tokens,
counted in time). The numbers are the in-process pacer's (``_pacing``): ``burst`` is 1 % of
the rate and the interval ``60 / (per_minute - burst)`` s, so that *any* 60 s window sees at
most ``per_minute`` requests.

* :data:`ACQUIRE` is one round trip per request, atomic, on the server's ``TIME`` (never a
  client's clock). It is a **reservation**: an interactive request always takes the next
  slot and is told how long to wait for it (the caller sleeps that long once, then sends);
  one cancelled meanwhile wastes its slot, it never gives it to two.
* A **batch** request is admitted only while the bucket's debt after it stays within
  ``max((1 - reserve) × burst, cost)`` intervals, so it never goes into the
  ``interactive_reserve``; refused, it is told when to ask again and reserves nothing. An
  interactive request arriving while batch traffic saturates the key waits at most about one
  interval, well under ``60 / (per_minute × reserve)`` s.
* :data:`PENALIZE` (a 429 seen by any process) moves ``tat`` to the end of the pause plus a
  full bucket: every process's next slot is one interval after the pause.
* **A missing key is a full debt** (``tat = now + burst × interval``), never an empty one: a
  fresh bucket admits at the steady rate, without a burst. A key is missing after Redis
  restarts (or is flushed) — while every process paced itself locally, so the server's
  window is already full of their requests, and a burst on top earns 429s — and on a
  fleet's very first request, where the window may hold what processes sent before they had
  a coordinator. The price is one burst's worth of under-use and one interval's wait for
  the first request; overshoot is never the price.

Keys are named by a hash of the API key (:func:`budget_key`), never the key, inside one
hash tag ``{...}`` so that every key of one API key lands on one Redis Cluster slot. Each
write sets an expiry, so an idle key's state leaves Redis :data:`IDLE_TTL` (an hour) after
its debt ends: long enough that a missing key rarely means a merely quiet one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

__all__ = ["ACQUIRE", "IDLE_TTL", "PENALIZE", "BudgetShape", "budget_key", "key_digest"]

_MICROS = 1_000_000

IDLE_TTL = 3600
"""Seconds a budget key outlives its debt in Redis."""

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local step = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local settling = tonumber(ARGV[4]) == 1
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if tat == nil or (settling and tat < now + tolerance) then
  tat = now + tolerance
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
    math.floor(tolerance / 1000) + IDLE_TTL_MS)
end
if tat < now then tat = now end
local after = tat + step
if limit > 0 and after - now > limit then
  return {0, after - now - limit}
end
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX',
  math.floor((after - now) / 1000) + IDLE_TTL_MS)
local start = after - tolerance
if start <= now then return {1, 0} end
return {1, start - now}
""".replace("IDLE_TTL_MS", str(IDLE_TTL * 1000))
"""KEYS[1]: the budget. ARGV: cost × interval, burst × interval, the batch limit (0 for an
interactive request), all in µs, and 1 while the caller settles after an outage (else 0).
Returns ``{admitted, µs to wait}``. A missing (or unreadable) key is a full bucket of debt,
written at once, so that a refused batch request finds it draining when it asks again; so
is a settling caller's bucket, so that no credit builds up while processes still pacing
locally send beside it (it would be a burst when they are all back)."""

PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local held = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if held > tat then
  redis.call('SET', KEYS[1], string.format('%.0f', held), 'PX',
    math.floor((held - now) / 1000) + IDLE_TTL_MS)
end
return 1
""".replace("IDLE_TTL_MS", str(IDLE_TTL * 1000))
"""KEYS[1]: the budget. ARGV[1]: the pause plus burst × interval, in µs."""


def key_digest(api_key: str) -> str:
    """A stable name for ``api_key`` that does not reveal it (SHA-256, domain-separated)."""
    return hashlib.sha256(b"zenhire-async/api-key\0" + api_key.encode()).hexdigest()[:32]


def budget_key(api_key: str) -> str:
    """The Redis key of ``api_key``'s budget: ``zenhire:{<digest>}:budget``."""
    return f"zenhire:{{{key_digest(api_key)}}}:budget"


@dataclass(frozen=True)
class BudgetShape:
    """One client's view of the bucket: its rate's interval and burst, in µs."""

    per_minute: int
    reserve: float

    @property
    def burst(self) -> int:
        """Tokens the bucket holds: 1 % of the rate, at least 1 (as ``RequestPacer``)."""
        return max(1, self.per_minute // 100)

    @property
    def interval(self) -> int:
        """µs between requests at the refill rate, rounded up (never faster)."""
        spare = self.per_minute - self.burst
        return math.ceil(60 * _MICROS / (spare if spare > 0 else self.per_minute))

    def acquire_args(
        self, cost: int, batch: bool, settling: bool = False
    ) -> tuple[int, int, int, int]:
        """ARGV of :data:`ACQUIRE` for a request of ``cost``."""
        limit = 0
        if batch:
            limit = math.floor(max((1 - self.reserve) * self.burst, cost) * self.interval)
        return cost * self.interval, self.burst * self.interval, limit, int(settling)

    def penalize_args(self, seconds: float) -> tuple[int]:
        """ARGV of :data:`PENALIZE` for a pause of ``seconds``."""
        return (math.ceil(max(0.0, seconds) * _MICROS) + self.burst * self.interval,)
