"""The watcher's pure planning: monotonic observations, list-or-GET choice, fallbacks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from zenhire_async import Page, SessionDetail, SessionSummary
from zenhire_async._clock import LoopWallClock
from zenhire_async._events_dispatch import EventDispatcher
from zenhire_async._poll_book import GetPlan, ListPlan, WatchBook, status_rank
from zenhire_async._poll_budget import PollBudget
from zenhire_async._poll_sweep import SessionReader, Sweeper, SweepRun
from zenhire_async._protocol import PageResult, SessionFilters
from zenhire_async._rate_limit import RateLimiter

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def row(i: int, status: str, minutes: int = 0) -> SessionSummary:
    return SessionSummary(id=f"s{i}", status=status, created_at=T0 + timedelta(minutes=minutes))


def test_status_rank_orders_the_lifecycle_and_places_unknowns_mid_way() -> None:
    assert status_rank("initiated") < status_rank("active") < status_rank("completed")
    assert status_rank("failed") == status_rank("completed")
    assert status_rank("paused_for_review") == status_rank("active")


def test_observe_reports_changes_once_and_ignores_regressions() -> None:
    book = WatchBook()
    book.track("s1", now=0)
    assert book.observe(row(1, "initiated"), 0, 0.5) is not None
    assert book.observe(row(1, "initiated"), 1, 0.5) is None
    assert book.observe(row(1, "active"), 2, 0.5) is not None
    assert book.observe(row(1, "initiated"), 3, 0.5) is None  # stale replica
    assert book.observe(row(1, "completed"), 4, 0.5) is not None
    assert book.observe(row(1, "failed"), 5, 0.5) is None  # terminal is final
    assert book.pending() == []
    assert book.observe(row(99, "active"), 5, 0.5) is None  # not watched


def test_a_lone_due_session_is_fetched_by_id_and_three_by_one_page() -> None:
    book = WatchBook()
    book.track("s0", now=0)
    book.observe(row(0, "active"), 0, 0.5)
    assert book.plan(now=1) is None  # nothing due yet
    plan = book.plan(now=10)
    assert isinstance(plan, GetPlan) and plan.ids == ("s0",)
    for i in (1, 2):
        book.track(f"s{i}", now=0)
        book.observe(row(i, "active"), 0, 0.5)
    assert isinstance(book.plan(now=10), ListPlan)  # one page beats three GETs


def _book_of_250_active() -> WatchBook:
    book = WatchBook()
    for i in range(250):
        book.track(f"s{i}", now=0)
        book.observe(row(i, "active", minutes=i % 30), 0, 0.5)
    return book


class _ListOnly:
    """A :class:`SessionReader` serving ``rows`` newest first, 100 a page; GETs are a bug."""

    def __init__(self, rows: list[SessionSummary]) -> None:
        self.rows = sorted(rows, key=lambda r: r.created_at, reverse=True)
        self.pages = 0
        self.events: EventDispatcher | None = None

    def check_usable(self) -> None:
        pass

    async def get(self, session_id: str) -> SessionDetail:
        raise AssertionError(f"a GET of {session_id} where the list pages covered it")

    async def page(
        self, filters: SessionFilters, limit: int, offset: int, cursor: str | None
    ) -> PageResult[SessionSummary]:
        self.pages += 1
        data = self.rows[offset : offset + limit]
        page = Page(data=data, offset=offset, has_more=offset + limit < len(self.rows))
        return PageResult(page, cursor_mode=False)


def test_many_due_sessions_are_swept_with_list_pages_over_their_window() -> None:
    book = _book_of_250_active()
    plan = book.plan(now=10)
    assert isinstance(plan, ListPlan)
    assert plan.max_pages is None
    # Creation times read from server rows: the window is exact (before is exclusive).
    assert plan.created_after == T0
    assert plan.created_before == T0 + timedelta(minutes=29, milliseconds=1)
    book.window_rows = 50_000  # the window turned out to be crowded with other sessions
    assert isinstance(book.plan(now=10), GetPlan)


def test_unknown_creation_times_start_with_a_bounded_discovery_walk() -> None:
    book = WatchBook()
    for i in range(1_000):
        book.track(f"s{i}", now=0)
    plan = book.plan(now=0)
    assert isinstance(plan, ListPlan)
    assert plan.created_after is None and plan.max_pages == 12


def test_a_session_the_list_did_not_show_falls_back_to_gets() -> None:
    book = WatchBook()
    for i in range(200):
        book.track(f"s{i}", now=0)
        book.observe(row(i, "active"), 0, 0.5)
    plan = book.plan(now=10)
    assert isinstance(plan, ListPlan)
    seen = {f"s{i}" for i in range(1, 200)}
    assert book.due_after_list(10, seen, plan) == ["s0"]
    assert not book.tracked["s0"].list_visible


def test_expiry_uses_the_known_link_lifetime_or_seven_days() -> None:
    book = WatchBook()
    book.track("s1", expires_at=T0 + timedelta(hours=1), now=0)
    book.track("s2", now=0)
    book.observe(row(1, "initiated"), 0, 0.5)
    book.observe(row(2, "initiated"), 0, 0.5)
    assert book.expire(T0 + timedelta(hours=2)) == [book.tracked["s1"]]
    assert [t.id for t in book.expire(T0 + timedelta(days=7))] == ["s2"]


def test_poll_budget_spaces_sweeps_by_their_cost() -> None:
    budget = PollBudget(per_minute=500, share=0.5)
    assert budget.delay(0) == 0
    budget.spend(25, started=0)
    assert budget.delay(0) == 6.0  # 25 requests at 250/min
    budget.spend(25, started=6)
    assert budget.delay(6) == 6.0


@pytest.mark.anyio
async def test_a_list_sweep_of_the_window_takes_one_page_per_100_rows() -> None:
    book = _book_of_250_active()
    plan = book.plan(now=10)
    assert isinstance(plan, ListPlan)
    reader = _ListOnly([t.last for t in book.tracked.values() if t.last is not None])
    typed: SessionReader = reader
    sweeper = Sweeper(typed, PollBudget(500, 0.5), LoopWallClock(), random.Random(0))
    run = SweepRun(sweeper, book, plan)
    while not run.done:
        await run.step()
    assert reader.pages == 3  # ceil(250 / 100), and no GET (the reader refuses them)


@pytest.mark.anyio
async def test_poll_budget_is_a_rate_limiter_on_the_loop_clock() -> None:
    budget: RateLimiter = PollBudget(per_minute=600, share=0.5)  # 5 requests/s
    start = anyio.current_time()
    assert await budget.acquire() == 0.0
    assert await budget.acquire(5, "batch") == pytest.approx(0.2)  # the first one's slot
    await budget.penalize(10.0)  # a 429: hold all polling for 10 s from now
    assert await budget.acquire() == pytest.approx(10.0)
    assert anyio.current_time() - start == pytest.approx(10.2)
    with anyio.move_on_after(0.1):  # cancelled while it waits: it spends nothing
        await budget.acquire()
    assert isinstance(budget, PollBudget)
    assert budget.delay(anyio.current_time()) == pytest.approx(0.1)
    await budget.penalize(-1.0)  # a negative hold is no hold, and never shortens one
    assert budget.delay(anyio.current_time()) == pytest.approx(0.1)


def test_a_window_estimated_from_link_expiry_gets_a_margin_for_clock_skew() -> None:
    book = WatchBook()
    expires = T0 + timedelta(days=7)
    for i in range(150):
        book.track(f"s{i}", expires_at=expires, now=0)
    plan = book.plan(now=0)
    assert isinstance(plan, ListPlan)
    assert plan.created_after is not None and plan.created_before is not None
    assert plan.created_after <= T0 - timedelta(minutes=5)
    assert plan.created_before >= T0 + timedelta(minutes=5)


def test_expiry_comes_from_the_heap_at_the_right_time_and_follows_a_later_known_expiry() -> None:
    book = WatchBook(keep_final_rows=False)
    for i in range(3):
        book.track(f"s{i}", now=0)
        book.observe(row(i, "initiated"), 0, 0.5)
    book.observe(row(2, "active"), 1, 0.5)  # moved on: its link no longer matters
    # A link expiry learnt later (from a journal) replaces the 7-day default.
    book.track("s1", expires_at=T0 + timedelta(days=1), now=1)
    assert book.next_expiry() == T0 + timedelta(days=1)
    assert book.expire(T0 + timedelta(hours=23)) == []
    expired = book.expire(T0 + timedelta(days=1))
    assert [(e.id, e.last is not None and e.last.id) for e in expired] == [("s1", "s1")]
    assert book.tracked["s1"].last is None  # the watch reported it; the book drops the row
    assert book.next_expiry() == T0 + timedelta(days=7)
    assert [e.id for e in book.expire(T0 + timedelta(days=8))] == ["s0"]
    assert book.next_expiry() is None and book.expire(T0 + timedelta(days=30)) == []
    state = {s.id: (s.status, s.expired) for s in book.to_state().sessions}
    assert state == {"s0": ("initiated", True), "s1": ("initiated", True), "s2": ("active", False)}


def test_a_watch_book_drops_the_row_of_a_finished_session_and_a_shared_one_keeps_it() -> None:
    for keep in (False, True):
        book = WatchBook(keep_final_rows=keep)
        book.track("s1", now=0)
        assert book.observe(row(1, "completed"), 0, 0.5) is not None
        assert (book.tracked["s1"].last is not None) is keep
        assert book.tracked["s1"].status == "completed"
