"""Waiting for one session to finish: ``sessions.await_completion``.

Theory of operation. There is no webhook: polling ``GET /sessions/{id}`` is the only way to
learn of completion, and every poll spends the key's shared budget (500/min). The cadence is
therefore status-aware and lives in one pure function, :meth:`PollCadence.delay`:

* ``active``: the interview runs under a fixed time budget and ends within the hour, so it is
  checked often (every 5 s, slowing to 20 s as the interview goes on);
* ``initiated``: the candidate may take days to open the link, so it is checked rarely (every
  15 s at first, slowing to every 5 minutes);
* every delay is jittered so that many waiters do not poll in lock-step.

The wait ends on a terminal status (``completed`` or ``failed``: both are normal outcomes), on
``timeout`` (:class:`WaitTimeout` with the last session seen), or when a session is still
``initiated`` after its link expired (:class:`LinkExpiredError`): such a session would never
move. Transient failures (network, 5xx, 429) that outlive the transport's retries are waited
out, not raised; a wait never sleeps past its own deadline or the link's expiry. Cancelling the
caller (``anyio.fail_after``, ``asyncio.timeout``) cancels the sleep or the request cleanly.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import anyio

from ._clock import LoopWallClock
from .errors import APIConnectionError, LinkExpiredError, RateLimitError, ServerError, WaitTimeout
from .models import DEFAULT_LINK_LIFETIME, SessionDetail, SessionStatus, SessionSummary

__all__ = ["OnStatus", "PollCadence", "await_completion", "link_expiry"]

OnStatus = Callable[[SessionSummary], Awaitable[None] | None]
"""Called with the session on every status change (the first observation included).

It receives a :class:`SessionSummary` (a :class:`SessionDetail` is one too): waits that
share a batched watcher learn of changes from list rows."""

TRANSIENT_ERRORS = (APIConnectionError, ServerError, RateLimitError)


@dataclass(frozen=True, slots=True)
class PollCadence:
    """How long to wait before looking at a session again, by its status. Pure."""

    active: float = 5.0
    active_max: float = 20.0
    initiated: float = 15.0
    initiated_max: float = 300.0
    jitter: float = 0.2

    def delay(self, status: str, seconds_in_status: float, rand: float) -> float:
        """The next delay for a session ``seconds_in_status`` into ``status``.

        ``rand`` is a uniform draw from [0, 1) (injected so the function stays pure).
        """
        waited = max(0.0, seconds_in_status)
        if status == SessionStatus.INITIATED:
            base = min(self.initiated_max, self.initiated + waited / 20)
        elif status == SessionStatus.ACTIVE:
            base = min(self.active_max, self.active + waited / 60)
        else:
            base = self.active
        return base * (1 + self.jitter * (2 * rand - 1))


def link_expiry(session: SessionSummary, known: datetime | None) -> datetime:
    """When the session's unused link stops working: as received at creation, else +7 days."""
    return known if known is not None else session.created_at + DEFAULT_LINK_LIFETIME


async def _notify(on_status: OnStatus | None, session: SessionDetail) -> None:
    if on_status is not None:
        result = on_status(session)
        if inspect.isawaitable(result):
            await result


async def await_completion(
    get: Callable[[str], Awaitable[SessionDetail]],
    session_id: str,
    *,
    timeout: float | None,
    on_status: OnStatus | None,
    known_expiry: datetime | None,
    clock: LoopWallClock,
    cadence: PollCadence = PollCadence(),
    rng: random.Random | None = None,
) -> SessionDetail:
    """Poll ``get(session_id)`` until the session is terminal; see the module docstring."""
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be non-negative or None, got {timeout!r}")
    draw = (rng or random.Random()).random
    deadline = None if timeout is None else anyio.current_time() + timeout
    last: SessionDetail | None = None
    status_since = anyio.current_time()
    while True:
        try:
            session = await get(session_id)
        except TRANSIENT_ERRORS:
            session = None
        now = anyio.current_time()
        if session is not None:
            if last is None or session.status != last.status:
                status_since = now
                last = session
                await _notify(on_status, session)
            last = session
            if session.is_terminal:
                return session
        wake = now + cadence.delay(last.status if last else "", now - status_since, draw())
        if last is not None and last.status == SessionStatus.INITIATED:
            expires = link_expiry(last, known_expiry)
            if clock.now() >= expires:
                raise LinkExpiredError(
                    f"session {session_id} is still initiated and its link expired at "
                    f"{expires.isoformat()}",
                    session=last,
                )
            wake = min(wake, clock.loop_time_of(expires))
        if deadline is not None:
            if now >= deadline:
                raise WaitTimeout(
                    f"session {session_id} did not finish within {timeout:g}s",
                    last=last,
                    pending={session_id: last},
                )
            wake = min(wake, deadline)
        await anyio.sleep(max(0.0, wake - now))
