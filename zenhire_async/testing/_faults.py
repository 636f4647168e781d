"""Fault injection rules: what goes wrong, on which requests, how often.

A test adds rules with :meth:`Faults.add`. For each request the emulator makes one draw:
the first rule that applies to the request (kind, method and route), still has a ``count``
left and wins its ``rate`` draw is injected, and :attr:`Faults.injected` counts it. The
draws come from ``random.Random`` seeded by the emulator's ``seed``, so a run is
reproducible.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["FAULT_KINDS", "FaultKind", "FaultRule", "Faults"]

FaultKind = Literal[
    "500",
    "502_html",
    "503",
    "429",
    "reset",
    "slow",
    "truncated",
    "empty",
    "lost_response",
    "stale_read",
    "redirect",
    "other_id",
]
"""The kinds of fault the emulator can inject (see :meth:`Faults.add`)."""

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
_STALE_ROUTES = frozenset({"GET /sessions", "GET /sessions/{id}"})


@dataclass(eq=False, slots=True)
class FaultRule:
    """One injection rule (as given to :meth:`Faults.add`) and how often it fired."""

    kind: FaultKind
    rate: float = 1.0
    count: int | None = None
    method: str | None = None
    route: str | None = None
    retry_after: float = 1.0
    delay: float = 5.0
    location: str | None = None
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the rule fired ``count`` times."""
        return self.count is not None and self.fired >= self.count

    def applies(self, method: str, route: str) -> bool:
        """Whether this rule may fire on a request (``route`` is ``"METHOD /template"``)."""
        if self.exhausted:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.route is not None:
            wanted = self.route if " " in self.route else f"{method} {self.route}"
            if wanted != route:
                return False
        if self.kind == "lost_response":
            return method == "POST"
        if self.kind == "stale_read":
            return route in _STALE_ROUTES
        if self.kind == "other_id":
            return route == "GET /sessions/{id}"
        return True


class Faults:
    """The fault rules of one emulator (``emu.faults``)."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()
        """How many faults of each kind were injected so far."""

    @property
    def rules(self) -> list[FaultRule]:
        """The active rules, in the order they are tried."""
        return list(self._rules)

    def add(
        self,
        kind: FaultKind,
        *,
        rate: float = 1.0,
        count: int | None = None,
        method: str | None = None,
        route: str | None = None,
        retry_after: float = 1.0,
        delay: float = 5.0,
        location: str | None = None,
    ) -> FaultRule:
        """Inject ``kind`` on matching requests.

        ``rate`` is the chance per matching request; ``count`` caps how many times it fires;
        ``method`` and ``route`` restrict it (``route`` is a template as in
        ``emu.request_counts``: ``"GET /sessions/{id}"``, or just ``"/sessions/{id}"``).
        ``retry_after`` is used by ``"429"``/``"503"``, ``delay`` (seconds of loop time) by
        ``"slow"``, ``location`` (a base URL; default the emulator itself) by ``"redirect"``.
        ``"lost_response"`` only fires on POSTs and ``"stale_read"`` only on
        ``GET /sessions`` and ``GET /sessions/{id}``. ``"other_id"`` (only on
        ``GET /sessions/{id}``) answers with the id of another session of the tenant.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        rule = FaultRule(kind, rate, count, method, route, retry_after, delay, location)
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule (the ``injected`` counts are kept)."""
        self._rules.clear()

    def draw(self, method: str, route: str) -> FaultRule | None:
        """Pick the fault to inject on one request, if any."""
        for rule in self._rules:
            if rule.applies(method, route) and self._rng.random() < rule.rate:
                rule.fired += 1
                self.injected[rule.kind] += 1
                return rule
        return None
