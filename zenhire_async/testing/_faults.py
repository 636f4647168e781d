"""Fault injection rules: what goes wrong, on which requests, how often.

A test adds rules with :meth:`Faults.add`. For each request the emulator makes one draw:
the first rule that applies to the request (kind, method and route), still has a ``count``
left and wins its ``rate`` draw is injected, and :attr:`Faults.injected` counts it. The
draws come from ``random.Random`` seeded by the emulator's ``seed``, so a run is
reproducible.

The kinds, by what they do to the answer:

- instead of the answer: ``"500"``, ``"502_html"`` (an nginx page), ``"503"`` and ``"429"``
  (with ``retry_after``), ``"empty"`` (a 500 with no body), ``"reset"`` (the connection is
  dropped), ``"redirect"`` (307 to ``location``, default the emulator itself);
- on time: ``"slow"`` and ``"stall_headers"`` (nothing for ``delay`` seconds, then the
  answer), ``"stall_body"`` (headers and half the body, ``delay`` seconds, then the rest),
  ``"trickle"`` (the body in pieces of ``size`` bytes, default 16, ``delay`` seconds apart);
- on size: ``"huge_body"`` (a valid 200 JSON page of ``size`` bytes, default 200 MiB, with
  its Content-Length), ``"endless_body"`` (a chunked 200 JSON body that never ends),
  ``"gzip_bomb"`` (a 200 JSON body of ``size`` bytes once inflated, default 300 MiB, about
  a thousandth of that on the wire, ``Content-Encoding: gzip``);
- on encoding: ``"gzip"`` (the answer gzip-compressed with its compressed Content-Length,
  when the request's ``Accept-Encoding`` allows gzip, as a compressing proxy does) and
  ``"gzip_always"`` (the same, whatever the request accepts);
- malformed HTTP, raw bytes on the socket, then the connection is closed:
  ``"bad_status_line"``, ``"bad_content_length"``, ``"bad_chunk_size"``,
  ``"too_many_headers"`` (1,000 header lines), ``"long_header"`` (one header of 64 KiB),
  ``"ssh_banner"`` (an SSH server's greeting instead of HTTP);
- spoiling the computed answer: ``"truncated"`` (half the body, then the connection
  closes), ``"lost_response"`` (POSTs only: the server acts, the answer is lost),
  ``"stale_read"`` (``GET /sessions`` and ``GET /sessions/{id}`` only: the previous state);
- results through a storage origin (``GET /sessions/{id}/recording`` and ``/transcript``
  only; the emulator must be made with ``storage=``): ``"storage_redirect"`` (a
  redirect of HTTP ``status``, default 302, to a short-lived URL of the storage origin) and
  ``"storage_url"`` (a 200 JSON ``{"url": ..., "expires_at": ...}`` naming it).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal, get_args

from ._patch import Patch

__all__ = ["ARTIFACT_ROUTES", "FAULT_KINDS", "MALFORMED_KINDS", "FaultKind", "FaultRule", "Faults"]

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
    "stall_headers",
    "stall_body",
    "trickle",
    "huge_body",
    "endless_body",
    "gzip",
    "gzip_always",
    "gzip_bomb",
    "bad_status_line",
    "bad_content_length",
    "bad_chunk_size",
    "too_many_headers",
    "long_header",
    "ssh_banner",
    "storage_redirect",
    "storage_url",
    "patched_answer",
    "other_id",
]
"""The kinds of fault the emulator can inject (see :meth:`Faults.add`)."""

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
_STALE_ROUTES = frozenset({"GET /sessions", "GET /sessions/{id}"})
ARTIFACT_ROUTES = frozenset({"GET /sessions/{id}/recording", "GET /sessions/{id}/transcript"})
MALFORMED_KINDS = frozenset(
    {
        "bad_status_line",
        "bad_content_length",
        "bad_chunk_size",
        "too_many_headers",
        "long_header",
        "ssh_banner",
    }
)
"""The kinds that answer with bytes that are not valid HTTP."""
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    size: int | None = None
    status: int = 302
    fired: int = 0
    patch: Patch | None = None

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
        if self.kind in ("storage_redirect", "storage_url"):
            return route in ARTIFACT_ROUTES
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
        size: int | None = None,
        status: int = 302,
        patch: Patch | None = None,
    ) -> FaultRule:
        """Inject ``kind`` on matching requests.

        ``rate`` is the chance per matching request; ``count`` caps how many times it fires;
        ``method`` and ``route`` restrict it (``route`` is a template as in
        ``emu.request_counts``: ``"GET /sessions/{id}"``, or just ``"/sessions/{id}"``).
        ``retry_after`` is used by ``"429"``/``"503"``, ``delay`` (seconds of loop time) by
        ``"slow"``, ``"stall_headers"``, ``"stall_body"`` and ``"trickle"``, ``location`` (a
        base URL; default the emulator itself) by ``"redirect"``, ``size`` (bytes) by
        ``"trickle"``, ``"huge_body"`` and ``"gzip_bomb"``, ``status`` by
        ``"storage_redirect"``. ``"lost_response"`` only fires on POSTs, ``"stale_read"``
        only on ``GET /sessions`` and ``GET /sessions/{id}``, the ``storage_*`` kinds only on
        the recording and transcript routes. See the module docstring for every kind.
        ``"patched_answer"`` rewrites the
        fields of a 2xx JSON answer (of each row of a list page) with ``patch``: a mapping
        of field to new value (``DROP`` removes the field) or a function of the object;
        the default (``DEFAULT_PATCH``) is odd but readable, as older or newer servers write.
        ``"other_id"`` (only on ``GET /sessions/{id}``) answers with the id of another
        session of the tenant.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if size is not None and size < 1:
            raise ValueError("size must be a positive number of bytes")
        if status not in _REDIRECT_STATUSES:
            raise ValueError(f"status must be one of {sorted(_REDIRECT_STATUSES)}")
        rule = FaultRule(
            kind, rate, count, method, route, retry_after, delay, location, size, status
        )
        rule.patch = patch
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
