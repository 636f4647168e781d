"""Typed events: what a client is doing, for hooks (``ZenHireClient(on_event=hook)``).

Every event is a frozen dataclass with ``at``, the event loop's clock (``loop.time()``, in
seconds) when it happened. Every duration (``elapsed``, ``delay``, ``seconds``,
``retry_after``, ``seconds_in_old``) is in seconds; ``attempt`` counts from 1. An event never
holds the API key, a candidate link or its token: errors appear as their class name only.

* :class:`CallStarted` / :class:`CallEnded` around every public SDK call (``call`` such as
  ``"sessions.get"``; each page that ``iter()`` fetches is a ``"….list"`` call, each poll of
  ``watch``/``await_completion`` a ``"sessions.get"`` or ``"sessions.list"`` call);
* :class:`RequestSent`, :class:`ResponseReceived` (any HTTP status), :class:`RequestFailed`
  (the attempt's error, network or HTTP), :class:`RetryScheduled`, :class:`RateLimited` for
  each attempt of a call, tied to it by ``call_id``;
* :class:`PacingWaited` when the client's rate limiter held a request back;
* :class:`StatusChanged` once per status a watched session is seen in (``old=None`` for the
  first sighting), from ``watch`` and ``await_completion``;
* :class:`BulkRowFinished` for every row of a ``bulk_invite``;
* :class:`LeaderChanged` when this process gains or loses the shared watcher's leadership
  (with a coordinator).

Hooks are called as ``hook(event)``. A plain function runs inline, in the caller's task and
context, and must be quick; a coroutine function runs beside the calls, in order, fed by a
bounded queue (when it is full, events are dropped and counted, with one WARNING); the
client's ``aclose()`` waits for it to catch up. A hook that raises is logged at WARNING
(once per hook) and ignored: it never breaks a call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "BulkOutcome",
    "BulkRowFinished",
    "CallEnded",
    "CallStarted",
    "Event",
    "EventHook",
    "LeaderChanged",
    "OnEvent",
    "PacingWaited",
    "RateLimited",
    "RequestFailed",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "StatusChanged",
]


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A public SDK call began (``call`` such as ``"sessions.get"``)."""

    call: str
    call_id: int
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A call returned (``outcome == "ok"``) or raised (``outcome`` is the error's class name)."""

    call: str
    call_id: int
    outcome: str
    elapsed: float
    at: float


@dataclass(frozen=True, slots=True)
class RequestSent:
    """An attempt went out (``route`` is the template, such as ``"/sessions/{session_id}"``)."""

    call_id: int
    method: str
    route: str
    attempt: int
    at: float


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """An HTTP response arrived, of any status; ``elapsed`` since its attempt went out.

    ``request_id`` is the response's ``X-Request-Id``, else the error envelope's
    ``requestId``, else ``None``.
    """

    call_id: int
    method: str
    route: str
    attempt: int
    status: int
    elapsed: float
    request_id: str | None
    at: float


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """An attempt failed; ``error`` is the class name (``"ServerError"``, ``"APITimeoutError"``)."""

    call_id: int
    method: str
    route: str
    attempt: int
    error: str
    at: float


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """Attempt ``attempt`` failed for ``reason`` (an error class name); the next in ``delay``."""

    call_id: int
    attempt: int
    delay: float
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class PacingWaited:
    """The client's rate limiter held a request back for ``seconds``.

    ``priority`` is the request's: ``"interactive"`` or ``"batch"`` (the client's
    ``priority``; bulk invites and the watcher's sweeps are always ``"batch"``).
    """

    seconds: float
    priority: str
    at: float


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The server answered 429; ``retry_after`` is its ``Retry-After`` (``None``: not given)."""

    retry_after: float | None
    at: float


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A watched session was seen in a new status (``old`` is ``None`` at the first sighting).

    ``seconds_in_old`` is how long it had been seen in ``old`` (``None`` at the first
    sighting); ``polls`` counts the fetches that read its state so far (a GET of it, or a list
    page holding it), this one included.
    """

    session_id: str
    old: str | None
    new: str
    seconds_in_old: float | None
    polls: int
    at: float


BulkOutcome: TypeAlias = Literal["created", "skipped", "failed", "existing"]
"""How a bulk-invite row ended (``existing``: its candidate already had a session)."""


@dataclass(frozen=True, slots=True)
class BulkRowFinished:
    """A ``bulk_invite`` row is done: ``"created"``, ``"skipped"`` (had a link) or ``"failed"``."""

    job_id: str
    outcome: BulkOutcome
    at: float


@dataclass(frozen=True, slots=True)
class LeaderChanged:
    """This process gained (``leading=True``) or lost the shared watcher's leadership."""

    leading: bool
    at: float


Event: TypeAlias = (
    CallStarted
    | CallEnded
    | RequestSent
    | ResponseReceived
    | RequestFailed
    | RetryScheduled
    | PacingWaited
    | RateLimited
    | StatusChanged
    | BulkRowFinished
    | LeaderChanged
)
"""Any event a client emits."""

EventHook: TypeAlias = Callable[[Event], None] | Callable[[Event], Awaitable[None]]
"""A function (run inline) or a coroutine function (run beside the call) taking an event."""

OnEvent: TypeAlias = EventHook | Sequence[EventHook]
"""What ``on_event=`` takes: one hook or a list of them."""
