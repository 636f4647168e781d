"""The polling cadence: how often to look at a session, by its status. Pure.

Theory of operation. There is no webhook: polling is the only way to learn of completion,
and every poll spends the key's shared budget (500/min). The cadence is therefore
status-aware and lives in one pure function, :meth:`PollCadence.delay`:

* ``active``: the interview runs under a fixed time budget and ends within the hour, so it is
  checked often (every 5 s, slowing to 20 s as the interview goes on);
* ``initiated``: the candidate may take days to open the link, so it is checked rarely (every
  15 s at first, slowing to every 5 minutes);
* every delay is jittered so that many waiters do not poll in lock-step.

A session still ``initiated`` after its link expired will never move
(:meth:`~zenhire_async._poll_book.Tracked.link_expiry`). The watchers in
:mod:`zenhire_async._poll_watch` apply this cadence per session and batch the requests it
asks for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .models import SessionStatus, SessionSummary

__all__ = ["OnStatus", "PollCadence", "check_wait_timeout"]

OnStatus = Callable[[SessionSummary], Awaitable[None] | None]
"""Called with the session on every status change (the first observation included).

It receives a :class:`SessionSummary` (a :class:`SessionDetail` is one too): waits that
share a batched watcher learn of changes from list rows."""


def check_wait_timeout(timeout: float | None) -> None:
    """``ValueError`` unless a wait's ``timeout`` is ``None`` or non-negative."""
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be non-negative or None, got {timeout!r}")


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
