"""The shared watcher across processes: ``await_completion`` on one key, one leader's sweeps.

Theory of operation. With a coordinator (``ZenHireClient(coordinator=...)``), a client's
:class:`~zenhire_async._poll_watch.SharedWatcher` is a :class:`FleetWatcher` that meets the
watchers of every other process on its key through a
:class:`~zenhire_async._coordination.WatchChannel`:

* Each waiter registers its session (``join``, with a lease renewed every ``LEASE / 3``;
  waiters arriving together share one call) and reads the latest published row of it
  before anything else.
* Whichever waiter drives (the :class:`SharedWatcher` rule: one per client at a time, no
  task of its own) first tries the leader's lock, at most once a second. The **leader**
  tracks every registered session in its book and runs the existing sweeps for all of them;
  each change they find is published (status hash and stream) before the driver stops. A
  **follower** sweeps nothing: it blocks on the stream (bounded, :data:`FOLLOW_BLOCK`) from
  the id its first ``join`` read, and feeds each row to its book, where statuses only move
  forward. Both fetch the terminal detail of their own sessions (published rows carry the
  status and times only), paced like any poll.
* The channel answering ``None`` (Redis down or slow) makes the watcher **local**: it sweeps
  its own sessions as without a coordinator, and asks the channel again at the next turn;
  the first answer puts it back on the fleet (re-registering and re-reading every session).
* Losing the lock, or the last local waiter leaving (which resigns it), ends leadership;
  the process that gains or loses it emits ``LeaderChanged``. A leader that dies holds the
  lock until its TTL; the next leader re-sweeps every registered session, so no change is
  lost. Cancelling a waiter unregisters its session (shielded, bounded by the channel).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import anyio

from . import _protocol as proto
from ._clock import LoopWallClock
from ._coordination import WatchChannel
from ._ids import canonical_id
from ._poll_book import WatchBook
from ._poll_sweep import Sweeper, SweepResult, SweepRun
from ._poll_watch import SharedWatcher
from ._redis_watch_lua import LEASE, decode_row, encode_row

__all__ = ["FOLLOW_BLOCK", "LEAD_EVERY", "FleetWatcher"]

LEAD_EVERY = 1.0
"""Seconds between two attempts at the lock (and the leader's extensions of it)."""

FOLLOW_BLOCK = 0.5
"""Longest wait of one stream read (well within the Redis client's socket timeout)."""

_LEAVE_TIMEOUT = 2.0  # a cancelled waiter's unregistration, at most

Mode = Literal["local", "follower", "leader"]


class FleetWatcher(SharedWatcher):
    """A :class:`SharedWatcher` whose sweeps one leader runs for the key's whole fleet."""

    def __init__(
        self, sweeper: Sweeper, clock: LoopWallClock, book: WatchBook, channel: WatchChannel
    ) -> None:
        super().__init__(sweeper, clock, book)
        self._channel = channel
        self.mode: Mode = "local"
        self._next_lead = -float("inf")
        self._next_registry = -float("inf")
        self._next_renew = float("inf")
        self._remote: set[str] = set()  # tracked for other processes while leading
        self._refused: set[str] = set()  # registered ids that are not sessions
        self._outbox: list[tuple[str, bytes]] = []
        self._to_join: set[str] = set()
        self._join_lock = anyio.Lock()

    # -- waiters --------------------------------------------------------------------------

    async def _joining(self, session_id: str) -> None:
        """Register ``session_id`` with every other new one: one ``join`` per batch of
        waiters arriving together, not one round trip each."""
        self._to_join.add(session_id)
        async with self._join_lock:
            if session_id not in self._to_join:
                return  # registered by the batch of a waiter before this one
            batch, self._to_join = self._to_join, set()
            try:
                rows = await self._channel.join(sorted(batch))
            except BaseException:  # cancelled: the next waiter registers them
                self._to_join |= batch
                raise
        if rows is not None:
            self._apply(row for row in rows if row is not None)
            if self._next_renew == float("inf"):
                self._next_renew = anyio.current_time() + LEASE / 3

    async def _left(self, session_id: str) -> None:
        self._to_join.discard(session_id)  # a batch its cancelled joiner gave back
        with anyio.CancelScope(shield=True), anyio.move_on_after(_LEAVE_TIMEOUT):
            await self._channel.leave([session_id])
            if not self._waiters and self.mode == "leader":
                await self._channel.resign()
                self._set_mode("local")

    # -- the drive loop's turns -----------------------------------------------------------

    def _cap(self, wake: float | None) -> float | None:
        if self.mode == "follower" and not self._details:
            return anyio.current_time()
        tick = self._next_lead
        return tick if wake is None else min(wake, tick)

    async def _tick(self, deadline: float | None) -> bool:
        now = anyio.current_time()
        if now >= self._next_lead:
            self._next_lead = now + LEAD_EVERY
            leading = await self._channel.lead()
            self._set_mode("local" if leading is None else "leader" if leading else "follower")
        if self.mode != "local" and now >= self._next_renew and not await self._renew():
            self._set_mode("local")
        if self.mode == "leader":
            await self._lead(now)
        elif self.mode == "follower":
            return await self._follow(deadline)
        return True

    async def _renew(self) -> bool:
        """Register every local session again (a lease renewal) and read its latest row."""
        ids = list(self._waiters)
        self._next_renew = anyio.current_time() + LEASE / 3
        rows = await self._channel.join(ids)
        if rows is None:
            return False
        self._apply(row for row in rows if row is not None)
        return True

    async def _lead(self, now: float) -> None:
        if self._outbox:
            rows, self._outbox = self._outbox, []
            if not await self._channel.publish(rows):
                self._set_mode("local")  # the next leader re-sweeps: nothing is lost
                return
        if now >= self._next_registry:
            self._next_registry = now + LEAD_EVERY
            registered = await self._channel.registered()
            if registered is None:
                self._set_mode("local")
                return
            self._track_fleet(registered, now)

    async def _follow(self, deadline: float | None) -> bool:
        now = anyio.current_time()
        if self._details and self._sweeper.earliest() <= now:
            return True  # a detail fetch is due: sweep it
        until = min(self._next_lead, self._sweeper.earliest() if self._details else now + 1)
        if deadline is not None:
            until = min(until, deadline)
        rows = await self._channel.follow(min(FOLLOW_BLOCK, max(0.001, until - now)))
        if rows is None:
            self._set_mode("local")
            return True
        self._apply(rows)
        return bool(self._details) and self._sweeper.earliest() <= anyio.current_time()

    # -- leadership -----------------------------------------------------------------------

    def _set_mode(self, mode: Mode) -> None:
        old, self.mode = self.mode, mode
        if old == mode:
            return
        if old == "local":
            self._next_renew = -float("inf")  # back on the fleet: register everything again
        if old == "leader":
            for session_id in self._remote:
                if not self._waiters.get(session_id):
                    self._book.untrack(session_id)
            self._remote.clear()
            self._outbox.clear()
        if mode == "leader":
            self._next_registry = -float("inf")
        if "leader" in (old, mode):
            events = self._sweeper.reader.events
            if events is not None:
                events.leader_changed(mode == "leader")

    def _track_fleet(self, registered: set[str], now: float) -> None:
        """Track every session the fleet registered; drop those no longer registered."""
        for session_id in registered - self._book.tracked.keys() - self._refused:
            try:
                proto.get_session(session_id)
            except ValueError:  # not a session id: written by something else
                self._refused.add(session_id)
                continue
            self._book.track(session_id, now=now)
            self._remote.add(session_id)
        for session_id in self._remote - registered:
            if not self._waiters.get(session_id):
                self._book.untrack(session_id)
                self._remote.discard(session_id)

    def _begin(self) -> SweepRun | None:
        if self.mode == "follower" and not self._details:
            return None  # the leader sweeps
        return super()._begin()

    def _absorb(self, result: SweepResult) -> None:
        super()._absorb(result)
        if self.mode == "leader":
            self._outbox += [(change.id, encode_row(change)) for change in result.changes]
        for session_id in result.errors:  # unknown to the server: never swept again
            if session_id in self._remote:
                self._refused.add(session_id)
                self._remote.discard(session_id)

    def _apply(self, rows: Iterable[bytes]) -> None:
        """Feed published rows to the book; deliver what is news (forward moves only)."""
        now = anyio.current_time()
        events = self._sweeper.reader.events
        for value in rows:
            row = decode_row(value)
            if row is None:
                continue
            session_id = canonical_id(row.id)
            entry = self._book.tracked.get(session_id)
            if entry is None or session_id != row.id or not self._waiters.get(session_id):
                continue
            old, since = entry.status, entry.status_since
            change = self._book.observe(row, now, self._sweeper._rng.random())
            if change is not None:
                if events is not None:
                    in_old = None if old is None else now - since
                    events.status_changed(session_id, old, row.status, in_old, entry.polls)
                self._deliver(change, expired=False)
