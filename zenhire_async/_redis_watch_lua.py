"""The shared watcher's keys, Lua scripts and published rows: what lives in Redis. Pure.

Four keys per API key, named by its hash under the budget's hash tag (one Redis Cluster
slot, so every script may touch them all):

* ``watch:leader`` — the leader's lock: a random token, with a TTL (:data:`LOCK_TTL`).
  :data:`LEAD` extends it when the caller holds it and takes it with ``SET NX PX`` when it
  is free (compare-and-extend: a process never extends a lock another took meanwhile);
  :data:`RESIGN` deletes it only for its holder.
* ``watch:registry`` — a sorted set of ``<watcher token>:<session id>``, scored by the end
  of each registration's lease (server time, ms). :data:`JOIN` registers (and renews) and,
  atomically, returns the stream's last id and the latest row of each session, so a waiter
  reads the snapshot and then the stream from that id: nothing falls between the two.
  :data:`REGISTERED` drops lapsed leases (a SIGKILLed waiter) and lists the rest.
* ``watch:status`` — a hash: session id → its latest published row (the status rank, one
  digit, then the row's JSON); ``watch:stream`` — a stream of the same, trimmed with
  ``MAXLEN ~``. :data:`PUBLISH` writes both, only forward (a lower rank never overwrites a
  higher one, a terminal row is never replaced): two leaders for a moment are harmless.

A published row holds the session's id, status and times only (:func:`public_row`): no
candidate ref, tags or metadata — a waiter fetches its own terminal detail.
"""

from __future__ import annotations

import msgspec

from ._poll_book import status_rank
from ._redis_budget import key_digest
from .models import SessionSummary

__all__ = [
    "JOIN",
    "LEAD",
    "LEASE",
    "LOCK_TTL",
    "PUBLISH",
    "REGISTERED",
    "RESIGN",
    "STREAM_MAXLEN",
    "WatchKeys",
    "decode_row",
    "encode_row",
    "public_row",
]

LOCK_TTL = 10.0
"""Seconds the leader's lock lives unless extended (a dead leader is replaced within it)."""

LEASE = 60.0
"""Seconds a registration lives unless renewed (waiters renew every ``LEASE / 3``)."""

STREAM_MAXLEN = 20_000
"""About how many changes the stream keeps (``MAXLEN ~``)."""

STATUS_TTL_MS = 86_400_000  # an idle key's watch state leaves Redis a day after its last change

LEAD = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 2 end
return 0
"""
"""KEYS[1]: the lock. ARGV: token, TTL (ms). Returns 1 (extended), 2 (taken), 0 (held by
another)."""

RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

JOIN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local ids = {}
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], until_ms, ARGV[2] .. ':' .. ARGV[i])
  ids[#ids + 1] = ARGV[i]
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if #last > 0 then cursor = last[1][1] end
local rows = {}
if #ids > 0 then rows = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {cursor, rows}
"""
"""KEYS: registry, status, stream. ARGV: lease (ms), watcher token, session ids. Returns
``{stream's last id, [latest row or nil per id]}``."""

REGISTERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

PUBLISH = """
for i = 3, #ARGV, 2 do
  local sid, v = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], sid)
  local rank = tonumber(string.sub(v, 1, 1))
  local newer = true
  if old then
    local was = tonumber(string.sub(old, 1, 1))
    newer = old ~= v and (was < rank or (was == rank and rank < 2))
  end
  if newer then
    redis.call('HSET', KEYS[1], sid, v)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'v', v)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
"""KEYS: status, stream. ARGV: stream bound, TTL (ms), then (session id, row) pairs."""


class WatchKeys:
    """The shared watcher's Redis keys for one API key (never the key itself)."""

    __slots__ = ("leader", "registry", "status", "stream")

    def __init__(self, api_key: str) -> None:
        base = f"zenhire:{{{key_digest(api_key)}}}:watch"
        self.leader = f"{base}:leader"
        self.registry = f"{base}:registry"
        self.status = f"{base}:status"
        self.stream = f"{base}:stream"


def public_row(row: SessionSummary) -> SessionSummary:
    """What of ``row`` may be published: id, status and times (no ref, tags, metadata)."""
    return SessionSummary(
        id=row.id,
        status=row.status,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


def encode_row(row: SessionSummary) -> bytes:
    """The stored form of ``row``: its status rank (one digit), then its public JSON."""
    return str(status_rank(row.status)).encode() + msgspec.json.encode(public_row(row))


def decode_row(value: bytes) -> SessionSummary | None:
    """A row read from Redis (``None`` if it is not one: a foreign or damaged value)."""
    try:
        return msgspec.json.decode(value[1:], type=SessionSummary)
    except (msgspec.MsgspecError, ValueError):
        return None
