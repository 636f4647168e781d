"""What a watcher knows about the sessions it watches, and what it should fetch next. Pure.

Theory of operation. Each watched session is a :class:`Tracked` entry: its last reported
state, when it entered that status, when its link expires, when it is next due for a look,
and whether the list endpoint can see it. :meth:`WatchBook.observe` takes any row the
sweeper fetched and decides whether it is news:

* statuses only move forward (``initiated`` < ``active`` < terminal; an unknown status
  ranks with ``active``): a stale replica answering ``active`` after ``completed`` is
  ignored, a jump from ``initiated`` straight to a terminal status is reported as it is;
* a terminal status is final: the entry is done and is never reported again.

:meth:`WatchBook.plan` picks the cheaper way to refresh what is due: one ``GET`` per due
session, or list pages over the creation window of everything pending
(``ceil(rows in window / 100)`` requests refresh them all). The window's row count is learnt
from the previous list sweep, so unrelated sessions created in the same window make the
list look as expensive as it is. Sessions whose creation time is unknown are found with a
bounded newest-first walk when there are many, with GETs when there are few.

The book is serialisable (:class:`WatchState`), so a restarted batch job resumes waiting
where it stopped.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from ._datetimes import shift
from ._poll_policy import PollCadence
from .models import DEFAULT_LINK_LIFETIME, TERMINAL_STATUSES, SessionStatus, SessionSummary

__all__ = ["GetPlan", "ListPlan", "Tracked", "WatchBook", "WatchState", "status_rank"]

PAGE_SIZE = 100
# Slack around a creation window estimated from the client's clock (server and client
# clocks differ a little); none is needed once every time in it comes from server rows,
# beyond the millisecond that makes the exclusive ``created_before`` include the newest.
WINDOW_MARGIN = timedelta(minutes=10)
EXACT_MARGIN = timedelta(milliseconds=1)
# A session due within this many seconds is refreshed with the current sweep.
COALESCE_SECONDS = 2.0

_RANKS: dict[str, int] = {SessionStatus.INITIATED: 0, SessionStatus.ACTIVE: 1}
# One shared string per status (rows decode a fresh one each), and one shared 0.0.
_STATUSES: dict[str, str] = {str(s): str(s) for s in SessionStatus}
_ZERO = 0.0


def status_rank(status: str) -> int:
    """Order of statuses along the lifecycle; terminal statuses rank last."""
    if status in TERMINAL_STATUSES:
        return 2
    return _RANKS.get(status, 1)


@dataclass(slots=True)
class Tracked:
    """One watched session (slots only: a watch of 100,000 sessions keeps 100,000 of these).

    ``last`` is the last row received while the session is pending; a book that does not
    keep final rows (``sessions.watch``) drops it once the session is done, keeping only
    what a saved state needs.
    """

    id: str
    last: SessionSummary | None = None
    created_at: datetime | None = None
    created_exact: bool = False  # created_at read from a server row, not estimated
    expires_at: datetime | None = None
    status_since: float = 0.0
    next_due: float = 0.0
    list_visible: bool = True
    done: bool = False
    expired: bool = False
    polls: int = 0  # fetches that read its state (a GET, or a list page holding it)
    status: str | None = None
    """The last reported status, or ``None`` before the first observation."""

    def link_expiry(self) -> datetime | None:
        """When the unused link expires (``None`` before the first observation)."""
        if self.expires_at is not None:
            return self.expires_at
        if self.created_at is None or not self.created_exact:
            return None
        return shift(self.created_at, DEFAULT_LINK_LIFETIME)  # clamped: year 9999 stays 9999


@dataclass(frozen=True, slots=True)
class GetPlan:
    """Refresh these sessions with one ``GET /sessions/{id}`` each."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListPlan:
    """Refresh every pending session by walking ``GET /sessions`` over a creation window.

    ``created_after``/``created_before`` of ``None`` walk from the newest row; ``max_pages``
    bounds a discovery walk (``None``: to the end of the window).
    """

    created_after: datetime | None
    created_before: datetime | None
    max_pages: int | None = None


class _SessionState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str | None = None
    created_at: datetime | None = None
    created_exact: bool = False
    expires_at: datetime | None = None
    expired: bool = False


class WatchState(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of a watch, to save as JSON and resume in another process."""

    version: int = 1
    sessions: list[_SessionState] = msgspec.field(default_factory=list)

    @classmethod
    def for_links(cls, expiries: Mapping[str, datetime | None]) -> WatchState:
        """A fresh watch of sessions whose links' expiry times are known.

        ``expiries`` maps session id to its link's ``expires_at`` (``None`` when unknown),
        e.g. from the ``created`` records of a bulk-invite journal: ``watch`` then ends an
        unused session when *its* link expires, not 7 days after its creation.
        """
        return cls(sessions=[_SessionState(id=i, expires_at=at) for i, at in expiries.items()])

    def to_json(self) -> bytes:
        """Encode as JSON bytes."""
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> WatchState:
        """Decode a snapshot written by :meth:`to_json` (``ValueError`` if it is not one)."""
        try:
            return msgspec.json.decode(data, type=cls)
        except msgspec.MsgspecError as exc:
            raise ValueError(f"not a saved watch state: {exc}") from exc


@dataclass(slots=True)
class WatchBook:
    """The tracked sessions and the statistics that plan the next sweep.

    ``keep_final_rows=False`` drops a session's row once it is done (terminal or expired):
    a watch that has reported it needs only its status for :meth:`to_state`. Link expiries
    of observed ``initiated`` sessions are kept in a heap, so :meth:`expire` (called after
    every page) costs nothing until one is due.
    """

    cadence: PollCadence = field(default_factory=PollCadence)
    tracked: dict[str, Tracked] = field(default_factory=dict)
    window_rows: int | None = None  # rows seen in the last full list sweep of the window
    keep_final_rows: bool = True
    _expiries: list[tuple[datetime, str]] = field(default_factory=list)

    # -- membership ---------------------------------------------------------------------

    def track(self, session_id: str, *, expires_at: datetime | None = None, now: float) -> None:
        """Start watching ``session_id`` (a no-op if it is watched already)."""
        entry = self.tracked.get(session_id)
        if entry is None:
            created = expires_at - DEFAULT_LINK_LIFETIME if expires_at is not None else None
            entry = Tracked(session_id, created_at=created, expires_at=expires_at)
            entry.status_since = entry.next_due = now
            self.tracked[session_id] = entry
        elif expires_at is not None and entry.expires_at is None:
            entry.expires_at = expires_at
            self._push_expiry(entry)

    def untrack(self, session_id: str) -> None:
        """Stop watching ``session_id``."""
        self.tracked.pop(session_id, None)

    def pending(self) -> list[Tracked]:
        """The sessions not yet terminal or expired."""
        return [t for t in self.tracked.values() if not t.done]

    # -- observations ------------------------------------------------------------------

    def observe(self, row: SessionSummary, now: float, rand: float) -> SessionSummary | None:
        """Record a fetched row; return it when it is a status change to report."""
        entry = self.tracked.get(row.id)
        if entry is None or entry.done:
            return None
        moved = not entry.created_exact or entry.created_at != row.created_at
        entry.created_at = row.created_at
        entry.created_exact = True
        previous = entry.status
        status = _STATUSES.get(row.status, row.status)
        if previous is not None and (
            status == previous or status_rank(status) < status_rank(previous)
        ):
            if status == previous:
                entry.last = row
                if moved:  # the link expiry follows the creation time
                    self._push_expiry(entry)
            self._schedule(entry, now, rand)
            return None
        entry.last = row
        entry.status = status
        entry.status_since = now
        if status in TERMINAL_STATUSES:
            self._finish(entry)
            return row
        self._schedule(entry, now, rand)
        if previous is None or moved:
            self._push_expiry(entry)
        return row

    def _finish(self, entry: Tracked) -> None:
        entry.done = True
        entry.status_since = entry.next_due = _ZERO
        if not self.keep_final_rows:
            entry.last = None

    def _schedule(self, entry: Tracked, now: float, rand: float) -> None:
        status = entry.status or SessionStatus.INITIATED
        entry.next_due = now + self.cadence.delay(status, now - entry.status_since, rand)

    def _push_expiry(self, entry: Tracked) -> None:
        if entry.last is None or entry.status != SessionStatus.INITIATED:
            return
        expiry = entry.link_expiry()
        if expiry is not None:
            heapq.heappush(self._expiries, (expiry, entry.id))

    def not_seen(self, session_id: str) -> None:
        """A list sweep covering this session's window did not return it: use GETs for it."""
        entry = self.tracked.get(session_id)
        if entry is not None:
            entry.list_visible = False

    def _live_expiry(self, expiry: datetime, session_id: str) -> Tracked | None:
        """The entry a heap item stands for, if the item is still current."""
        entry = self.tracked.get(session_id)
        if (
            entry is None
            or entry.done
            or entry.last is None
            or entry.status != SessionStatus.INITIATED
            or entry.link_expiry() != expiry
        ):
            return None
        return entry

    def expire(self, wall_now: datetime) -> list[Tracked]:
        """Mark and return the pending sessions still ``initiated`` after their link expired.

        Each returned entry carries its last row in ``last`` (a copy, when the book does not
        keep final rows). Costs one heap look when none is due.
        """
        expired = []
        heap = self._expiries
        while heap and heap[0][0] <= wall_now:
            expiry, session_id = heapq.heappop(heap)
            entry = self._live_expiry(expiry, session_id)
            if entry is None:
                continue  # stale: the session moved on, was untracked, or its expiry changed
            entry.expired = True
            if self.keep_final_rows:
                self._finish(entry)
                expired.append(entry)
            else:
                snapshot = Tracked(entry.id, entry.last, done=True, expired=True)
                snapshot.status = entry.status
                self._finish(entry)
                expired.append(snapshot)
        return expired

    def next_expiry(self) -> datetime | None:
        """The earliest link expiry of a pending ``initiated`` session (``None``: none)."""
        heap = self._expiries
        while heap and self._live_expiry(*heap[0]) is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def next_wake(self) -> float | None:
        """When the earliest pending session is due (``None`` when nothing is pending)."""
        dues = [t.next_due for t in self.tracked.values() if not t.done]
        return min(dues) if dues else None

    # -- planning ------------------------------------------------------------------------

    def plan(self, now: float) -> GetPlan | ListPlan | None:
        """The cheaper way to refresh what is due at ``now`` (``None``: nothing is due)."""
        pending = self.pending()
        if len(self._expiries) > 2 * len(pending) + 64:  # mostly stale items: rebuild
            self._expiries = []
            for entry in pending:
                self._push_expiry(entry)
        due = [t for t in pending if t.next_due <= now + COALESCE_SECONDS]
        if not due:
            return None
        unknown = [t for t in due if t.created_at is None and t.list_visible]
        if len(unknown) > PAGE_SIZE:
            pages = math.ceil(len(unknown) / PAGE_SIZE) + 2
            return ListPlan(None, None, max_pages=pages)
        listable = [t for t in pending if t.list_visible and t.created_at is not None]
        window = _window(listable)
        if window is None:
            return GetPlan(tuple(t.id for t in due))
        rows = max(self.window_rows or 0, len(listable))
        pages = max(1, math.ceil(rows / PAGE_SIZE))
        gets_instead = [t for t in due if not t.list_visible or t.created_at is None]
        if pages + len(gets_instead) < len(due):
            return ListPlan(window[0], window[1])
        return GetPlan(tuple(t.id for t in due))

    def due_after_list(self, now: float, seen: set[str], plan: ListPlan) -> list[str]:
        """After a list sweep: the due sessions it could not have refreshed (GET those)."""
        result = []
        for entry in self.pending():
            if entry.id in seen:
                continue
            covered = (
                plan.max_pages is None
                and entry.created_at is not None
                and (plan.created_after is None or entry.created_at >= plan.created_after)
                and (plan.created_before is None or entry.created_at < plan.created_before)
            )
            if covered:
                self.not_seen(entry.id)
            due = entry.next_due <= now + COALESCE_SECONDS
            if due and (covered or not entry.list_visible or plan.max_pages is not None):
                result.append(entry.id)
        return result

    # -- persistence -----------------------------------------------------------------------

    def to_state(self) -> WatchState:
        """A serialisable snapshot of every tracked session."""
        return WatchState(
            sessions=[
                _SessionState(
                    id=t.id,
                    status=t.status,
                    created_at=t.created_at,
                    created_exact=t.created_exact,
                    expires_at=t.expires_at,
                    expired=t.expired,
                )
                for t in self.tracked.values()
            ]
        )


def _window(entries: Iterable[Tracked]) -> tuple[datetime, datetime] | None:
    times = [t.created_at for t in entries if t.created_at is not None]
    if not times:
        return None
    exact = all(t.created_exact for t in entries if t.created_at is not None)
    after = shift(min(times), -(timedelta(0) if exact else WINDOW_MARGIN))
    return after, shift(max(times), EXACT_MARGIN if exact else WINDOW_MARGIN)


def restore(book: WatchBook, state: WatchState, now: float) -> None:
    """Load a saved snapshot into ``book``; terminal and expired sessions stay done."""
    for saved in state.sessions:
        book.track(saved.id, expires_at=saved.expires_at, now=now)
        entry = book.tracked[saved.id]
        if saved.created_at is not None:
            entry.created_at = saved.created_at
            entry.created_exact = saved.created_exact
        if saved.expired or (saved.status is not None and saved.status in TERMINAL_STATUSES):
            entry.status = saved.status
            entry.expired = saved.expired
            book._finish(entry)
