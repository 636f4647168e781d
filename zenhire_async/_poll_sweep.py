"""Sweeps: refreshing a watch book through the client, one page or GET batch at a time.

Theory of operation. :class:`Sweeper` decides *when* (the book's next due time, the link
expiries, the polling budget, and backoff after a transient failure) and starts a
:class:`SweepRun` carrying out the book's plan: list pages over the creation window, then
GETs for what the list could not refresh, a page or a batch per :meth:`SweepRun.step`.
The client-wide :class:`~zenhire_async._poll_budget.PollBudget` keeps all polling
within ``polling_share`` of the request rate: every request a run sends (list page, GET, a
waiter's final detail GET) is charged to it as it is sent. A step takes a ``deadline`` and
is cut there, keeping what it learnt for :meth:`SweepRun.take`. A GET answer naming
another session, or none, is that session's error. A transient failure (network, 5xx,
429) ends a run early and delays the next by backoff or ``Retry-After``; the next sweep
reads the current state again, so nothing is lost.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import anyio
import msgspec

from . import _protocol as proto
from ._clock import LoopWallClock
from ._events_dispatch import EventDispatcher
from ._ids import canonical_id
from ._poll_book import PAGE_SIZE, GetPlan, ListPlan, WatchBook
from ._poll_budget import PollBudget
from ._retry import TRANSIENT_ERRORS, failure_backoff
from .errors import (
    DecodeError,
    NotFoundError,
    ZenHireError,
)
from .models import SessionDetail, SessionSummary
from .pagination import PageWalker

__all__ = ["SessionReader", "SweepResult", "SweepRun", "Sweeper"]

_MAX_GETS_AT_ONCE = 8


class SessionReader(Protocol):
    """What waiting reads sessions through (``client.sessions`` passes one in)."""

    @property
    def events(self) -> EventDispatcher | None:
        """Where status changes are reported (``None`` when no hook listens)."""
        ...

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when the client is closed or belongs to another loop."""
        ...

    async def get(self, session_id: str) -> SessionDetail:
        """One session (an answer naming another one is a ``DecodeError``)."""
        ...

    async def page(
        self, filters: proto.SessionFilters, limit: int, offset: int, cursor: str | None
    ) -> proto.PageResult[SessionSummary]:
        """One page of the session list, newest first."""
        ...


@dataclass(slots=True)
class SweepResult:
    """What one sweep learnt: reportable changes, per-session errors (unknown ids, answers
    naming another session), and every terminal detail a ``GET`` fetched."""

    changes: list[SessionSummary] = field(default_factory=list)
    errors: dict[str, ZenHireError] = field(default_factory=dict)
    details: list[SessionDetail] = field(default_factory=list)
    transient: ZenHireError | None = None


class Sweeper:
    """Starts sweeps for a book and keeps the polling budget and failure backoff."""

    def __init__(
        self, reader: SessionReader, budget: PollBudget, clock: LoopWallClock, rng: random.Random
    ) -> None:
        self.reader = reader
        self._budget = budget
        self._clock = clock
        self._rng = rng
        self._failures = 0
        self._retry_at = -math.inf

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when the client is closed or belongs to another loop."""
        self.reader.check_usable()

    def next_wake(self, book: WatchBook) -> float | None:
        """When the next sweep (or expiry) is due for ``book``; ``None``: nothing pending."""
        due = book.next_wake()
        if due is None:
            return None
        now = anyio.current_time()
        expiry = book.next_expiry()  # the book's heap: not a clock conversion per session
        if expiry is not None:
            due = min(due, self._clock.loop_time_of(expiry))
        return max(due, now + self._budget.delay(now), self._retry_at)

    def earliest(self) -> float:
        """The first time the budget and the failure backoff let any request go."""
        now = anyio.current_time()
        return max(now + self._budget.delay(now), self._retry_at)

    def begin(self, book: WatchBook) -> SweepRun | None:
        """Start the sweep that is due now (``None`` when nothing is due)."""
        started = anyio.current_time()
        plan = book.plan(started)
        return None if plan is None else SweepRun(self, book, plan)

    def begin_details(self, book: WatchBook, ids: list[str]) -> SweepRun:
        """Start a run fetching the detail of sessions seen terminal on a list row.

        At most one batch (:data:`_MAX_GETS_AT_ONCE`) per run, so that the budget paces
        detail fetches like any sweep instead of letting a thousand go at once.
        """
        return SweepRun(self, book, GetPlan(tuple(ids[:_MAX_GETS_AT_ONCE])))

    def _spend(self, requests: int) -> None:
        self._budget.spend(requests, anyio.current_time())

    def _finished(self, failure: ZenHireError | None) -> None:
        if failure is None:
            self._failures = 0
            return
        self._failures += 1
        self._retry_at = anyio.current_time() + failure_backoff(self._failures, failure)


class SweepRun:
    """One sweep in progress, advanced a page (or a batch of GETs) per :meth:`step`.

    Changes are handed out after every step, so a session is reported as soon as the page
    holding it arrives, not when the whole walk ends. A transient failure ends the run: the
    next sweep reads the current state again, so nothing is lost.

    Cancellation-safe: a step cut short (by its ``deadline`` or by the caller) keeps what its
    finished requests taught in the run, for :meth:`take` (the book has recorded it already,
    so it must not be dropped); GETs it did not get an answer for go back to the queue, and
    a list page is fetched again. Every request is charged to the polling budget when it is
    sent, answered or not.
    """

    def __init__(self, sweeper: Sweeper, book: WatchBook, plan: GetPlan | ListPlan) -> None:
        self._sweeper = sweeper
        self._book = book
        self.done = False
        self._plan = plan
        self._learnt = SweepResult()
        self._gets: deque[str] = deque(plan.ids if isinstance(plan, GetPlan) else ())
        self._walker: PageWalker[SessionSummary] | None = None
        self._seen: set[str] = set()
        self._unknown: set[str] = set()
        if isinstance(plan, ListPlan):
            self._unknown = {t.id for t in book.pending() if t.created_at is None}
            filters = proto.SessionFilters.build(
                created_after=plan.created_after, created_before=plan.created_before
            )
            reader = sweeper.reader

            async def fetch(offset: int, cursor: str | None) -> proto.PageResult[SessionSummary]:
                return await reader.page(filters, PAGE_SIZE, offset, cursor)

            self._walker = PageWalker(fetch, page_size=PAGE_SIZE)

    async def step(self, deadline: float | None = None) -> SweepResult:
        """Fetch the next page or batch of GETs and return what it taught.

        At ``deadline`` (loop time) the step is cut short: it returns what it learnt so far
        and the run goes on with the next step.
        """
        with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
            try:
                if self._walker is not None:
                    await self._list_step(self._walker)
                elif self._gets:
                    await self._get_step()
            except TRANSIENT_ERRORS as error:
                self._learnt.transient = error
        if self._learnt.transient is not None or (self._walker is None and not self._gets):
            self.abandon(self._learnt.transient)
        return self.take()

    def take(self) -> SweepResult:
        """What the run learnt since the last :meth:`step` or ``take`` (the rest of a cut step)."""
        learnt, self._learnt = self._learnt, SweepResult()
        return learnt

    def abandon(self, failure: ZenHireError | None = None) -> None:
        """End the run here."""
        if not self.done:
            self.done = True
            self._sweeper._finished(failure)

    async def _list_step(self, walker: PageWalker[SessionSummary]) -> None:
        self._sweeper._spend(1)
        tracked = self._book.tracked
        page = await walker.next_page()
        now = anyio.current_time()  # once per page, not per row
        for row in page:
            row_id = canonical_id(row.id)
            if row_id in tracked:
                self._seen.add(row_id)
                self._unknown.discard(row_id)
                self._note(row if row_id == row.id else _renamed(row, row_id), now)
        plan = self._plan
        assert isinstance(plan, ListPlan)
        found_all = plan.max_pages is not None and not self._unknown
        out_of_pages = plan.max_pages is not None and walker.pages >= plan.max_pages
        if walker.done or found_all or out_of_pages:
            if plan.max_pages is None:
                self._book.window_rows = walker.rows
            self._walker = None
            self._gets.extend(self._book.due_after_list(anyio.current_time(), self._seen, plan))

    async def _get_step(self) -> None:
        batch = [self._gets.popleft() for _ in range(min(_MAX_GETS_AT_ONCE, len(self._gets)))]
        self._sweeper._spend(len(batch))
        learnt = self._learnt
        answered: set[str] = set()
        failure: Exception | None = None

        async def one(session_id: str) -> None:
            nonlocal failure
            try:
                row = await self._sweeper.reader.get(session_id)
            except (NotFoundError, DecodeError) as error:
                # No such session, or an answer naming another one: this session's outcome.
                learnt.errors[session_id] = error
                self._book.untrack(session_id)
            except TRANSIENT_ERRORS as error:
                learnt.transient = error  # the others of the batch still count
            except Exception as error:
                # A 401, the client closed meanwhile: raised below as itself, not wrapped in
                # the task group's ExceptionGroup.
                if failure is None:
                    failure = error
            else:
                if row.id != session_id:  # the same session (checked by get), respelt
                    row = _renamed(row, session_id)
                if row.is_terminal:
                    learnt.details.append(row)
                self._note(row)
            answered.add(session_id)

        try:
            async with anyio.create_task_group() as tg:
                for session_id in batch:
                    tg.start_soon(one, session_id)
        finally:
            # Cut short: the ids without an answer are fetched by the next step.
            self._gets.extendleft(reversed([i for i in batch if i not in answered]))
        if failure is not None:
            raise failure

    def _note(self, row: SessionSummary, now: float | None = None) -> None:
        if now is None:
            now = anyio.current_time()
        entry = self._book.tracked.get(row.id)
        if entry is not None:
            entry.polls += 1
        old = entry.status if entry is not None else None
        since = entry.status_since if entry is not None else now
        change = self._book.observe(row, now, self._sweeper._rng.random())
        if change is not None:
            self._learnt.changes.append(change)
            events = self._sweeper.reader.events
            if events is not None and entry is not None:
                in_old = None if old is None else now - since
                events.status_changed(row.id, old, row.status, in_old, entry.polls)


RowT = TypeVar("RowT", bound=SessionSummary)


def _renamed(row: RowT, session_id: str) -> RowT:
    """``row`` carrying the canonical spelling of its id."""
    return msgspec.structs.replace(row, id=session_id)
