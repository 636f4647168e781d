"""The ``Emulator``: a stateful ZenHire API on loopback, with controls for tests."""

from __future__ import annotations

import copy
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, get_args

from ._context import Context, Envelope
from ._faults import Faults
from ._gate import RateLimiter
from ._server import Server
from ._simulator import Simulation, Simulator
from ._state import SessionRecord, Store, TenantState
from ._storage import Storage
from ._validation import validate_persona_body, validate_session_body
from ._wav import wav_header

__all__ = ["Emulator", "Tenant"]

_ENVELOPES = frozenset(get_args(Envelope))


@dataclass(frozen=True, slots=True)
class Tenant:
    """A client of the emulator and the API key that reaches it."""

    api_key: str
    client_id: str
    project_id: str | None

    def __repr__(self) -> str:
        return f"Tenant(client_id={self.client_id!r}, project_id={self.project_id!r})"


class Emulator:
    """A stateful emulator of the ZenHire Interview API (an ``aiohttp.web`` app).

    Use ``async with Emulator() as emu`` (or :meth:`start` / :meth:`aclose`) inside the
    event loop that runs the test; point a client at :attr:`base_url` with
    :attr:`api_key`. All emulator time follows the running loop's clock (see
    ``virtual_time``). Sessions only change status when the test says so
    (:meth:`start_session`, :meth:`complete_session`, :meth:`fail_session`) unless a
    :class:`Simulation` is given. Simulated candidates only open links that reached the
    client: a session whose create answer was lost (an orphan) stays ``initiated``.

    ``storage`` adds a storage origin on a second port, from which the ``storage_redirect``
    and ``storage_url`` faults serve results through short-lived URLs: an
    ``ssl.SSLContext`` (with the server's certificate loaded) serves it over HTTPS,
    ``True`` over plain HTTP.

    ``rate_limit_per_minute`` turns on the per-key limit: at most that many requests with one
    key in any sliding window of ``rate_limit_window`` seconds (60; a shorter one lets a test
    of a few seconds see a fleet overshoot), 429 past it.

    ``case_insensitive_ids`` makes ``/sessions/{id}`` match an upper-case UUID, as some
    servers do (rows still carry the canonical lower-case id).
    """

    def __init__(
        self,
        *,
        rate_limit_per_minute: int | None = None,
        rate_limit_window: float = 60.0,
        envelope: Envelope = "pinned",
        recording_bytes: int = 32_044,
        max_concurrent: int | None = None,
        simulation: Simulation | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        storage: ssl.SSLContext | bool = False,
        case_insensitive_ids: bool = False,
    ) -> None:
        if envelope not in _ENVELOPES:
            raise ValueError(f"envelope must be one of {sorted(_ENVELOPES)}")
        wav_header(recording_bytes)  # validates the size
        if max_concurrent is not None and max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        store = Store(seed)
        if not rate_limit_window > 0:
            raise ValueError("rate_limit_window must be a positive number of seconds")
        limiter = (
            RateLimiter(rate_limit_per_minute, rate_limit_window) if rate_limit_per_minute else None
        )
        delivered: set[str] = set()
        self._ctx = Context(
            store=store,
            faults=Faults(seed),
            simulator=Simulator(store, simulation, max_concurrent, seed, delivered),
            delivered=delivered,
            envelope=envelope,
            recording_bytes=recording_bytes,
            limiter=limiter,
            case_insensitive_ids=case_insensitive_ids,
        )
        if storage is not False:
            context = storage if isinstance(storage, ssl.SSLContext) else None
            self._ctx.storage = Storage(self._ctx, context)
        self._server = Server(self._ctx, host, port)
        self._tenants: dict[str, TenantState] = {}
        self.tenant = self.add_tenant(project_id=store.new_id())
        """The default tenant (interview permission, ample credits)."""

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the server on the running loop and start the emulator clock."""
        await self._server.start()

    async def aclose(self) -> None:
        """Stop serving (idempotent)."""
        await self._server.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- tenants and keys -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The platform root, ``http://127.0.0.1:PORT`` (set once started)."""
        return self._ctx.base_url

    @property
    def storage_url(self) -> str:
        """The storage origin's root (``https://127.0.0.1:PORT``); needs ``storage=``."""
        if self._ctx.storage is None:
            raise RuntimeError("this emulator has no storage origin: pass storage=")
        return self._ctx.storage.base_url

    @property
    def storage_requests(self) -> list[dict[str, str]]:
        """The headers of every request the storage origin received, in order."""
        return self._ctx.storage.requests if self._ctx.storage is not None else []

    @property
    def recording_bytes(self) -> int:
        """The size of every completed session's WAV recording (header included)."""
        return self._ctx.recording_bytes

    @property
    def envelope(self) -> Envelope:
        """The list envelope this emulator answers with."""
        return self._ctx.envelope

    @property
    def api_key(self) -> str:
        """The default tenant's API key."""
        return self.tenant.api_key

    @property
    def client_id(self) -> str:
        """The default tenant's client id."""
        return self.tenant.client_id

    def add_tenant(
        self,
        *,
        credits: int = 1_000_000,
        permissions: frozenset[str] = frozenset({"interview"}),
        project_id: str | None = None,
        key_prefix: str = "zh_api_",
        active: bool = True,
    ) -> Tenant:
        """Add a client with one API key. ``credits=0`` makes session creation 402;
        ``permissions`` without ``"interview"`` makes every interview endpoint 403;
        ``active=False`` makes every call 401 ``CLIENT_INACTIVE``."""
        state = self._ctx.store.add_tenant(credits, permissions, project_id)
        state.active = active
        self._tenants[state.client_id] = state
        return Tenant(self._ctx.mint_key(state, key_prefix), state.client_id, project_id)

    def add_key(
        self, tenant: Tenant | None = None, *, expired: bool = False, prefix: str = "zh_api_"
    ) -> str:
        """Mint another key for ``tenant`` (default tenant); ``expired`` keys get 401
        ``API_KEY_EXPIRED``."""
        state = self._tenant_state(tenant.api_key if tenant else None)
        return self._ctx.mint_key(state, prefix, expired=expired)

    def _tenant_state(self, api_key: str | None) -> TenantState:
        info = self._ctx.keys[api_key or self.tenant.api_key]
        return info.tenant

    def credits(self, api_key: str | None = None) -> int:
        """The credit balance of a key's tenant (default tenant)."""
        return self._tenant_state(api_key).credits

    def set_credits(self, balance: int, api_key: str | None = None) -> None:
        """Set the credit balance of a key's tenant (default tenant)."""
        self._tenant_state(api_key).credits = balance

    # -- direct state access ----------------------------------------------------------

    def clock_now(self) -> datetime:
        """The emulator's current wall time (aware UTC; follows the loop clock)."""
        assert self._ctx.clock is not None, "the emulator is not started"
        return self._ctx.clock.datetime()

    def _advance(self) -> None:
        if self._ctx.clock is not None:
            self._ctx.simulator.advance(self._ctx.now())

    def _record(self, session_id: str) -> SessionRecord:
        self._advance()
        return self._ctx.store.sessions[session_id]

    def create_persona(
        self,
        role_name: str = "Backend Engineer",
        language: str = "en",
        *,
        system_prompt: str | None = None,
        base_prompt_override: str | None = None,
        api_key: str | None = None,
    ) -> str:
        """Create a persona without HTTP (for a key's tenant, default tenant); return its
        id. Raises ``ValidationFailed`` (a ``ValueError``-like) on bad fields."""
        state = self._tenant_state(api_key)
        body = {"role_name": role_name, "language": language}
        if system_prompt is not None:
            body["system_prompt"] = system_prompt
        if base_prompt_override is not None:
            body["base_prompt_override"] = base_prompt_override
        valid = validate_persona_body(body)
        return self._ctx.store.create_persona(state, valid, self._ctx.now_ms()).id

    def create_session(
        self,
        persona_id: str,
        *,
        consent_mode: str = "explicit",
        candidate_ref: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, str | int | float | bool] | None = None,
    ) -> str:
        """Create a session without HTTP (fast seeding) for the persona's tenant; return
        its id. The link is in :attr:`links`; the session counts as delivered."""
        self._advance()
        persona = self._ctx.store.personas[persona_id]
        state = self._tenants[persona.client_id]
        body: dict[str, Any] = {
            "consent_mode": consent_mode,
            "candidate_ref": candidate_ref,
            "tags": tags,
            "metadata": metadata,
        }
        rec = self._ctx.create_session(state, persona, validate_session_body(body))
        self._ctx.delivered.add(rec.id)
        return rec.id

    def delete_persona(self, persona_id: str) -> None:
        """Delete a persona: its sessions then show ``role_name``/``language`` null on list
        rows and ``persona`` null on detail."""
        self._ctx.store.delete_persona(persona_id)

    def session(self, session_id: str) -> dict[str, Any]:
        """A copy of a session as the API knows it: the SessionDetail fields, with
        ``role_name``/``language`` filled as on list rows."""
        rec = self._record(session_id)
        store = self._ctx.store
        return copy.deepcopy({**store.detail(rec), **store.summary(rec)})

    def sessions_of(self, api_key: str | None = None) -> list[dict[str, Any]]:
        """Every session of a key's tenant (default tenant), newest first."""
        self._advance()
        state = self._tenant_state(api_key)
        return [self.session(ident) for _, ident in reversed(state.session_keys)]

    def transcript(self, session_id: str) -> list[dict[str, Any]] | None:
        """The transcript a completed session serves (``None`` before completion)."""
        return self._record(session_id).transcript

    def peak_concurrency(self, api_key: str | None = None) -> int:
        """The most simultaneous ``active`` sessions seen for a key's tenant."""
        self._advance()
        state = self._tenant_state(api_key)
        return max(self._ctx.simulator.peak_live.get(state, 0), state.live)

    # -- lifecycle control ------------------------------------------------------------

    def no_show(self, session_id: str) -> None:
        """The candidate of an ``initiated`` session will never open the link: its simulated
        opening (if any) is cancelled, so it stays ``initiated`` and its link expires
        unused. Raises ``ValueError`` if the session was already opened."""
        rec = self._record(session_id)
        if rec.status != "initiated":
            raise ValueError(f"session {session_id} is {rec.status}, not initiated")
        self._ctx.simulator.forget(rec)

    def start_session(self, session_id: str) -> None:
        """``initiated`` → ``active`` now. Raises ``ValueError`` if the link expired."""
        rec = self._record(session_id)
        now_ms = self._ctx.now_ms()
        if now_ms >= rec.link_expires_ms():
            raise ValueError(f"the candidate link of {session_id} has expired")
        self._ctx.store.start(rec, now_ms)
        self._ctx.simulator.on_started(rec, self._ctx.now())

    def complete_session(
        self,
        session_id: str,
        *,
        duration_sec: int = 600,
        rating: int | None = None,
        comment: str | None = None,
    ) -> None:
        """→ ``completed`` now: artefacts, ``credit_charged`` = ceil(duration/60) × rate,
        and feedback when ``rating`` is given (flagged when ≤ 2)."""
        store = self._ctx.store
        self._end(
            session_id, lambda rec, ms: store.complete(rec, ms, duration_sec, rating, comment)
        )

    def fail_session(self, session_id: str) -> None:
        """→ ``failed`` now (never charged)."""
        self._end(session_id, self._ctx.store.fail)

    def _end(self, session_id: str, finish: Callable[[SessionRecord, int], None]) -> None:
        """End a session by hand with ``finish(record, now_ms)``; a live one frees its slot."""
        rec = self._record(session_id)
        was_live = rec.status == "active"
        now = self._ctx.now()
        finish(rec, int(now * 1000))
        if was_live:
            self._ctx.simulator.slot_freed(rec.tenant, now)

    # -- observation ------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """Fault injection: ``emu.faults.add(kind, ...)``, ``clear()``, ``injected``."""
        return self._ctx.faults

    @property
    def links(self) -> dict[str, str]:
        """Session id → the candidate link minted for it."""
        return self._ctx.links

    @property
    def delivered_session_ids(self) -> set[str]:
        """Sessions whose 201 create answer was fully written to the client."""
        return self._ctx.delivered

    @property
    def undelivered_session_ids(self) -> set[str]:
        """Sessions created whose answer was lost (``lost_response``, ``truncated``)."""
        return self._ctx.undelivered

    @property
    def request_counts(self) -> Counter[str]:
        """Requests received per ``"METHOD /template"``, faulted and 429ed ones included."""
        return self._ctx.request_counts

    @property
    def open_connections(self) -> int:
        """TCP connections to the emulator open now."""
        return self._server.connections.open

    @property
    def peak_connections(self) -> int:
        """The most TCP connections that were open at once (since start or
        :meth:`reset_counts`)."""
        return self._server.connections.peak

    @property
    def total_requests(self) -> int:
        """All requests received."""
        return self._ctx.request_counts.total()

    def reset_counts(self) -> None:
        """Zero :attr:`request_counts`; restart :attr:`peak_connections` from the
        connections open now."""
        self._ctx.request_counts.clear()
        self._server.connections.reset_peak()

    def __repr__(self) -> str:
        return f"Emulator(base_url={self.base_url!r})"
