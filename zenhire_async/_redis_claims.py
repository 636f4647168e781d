"""The bulk-invite row claims' Lua scripts and key names: what runs inside Redis. Pure.

A claim is one Redis string per (API key, persona, row): ``SET``-if-absent by
:data:`CLAIM`, with the value ``"<job id>:"`` while the job creates the row's session and
``"<job id>:<session id>"`` once :data:`SETTLE` points it at the session; a row that got no
session is released (deleted). Both scripts compare the job id first, so a job only ever
changes its own claims, and a job resumed from its journal (same job id) is granted its own
claim again.

The key is named under the budget's hash tag (``zenhire:{<key digest>}:claim:<name>``, one
Redis Cluster slot per API key), where ``<name>`` is an HMAC-SHA256 keyed by the API key of
the persona id and the row key (itself a hash of the candidate ref): Redis sees neither the
ref nor anything from which a guessable ref could be checked without the API key.

A claim lives :data:`CLAIM_TTL` while its create runs (a crashed job's claims free their
rows after that) and :data:`SETTLED_TTL` once it names a session: long enough to cover any
job that listed the persona's sessions before this one created the row's.
"""

from __future__ import annotations

import hashlib
import hmac

from ._redis_budget import key_digest

__all__ = ["CLAIM", "CLAIM_TTL", "SETTLE", "SETTLED_TTL", "ClaimKeys", "read_claim"]

CLAIM_TTL = 600.0
"""Seconds a claim lives while its row's create runs."""
SETTLED_TTL = 86_400.0
"""Seconds a claim naming its session lives (a job listing before it ran is covered if it
lasts less than this)."""

CLAIM = """
local mine = ARGV[1] .. ':'
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #mine) ~= mine then return {0, held} end
if not held or held == mine then redis.call('SET', KEYS[1], mine, 'PX', ARGV[2]) end
return {1, ''}
"""
"""KEYS[1]: the claim. ARGV: the job id, the TTL in ms. Returns ``{1, ''}`` when granted,
else ``{0, value}`` naming the job holding it (and its session once known)."""

SETTLE = """
local mine = ARGV[1] .. ':'
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #mine) ~= mine then return 0 end
if ARGV[2] == '' then
  if held then redis.call('DEL', KEYS[1]) end
else
  redis.call('SET', KEYS[1], mine .. ARGV[2], 'PX', ARGV[3])
end
return 1
"""
"""KEYS[1]: the claim. ARGV: the job id, the session id ('' to release), the TTL in ms."""


class ClaimKeys:
    """The Redis keys of one API key's claims for one persona (holds no key, only an HMAC
    secret derived from it)."""

    __slots__ = ("_prefix", "_secret")

    def __init__(self, api_key: str, persona_id: str) -> None:
        self._prefix = f"zenhire:{{{key_digest(api_key)}}}:claim:"
        base = hashlib.sha256(b"zenhire-async/claims\0" + api_key.encode()).digest()
        self._secret = hmac.new(base, persona_id.encode() + b"\0", hashlib.sha256)

    def __repr__(self) -> str:
        return "<ClaimKeys>"

    def key(self, row: bytes) -> str:
        """The claim of the row with row key ``row``."""
        mac = self._secret.copy()
        mac.update(row)
        return self._prefix + mac.hexdigest()[:32]


def read_claim(value: object) -> str | None:
    """The session id a claim's value names (``None`` while its create runs)."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    session = text.partition(":")[2]
    return session or None
