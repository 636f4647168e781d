"""The shared state of one running emulator, as seen by its HTTP layer."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from ._clock import EmulatorClock
from ._faults import Faults
from ._gate import KeyInfo, RateLimiter
from ._simulator import Simulator
from ._state import PersonaRecord, SessionRecord, Store, TenantState
from ._storage import Storage

__all__ = ["CTX", "LINK_BASE", "STALE", "TENANT", "TRUNCATE", "WHOLE", "Context", "Envelope"]

LINK_BASE = "https://interview.zenhire.ai/#t="
"""Every candidate link the emulator mints is this base and a random token."""

Envelope = Literal["pinned", "data_only", "has_more", "cursor", "nested"]


@dataclass(eq=False)
class Context:
    """Everything the middleware and handlers share (owned by the ``Emulator``)."""

    store: Store
    faults: Faults
    simulator: Simulator
    envelope: Envelope
    recording_bytes: int
    limiter: RateLimiter | None
    clock: EmulatorClock | None = None
    base_url: str = ""
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    request_counts: Counter[str] = field(default_factory=Counter)
    links: dict[str, str] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    undelivered: set[str] = field(default_factory=set)
    min_credits: int = 1
    storage: Storage | None = None
    case_insensitive_ids: bool = False  # ``/sessions/{id}`` matches an upper-case UUID too

    def now(self) -> float:
        """Emulator wall time in epoch seconds (after start)."""
        assert self.clock is not None, "the emulator is not started"
        return self.clock.now()

    def now_ms(self) -> int:
        """Emulator wall time in epoch milliseconds (after start)."""
        return int(self.now() * 1000)

    def mint_key(self, tenant: TenantState, prefix: str, *, expired: bool = False) -> str:
        """A new API key of ``tenant``: ``prefix`` and 32 random hex digits."""
        key = prefix + secrets.token_hex(16)
        self.keys[key] = KeyInfo(tenant, expired=expired)
        return key

    def create_session(
        self, tenant: TenantState, persona: PersonaRecord, fields: dict[str, Any]
    ) -> SessionRecord:
        """Store a new session from validated ``fields``, with a freshly minted link.

        The one place sessions are made, over HTTP or by a test's seeding: the link is
        kept in :attr:`links` and the simulator draws the session's fate.
        """
        link = LINK_BASE + secrets.token_urlsafe(32)
        now = self.now()
        rec = self.store.create_session(tenant, persona, fields, int(now * 1000), link)
        self.links[rec.id] = link
        self.simulator.on_created(rec, now)
        return rec


CTX = web.AppKey("zenhire_emulator", Context)
TENANT = web.RequestKey("zenhire_tenant", TenantState)
STALE = web.RequestKey("zenhire_stale", bool)
TRUNCATE = web.RequestKey("zenhire_truncate", bool)
WHOLE = web.RequestKey("zenhire_whole", bool)
"""Set by a fault that rewrites the answer: the recording is then answered in one piece."""
CREATED = web.RequestKey("zenhire_created_session", str)
