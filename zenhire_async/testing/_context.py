"""The shared state of one running emulator, as seen by its HTTP layer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from aiohttp import web

from ._clock import EmulatorClock
from ._faults import Faults
from ._gate import KeyInfo, RateLimiter
from ._simulator import Simulator
from ._state import Store, TenantState

if TYPE_CHECKING:
    from ._storage import Storage

__all__ = ["CTX", "STALE", "TENANT", "TRUNCATE", "WHOLE", "Context", "Envelope"]

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


CTX = web.AppKey("zenhire_emulator", Context)
TENANT = web.RequestKey("zenhire_tenant", TenantState)
STALE = web.RequestKey("zenhire_stale", bool)
TRUNCATE = web.RequestKey("zenhire_truncate", bool)
WHOLE = web.RequestKey("zenhire_whole", bool)
"""Set by a fault that rewrites the answer: the recording is then answered in one piece."""
CREATED = web.RequestKey("zenhire_created_session", str)
