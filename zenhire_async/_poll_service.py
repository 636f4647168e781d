"""The waiting collaborator: one per client, behind ``sessions.await_completion`` and ``watch``.

Theory of operation. :class:`Waiting` owns what every wait of a client shares: the
:class:`~zenhire_async._poll_budget.PollBudget`, the jitter source of the cadence, the link
expiries of the sessions the client created last (an exact expiry and a known creation
window for the watch book), and the :class:`~zenhire_async._poll_watch.SharedWatcher` that
batches every ``await_completion``. It reads sessions only through a
:class:`~zenhire_async._poll_sweep.SessionReader` (get one, list a page, is the client
usable), so it never imports the resource that exposes it. A client made by
``with_options`` gets a :meth:`Waiting.derive` that reads through its own options and
shares the rest with its home: its ``watch`` polls with its options, its
``await_completion`` joins the home's shared watcher (which polls with the home's). With a
coordinator's :class:`~zenhire_async._coordination.WatchChannel`, the shared watcher is a
:class:`~zenhire_async._poll_fleet.FleetWatcher`: one leader sweeps for every process.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

import anyio

from . import _protocol as proto
from ._clock import LoopWallClock
from ._coordination import WatchChannel
from ._ids import canonical_id
from ._poll_book import WatchBook, WatchState
from ._poll_budget import PollBudget
from ._poll_fleet import FleetWatcher
from ._poll_policy import OnStatus, check_wait_timeout
from ._poll_sweep import SessionReader, Sweeper
from ._poll_watch import SessionWatch, SharedWatcher, new_book
from ._validation import require_id
from .models import SessionDetail

__all__ = ["Waiting"]

# Link lifetimes of the sessions this client created last, for ``await_completion`` and
# ``watch`` (exact expiry, and a known creation window). Bounded so that a 100,000-row bulk
# invite does not keep them all: older ones are found by a bounded list walk instead.
_KNOWN_EXPIRIES_MAX = 2_000


def _now() -> float:
    try:
        return anyio.current_time()
    except RuntimeError:  # watch() built outside a running loop: start from zero
        return 0.0


class Waiting:
    """A client's waits: the poll budget, link expiries, jitter and the shared watcher."""

    def __init__(
        self,
        reader: SessionReader,
        budget: PollBudget,
        clock: LoopWallClock,
        *,
        home: Waiting | None = None,
        channel: WatchChannel | None = None,
    ) -> None:
        self._reader = reader
        self.budget = budget
        self._clock = clock
        self._home: Waiting = self if home is None else home
        self._rng: random.Random = random.Random() if home is None else home._rng
        self._expiries: OrderedDict[str, datetime] = (
            OrderedDict() if home is None else home._expiries
        )
        self._shared_watcher: SharedWatcher | None = None
        self._channel: WatchChannel | None = channel if home is None else home._channel

    def derive(self, reader: SessionReader) -> Waiting:
        """Waits reading through ``reader`` that share this client's state (``with_options``)."""
        return Waiting(reader, self.budget, self._clock, home=self._home)

    @property
    def shared(self) -> SharedWatcher | None:
        """The watcher of every ``await_completion`` of this client and its derived ones."""
        return self._home._shared_watcher

    def remember_link(self, session_id: str, expires_at: datetime) -> None:
        """Record when a created session's link expires (the newest few thousand are kept)."""
        self._expiries[session_id] = expires_at
        while len(self._expiries) > _KNOWN_EXPIRIES_MAX:
            self._expiries.popitem(last=False)

    def link_expiry(self, session_id: str) -> datetime | None:
        """When the link of a session this client created expires, if still remembered."""
        return self._expiries.get(session_id) or self._expiries.get(canonical_id(session_id))

    async def await_completion(
        self, session_id: str, *, timeout: float | None, on_status: OnStatus | None
    ) -> SessionDetail:
        """``sessions.await_completion``: arguments checked before any shared state."""
        proto.get_session(session_id)  # validate the id before waiting
        check_wait_timeout(timeout)
        self._reader.check_usable()  # closed, or another loop: before any shared state
        home = self._home
        if home._shared_watcher is None:
            sweeper, book = home._sweeper(), WatchBook()
            home._shared_watcher = (
                SharedWatcher(sweeper, self._clock, book)
                if home._channel is None
                else FleetWatcher(sweeper, self._clock, book, home._channel)
            )
        expires_at = self.link_expiry(session_id)
        return await home._shared_watcher.wait(
            session_id, expires_at=expires_at, timeout=timeout, on_status=on_status
        )

    def watch(
        self, session_ids: Iterable[str] | WatchState, *, timeout: float | None
    ) -> SessionWatch:
        """``sessions.watch``: a watch of ``session_ids`` polling through this reader."""
        if not isinstance(session_ids, WatchState | str):  # a str: new_book's TypeError
            session_ids = [require_id("session_id", sid) for sid in session_ids]
        book = new_book(session_ids, known_expiry=self._expiries.get, now=_now())
        return SessionWatch(self._sweeper(), book, self._clock, timeout)

    def _sweeper(self) -> Sweeper:
        """A sweeper reading through this reader, on the client's budget and jitter."""
        return Sweeper(self._reader, self.budget, self._clock, self._rng)

    def close(self) -> None:
        """Wake every waiter of the shared watcher: the client is closing."""
        if self._home._shared_watcher is not None:
            self._home._shared_watcher.close()
