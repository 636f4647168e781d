"""Waiting for many sessions within the rate limit: ``sessions.watch`` and ``await_completion``.

Theory of operation. There are no webhooks, and every poll spends the key's budget (500
requests/minute, shared with invites and user calls). So waiting is batched, shared and
paced:

* A :class:`~zenhire_async._poll_book.WatchBook` holds what is known of each watched session
  and plans each *sweep*: one GET per due session when few are due, else list pages over the
  creation window of all pending sessions (about ``ceil(rows / 100)`` requests for all).
* A :class:`Sweeper` carries out plans. Before each sweep it asks the client's
  :class:`~zenhire_async._poll_budget.PollBudget` for a slot: polling may use only
  ``polling_share`` of the client's per-minute rate (half by default), so a sweep that
  costs *n* requests is followed by a pause of at least ``n * 60 / (share * rate)``
  seconds. Transient failures (network, 5xx,
  429) delay a sweep, with backoff or for ``Retry-After``; they never lose a transition,
  because the next sweep reads the current state again.
* A ``timeout`` is a deadline. Sleeps end at it, and the sweep step in flight is cut at it
  (a poll stalled before its headers, the transport's retry pauses): the wait raises
  :class:`~zenhire_async.WaitTimeout` at once, whatever the server does. A cut step keeps
  what its finished requests taught, so nothing the book recorded is left unreported.
* Ids that are UUIDs are kept and compared in canonical lower-case form
  (:mod:`zenhire_async._ids`), so a row always finds the session it belongs to.
* :class:`SessionWatch` (``sessions.watch``) sweeps in the iterating task itself: there is no
  background task to leak. It yields a row on every reported status change.
* :class:`SharedWatcher` coalesces ``await_completion`` calls: all of a client's waiters
  share one book, and one of them at a time *drives* the sweeps while the others sleep on
  their own event. When the driver's session finishes, or its caller cancels it, the role
  passes to another waiter. 1,000 concurrent waits cost what one watch of 1,000 ids costs,
  and cancelling one waiter disturbs nobody. Closing the client wakes every waiter. A
  session seen terminal on a list row still needs its detail (``await_completion`` returns
  a ``SessionDetail``): those fetches are queued and run by the driver as sweeps of their
  own (one batch of GETs each, before the next list sweep), paced and charged to the
  budget like every other poll. A new waiter wakes the sleeping driver only when that
  brings the next sweep sooner than the budget would anyway.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import NoReturn

import anyio

from ._clock import LoopWallClock
from ._ids import canonical_id
from ._poll_book import WatchBook, WatchState, restore
from ._poll_policy import OnStatus, check_wait_timeout
from ._poll_sweep import Sweeper, SweepResult, SweepRun
from .errors import LinkExpiredError, WaitTimeout
from .models import SessionDetail, SessionSummary

__all__ = ["SessionWatch", "SharedWatcher", "new_book"]


class SessionWatch:
    """``async for row in zh.sessions.watch(ids)``: every status change, until all are done.

    Yields the first observation of each session and every later change; a session still
    ``initiated`` when its link expires is yielded once more as it is and listed in
    :attr:`expired`. The iteration ends when every session is terminal or expired. With a
    ``timeout``, :class:`~zenhire_async.WaitTimeout` ends it, carrying in ``pending`` the last
    state of every unfinished session. :meth:`state` snapshots the watch for a later resume.
    """

    def __init__(
        self, sweeper: Sweeper, book: WatchBook, clock: LoopWallClock, timeout: float | None
    ) -> None:
        check_wait_timeout(timeout)
        self._sweeper = sweeper
        self._book = book
        self._clock = clock
        self._timeout = timeout
        self._deadline: float | None = None
        self._queue: deque[SessionSummary] = deque()
        self._expired: set[str] = set()
        self._run: SweepRun | None = None

    @property
    def expired(self) -> frozenset[str]:
        """Ids of the sessions that ended because their link expired unused."""
        return frozenset(self._expired)

    @property
    def pending(self) -> dict[str, SessionSummary | None]:
        """Each unfinished session's last seen state (``None`` before the first look)."""
        return {t.id: t.last for t in self._book.pending()}

    def state(self) -> WatchState:
        """A snapshot to save (``.to_json()``) and resume with ``sessions.watch(state)``."""
        return self._book.to_state()

    def __aiter__(self) -> SessionWatch:
        return self

    def _timed_out(self) -> NoReturn:
        if self._run is not None:
            self._run.abandon()
            self._run = None
        raise WaitTimeout(
            f"{len(self._book.pending())} session(s) still unfinished after {self._timeout:g}s",
            pending=self.pending,
        )

    async def __anext__(self) -> SessionSummary:
        self._sweeper.check_usable()
        if self._deadline is None and self._timeout is not None:
            self._deadline = anyio.current_time() + self._timeout
        while not self._queue:
            for entry in self._book.expire(self._clock.now()):
                self._expired.add(entry.id)
                if entry.last is not None:
                    self._queue.append(entry.last)
            if self._queue:
                break
            if self._deadline is not None and anyio.current_time() >= self._deadline:
                self._timed_out()
            if self._run is None:
                wake = self._sweeper.next_wake(self._book)
                if wake is None:
                    raise StopAsyncIteration
                if self._deadline is not None and wake > self._deadline:
                    await anyio.sleep_until(self._deadline)
                    self._timed_out()
                await anyio.sleep_until(wake)
                self._run = self._sweeper.begin(self._book)
                if self._run is None:
                    continue
            # Cut at the deadline (a stalled page, a retry's pause): what the step learnt
            # is yielded first, then the next call raises WaitTimeout. A step cut by our
            # caller keeps what it learnt in the run, for the next call.
            result = await self._run.step(self._deadline)
            if self._run.done:
                self._run = None
            self._queue.extend(result.changes)
            if result.errors:
                raise next(iter(result.errors.values()))
        return self._queue.popleft()


@dataclass(slots=True, eq=False)
class _Waiter:
    session_id: str
    event: anyio.Event = field(default_factory=anyio.Event)
    changes: list[SessionSummary] = field(default_factory=list)
    outcome: SessionDetail | BaseException | None = None

    def wake(self) -> None:
        self.event.set()

    async def sleep(self, until: float | None) -> None:
        if until is None:
            await self.event.wait()
        else:
            with anyio.move_on_after(max(0.0, until - anyio.current_time())):
                await self.event.wait()
        self.event = anyio.Event()

    @property
    def has_news(self) -> bool:
        return bool(self.changes) or self.outcome is not None


class SharedWatcher:
    """One book for all of a client's ``await_completion`` calls (see the module docstring)."""

    def __init__(self, sweeper: Sweeper, clock: LoopWallClock, book: WatchBook) -> None:
        self._sweeper = sweeper
        self._clock = clock
        self._book = book
        self._waiters: dict[str, list[_Waiter]] = {}
        # Sessions seen terminal on a list row, oldest first: their detail is fetched by
        # the sweeps, paced and charged like any poll, before the next list sweep.
        self._details: dict[str, SessionSummary] = {}
        self._driver: _Waiter | None = None
        self._successor: _Waiter | None = None  # woken to take over driving
        self._run: SweepRun | None = None  # a sweep a previous driver left half-way
        self._replan = anyio.Event()
        self._wake_at: float | None = None  # when the sleeping driver will sweep next
        self._closed = False

    def close(self) -> None:
        """Wake every waiter; they raise because the client is closed."""
        self._closed = True
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.wake()
        self._replan.set()

    async def wait(
        self,
        session_id: str,
        *,
        expires_at: datetime | None,
        timeout: float | None,
        on_status: OnStatus | None,
    ) -> SessionDetail:
        """Wait until ``session_id`` is terminal; return its detail.

        With a ``timeout``, raises :class:`~zenhire_async.WaitTimeout` at the deadline
        whatever the server does: the driving waiter cuts its sweep step there.
        """
        session_id = canonical_id(session_id)
        deadline = None if timeout is None else anyio.current_time() + timeout
        waiter = _Waiter(session_id)
        self._book.track(session_id, expires_at=expires_at, now=anyio.current_time())
        entry = self._book.tracked[session_id]
        self._waiters.setdefault(session_id, []).append(waiter)
        try:
            await self._joining(session_id)
            if entry.last is not None and not waiter.has_news:  # seen already
                waiter.changes.append(entry.last)
                if entry.done:
                    self._settle(entry.last, expired=entry.expired)
            if not waiter.has_news:
                self._poke_if_sooner()
            while True:
                while waiter.changes:
                    change = waiter.changes.pop(0)
                    if on_status is not None:
                        returned = on_status(change)
                        if returned is not None:
                            await returned
                if isinstance(waiter.outcome, BaseException):
                    raise waiter.outcome
                if waiter.outcome is not None:
                    return waiter.outcome
                if self._closed:
                    raise RuntimeError("the ZenHireClient was closed while waiting")
                if deadline is not None and anyio.current_time() >= deadline:
                    raise WaitTimeout(
                        f"session {session_id} finished ({entry.status}) but its detail could "
                        "not be fetched before the timeout"
                        if entry.done
                        else f"session {session_id} did not finish within {timeout:g}s",
                        last=entry.last,
                        pending={session_id: entry.last},
                    )
                if self._driver is None:
                    await self._drive(waiter, deadline)
                else:
                    await waiter.sleep(deadline)
        finally:
            if self._leave(waiter):
                await self._left(session_id)

    async def _joining(self, session_id: str) -> None:
        """A first waiter of ``session_id`` is about to wait (a fleet registers it)."""

    async def _left(self, session_id: str) -> None:
        """The last waiter of ``session_id`` has left (a fleet unregisters it)."""

    async def _tick(self, deadline: float | None) -> bool:
        """Once per turn of the drive loop: whether to go on to this turn's sweep."""
        return True

    def _cap(self, wake: float | None) -> float | None:
        """The latest time the sleeping driver wakes for its next :meth:`_tick`."""
        return wake

    def _settle(self, last: SessionSummary, *, expired: bool) -> None:
        """A session is done: hand its waiters the outcome, or queue its detail fetch."""
        waiters = self._waiters.get(last.id, [])
        outcome: SessionDetail | BaseException | None = None
        if expired:
            outcome = LinkExpiredError(
                f"session {last.id} is still initiated and its link has expired", session=last
            )
        elif isinstance(last, SessionDetail):
            outcome = last
        elif waiters:
            self._details.setdefault(last.id, last)
        if outcome is not None:
            self._details.pop(last.id, None)
            for waiter in waiters:
                waiter.outcome = outcome
                waiter.wake()

    def _poke(self) -> None:
        self._replan.set()
        self._replan = anyio.Event()

    def _poke_if_sooner(self) -> None:
        """Wake the sleeping driver to plan for a new session, unless it would be no sooner.

        The new session is due now, but nothing is sent before the budget allows: when
        the driver sleeps until then anyway, it need not replan (a ramp of waiters would
        otherwise make it rescan every pending session once per new waiter).
        """
        if self._wake_at is not None and self._sweeper.earliest() >= self._wake_at:
            return
        self._poke()

    def _leave(self, waiter: _Waiter) -> bool:
        """Take ``waiter`` out; whether it was its session's last one."""
        waiters = self._waiters.get(waiter.session_id, [])
        if waiter in waiters:
            waiters.remove(waiter)
        last = not waiters
        if last:
            self._waiters.pop(waiter.session_id, None)
            self._details.pop(waiter.session_id, None)
            self._book.untrack(waiter.session_id)
        if self._driver is waiter:
            self._driver = None
        if self._driver is None and self._successor in (None, waiter):
            self._elect(exclude=waiter)
        return last

    def _elect(self, *, exclude: _Waiter) -> None:
        """Wake one other waiter to take over the sweeps (it drives if nobody has since)."""
        self._successor = next(
            (w for ws in self._waiters.values() for w in ws if w is not exclude), None
        )
        if self._successor is not None:
            self._successor.wake()

    def _begin(self) -> SweepRun | None:
        if self._details:  # paced like any sweep: one batch of detail GETs per run
            batch = list(islice(self._details, 8))
            for session_id in batch:  # to the back: a stale answer does not hold up the rest
                self._details[session_id] = self._details.pop(session_id)
            return self._sweeper.begin_details(self._book, batch)
        return self._sweeper.begin(self._book)

    async def _drive(self, waiter: _Waiter, deadline: float | None) -> None:
        """Sweep for everyone until this waiter has news or reaches its deadline."""
        self._driver = waiter
        self._successor = None
        try:
            while True:
                for entry in self._book.expire(self._clock.now()):
                    if entry.last is not None:
                        self._deliver(entry.last, expired=True)
                sweep = await self._tick(deadline)
                if waiter.has_news or self._closed:
                    break
                if deadline is not None and anyio.current_time() >= deadline:
                    break
                if not sweep:
                    continue
                if self._run is None:
                    if self._details:
                        wake: float | None = self._sweeper.earliest()
                    else:
                        wake = self._sweeper.next_wake(self._book)
                    if deadline is not None and (wake is None or wake > deadline):
                        wake = deadline
                    wake = self._cap(wake)
                    replan = self._replan
                    self._wake_at = wake
                    with anyio.move_on_after(
                        math.inf if wake is None else max(0.0, wake - anyio.current_time())
                    ):
                        await replan.wait()
                        continue  # new sessions to plan for
                    self._wake_at = None
                    if deadline is not None and anyio.current_time() >= deadline:
                        continue  # ends the drive above, after a last look at expiries
                    self._run = self._begin()
                    if self._run is None:
                        continue
                run = self._run
                try:
                    self._absorb(await run.step(deadline))
                finally:
                    if run.done and self._run is run:
                        self._run = None
                    self._absorb(run.take())  # what a step cut by our caller learnt
        finally:
            self._wake_at = None
            self._driver = None
            self._elect(exclude=waiter)

    def _absorb(self, result: SweepResult) -> None:
        for change in result.changes:
            self._deliver(change, expired=False)
        for detail in result.details:
            if detail.id in self._details:
                self._settle(detail, expired=False)
        for session_id, error in result.errors.items():
            self._details.pop(session_id, None)
            for other in self._waiters.get(session_id, []):
                other.outcome = error
                other.wake()

    def _deliver(self, change: SessionSummary, *, expired: bool) -> None:
        entry = self._book.tracked.get(change.id)
        for waiter in self._waiters.get(change.id, []):
            if not expired:
                waiter.changes.append(change)
            waiter.wake()
        if entry is not None and entry.done:
            self._settle(change, expired=expired)


def new_book(
    ids: Iterable[str] | WatchState,
    *,
    known_expiry: Callable[[str], datetime | None],
    now: float,
) -> WatchBook:
    """A book tracking ``ids`` (or restored from a saved state)."""
    book = WatchBook(keep_final_rows=False)  # a watch has reported a finished session's row
    if isinstance(ids, WatchState):
        restore(book, ids, now)
        return book
    if isinstance(ids, str):
        raise TypeError("watch() takes a list of session ids, not a single string")
    for given in ids:
        session_id = canonical_id(given)
        expires_at = known_expiry(given) or known_expiry(session_id)
        book.track(session_id, expires_at=expires_at, now=now)
    return book
