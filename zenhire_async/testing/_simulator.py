"""Automatic candidates: sessions that open, run and end on the emulator's clock.

Theory of operation
-------------------
Nothing runs in the background. When a session is created, the simulator draws its whole
fate at once from its seeded RNG (no-show or not, when the candidate opens the link, how
long the interview lasts, whether it fails, the feedback) and pushes one ``open`` event on
a heap. Before the emulator answers any request it calls :meth:`Simulator.advance` with
the current time, which pops and applies every due event in time order, stamping each
change with the event's own time, not the request's. So the state a client sees is exactly
what it would be had the candidates acted in real time, and 10,000 sessions cost one heap
operation per event instead of a scan per request.

* ``open`` at time *t*: if the link has expired (unused for ``expires_in``), or if it
  never reached the client (its create answer was lost: nobody can hand it to a
  candidate), nothing happens and the session stays ``initiated`` forever. If the client is at its
  ``max_concurrent`` live interviews, the candidate joins the client's FIFO queue; else
  the session becomes ``active`` and an ``end`` event is pushed.
* ``end``: ``completed`` (with artefacts, charge and maybe feedback) or ``failed`` (a
  drawn failure, or the interview overran ``time_budget``). The freed slot goes to the
  first queued candidate whose link is still valid at that moment.

Every transition bumps the session's ``generation``; an event carries the generation it
was pushed at, so a test that moves a session by hand silently cancels its pending events.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from dataclasses import dataclass

from ._state import SessionRecord, Store, TenantState

__all__ = ["Simulation", "Simulator"]

_OPEN, _END, _TIMEOUT = 0, 1, 2
_COMMENTS = (None, "Smooth experience.", "The questions were relevant.", "Audio lagged a bit.")


@dataclass(frozen=True, slots=True)
class Simulation:
    """How automatic candidates behave (all times in seconds of emulator time)."""

    open_delay: tuple[float, float] = (5.0, 60.0)
    """Uniform range of the delay between link creation and the candidate opening it."""
    duration: tuple[float, float] = (60.0, 900.0)
    """Uniform range of the interview length."""
    fail_probability: float = 0.1
    """Chance that a started interview fails (at a uniform point of its duration)."""
    no_show_probability: float = 0.0
    """Chance that the candidate never opens the link (the session stays ``initiated``)."""
    time_budget: float = 3600.0
    """A live interview longer than this becomes ``failed``."""
    feedback_probability: float = 0.5
    """Chance that a completed interview carries a rating (1–5) and maybe a comment."""


@dataclass(frozen=True, slots=True)
class _Plan:
    duration: float
    fail_after: float | None
    rating: int | None
    comment: str | None


class Simulator:
    """The event heap that drives simulated candidates (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        simulation: Simulation | None,
        max_concurrent: int | None,
        seed: int = 0,
        delivered: set[str] | None = None,
    ) -> None:
        self._store = store
        self._delivered = delivered
        self._sim = simulation
        self._max = max_concurrent
        self._rng = random.Random(f"simulation:{seed}")
        self._heap: list[tuple[float, int, int, str, int]] = []
        self._seq = itertools.count()
        self._plans: dict[str, _Plan] = {}
        self._waiting: dict[TenantState, deque[str]] = {}
        self.peak_live: dict[TenantState, int] = {}

    def _push(self, at: float, kind: int, rec: SessionRecord) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, rec.id, rec.generation))

    def on_created(self, rec: SessionRecord, now: float) -> None:
        """Draw a new session's fate and schedule its candidate opening the link."""
        sim, rng = self._sim, self._rng
        if sim is None or rng.random() < sim.no_show_probability:
            return
        open_at = now + rng.uniform(*sim.open_delay)
        duration = rng.uniform(*sim.duration)
        fail_after = duration * rng.random() if rng.random() < sim.fail_probability else None
        rating = rng.randint(1, 5) if rng.random() < sim.feedback_probability else None
        comment = rng.choice(_COMMENTS) if rating is not None else None
        self._plans[rec.id] = _Plan(duration, fail_after, rating, comment)
        self._push(open_at, _OPEN, rec)

    def on_started(self, rec: SessionRecord, now: float) -> None:
        """A session was started by hand: enforce the time budget on it."""
        if self._sim is not None:
            self._push(now + self._sim.time_budget, _TIMEOUT, rec)
            self._note_live(rec.tenant)

    def forget(self, rec: SessionRecord) -> None:
        """Drop a session's simulated candidate: nothing scheduled for it will happen."""
        rec.generation += 1  # pending events carry the old generation: they are skipped
        self._plans.pop(rec.id, None)

    def advance(self, now: float) -> None:
        """Apply every event due at or before ``now``, in time order."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, kind, ident, generation = heapq.heappop(heap)
            rec = self._store.sessions.get(ident)
            if rec is None or rec.generation != generation:
                continue
            if kind == _OPEN:
                self._open(rec, at)
            elif kind == _END:
                self._end(rec, at)
            else:
                self._store.fail(rec, _ms(at))
                self.slot_freed(rec.tenant, at)

    def _open(self, rec: SessionRecord, at: float) -> None:
        if _ms(at) >= rec.link_expires_ms():
            return
        if self._delivered is not None and rec.id not in self._delivered:
            self._plans.pop(rec.id, None)
            return  # an orphan: its link never left the server
        tenant = rec.tenant
        if self._max is not None and tenant.live >= self._max:
            self._waiting.setdefault(tenant, deque()).append(rec.id)
            return
        self._begin(rec, at)

    def _begin(self, rec: SessionRecord, at: float) -> None:
        assert self._sim is not None
        self._store.start(rec, _ms(at))
        self._note_live(rec.tenant)
        plan = self._plans[rec.id]
        length = plan.duration if plan.fail_after is None else plan.fail_after
        self._push(at + min(length, self._sim.time_budget), _END, rec)

    def _end(self, rec: SessionRecord, at: float) -> None:
        assert self._sim is not None
        plan = self._plans.pop(rec.id)
        if plan.fail_after is not None or plan.duration > self._sim.time_budget:
            self._store.fail(rec, _ms(at))
        else:
            self._store.complete(
                rec, _ms(at), round(plan.duration), rating=plan.rating, comment=plan.comment
            )
        self.slot_freed(rec.tenant, at)

    def slot_freed(self, tenant: TenantState, at: float) -> None:
        """A live interview of ``tenant`` ended at ``at``: let queued candidates in."""
        queue = self._waiting.get(tenant)
        while queue and (self._max is None or tenant.live < self._max):
            rec = self._store.sessions.get(queue.popleft())
            if rec is None or rec.status != "initiated" or rec.id not in self._plans:
                continue
            if _ms(at) >= rec.link_expires_ms():
                continue  # the link died while the candidate was held off
            self._begin(rec, at)

    def _note_live(self, tenant: TenantState) -> None:
        if tenant.live > self.peak_live.get(tenant, 0):
            self.peak_live[tenant] = tenant.live


def _ms(at: float) -> int:
    return int(at * 1000)
