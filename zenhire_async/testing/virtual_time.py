"""An asyncio event loop whose clock jumps forward whenever the loop is idle.

Theory of operation
-------------------
This is the asyncio twin of trio's ``MockClock(autojump_threshold=0)``.
``loop.time()`` returns the real monotonic clock plus a *virtual offset*. The loop's
selector is wrapped: every ``select(timeout)`` first polls the real selector with a zero
timeout. If a file descriptor is ready, its events are returned at once. If nothing is
ready and the loop has no timer (``timeout is None``), the wrapper blocks for real. If
nothing is ready but a timer is pending, the loop is idle: nothing can happen before that
timer, so the wrapper adds ``timeout`` to the offset and returns no events — the next
timer is then due and runs immediately. ``await asyncio.sleep(3600)`` thus returns in
microseconds while ``loop.time()`` advances by an hour.

Client and server run in the same loop over loopback sockets, so "no ready callback and no
ready socket" means truly idle: a byte in flight on loopback is already readable when the
zero-timeout poll runs. The one thing the loop cannot see is work in another thread; jobs
started with ``loop.run_in_executor`` (which includes ``loop.getaddrinfo``) are counted,
and while any is outstanding the wrapper waits for real instead of jumping. Work handed to
other threads by other means (for example ``anyio.to_thread``) is not seen: a pending timer
may fire before such a thread answers.

Use it with ``asyncio.run(main(), loop_factory=...)`` (3.12+), ``asyncio.Runner``,
``anyio.run(main, backend="asyncio", backend_options={"loop_factory": ...})`` or the anyio
pytest plugin (an ``anyio_backend`` fixture returning
``("asyncio", {"loop_factory": virtual_time_loop_factory})``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["VirtualTimeEventLoop", "virtual_time_loop_factory"]

_T = TypeVar("_T")


class _AutojumpSelector(selectors.BaseSelector):
    """A selector that turns an idle wait with a timeout into a jump of virtual time."""

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner
        self.offset = 0.0
        self.threads_pending = 0

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        """Delegate to the real selector."""
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        """Delegate to the real selector."""
        return self._inner.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        """Delegate to the real selector."""
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Poll; when idle with a timer pending, jump the clock instead of sleeping."""
        ready = self._inner.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None or self.threads_pending:
            return self._inner.select(timeout)
        self.offset += timeout
        return []

    def close(self) -> None:
        """Close the real selector."""
        self._inner.close()

    def get_key(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        """Delegate to the real selector."""
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        """Delegate to the real selector."""
        return self._inner.get_map()


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop on an autojumping virtual clock (see the module docstring).

    ``time()`` is real monotonic time plus :attr:`virtual_offset`; timers, ``sleep`` and
    timeouts all follow it. :meth:`advance` moves the clock by hand.
    """

    def __init__(self) -> None:
        self._autojump = _AutojumpSelector(selectors.DefaultSelector())
        super().__init__(self._autojump)

    @property
    def virtual_offset(self) -> float:
        """Seconds of virtual time added to the real monotonic clock so far."""
        return self._autojump.offset

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("virtual time cannot go backwards")
        self._autojump.offset += seconds

    def time(self) -> float:
        """Real monotonic time plus the virtual offset."""
        return time.monotonic() + self._autojump.offset

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> asyncio.Future[_T]:
        """Run ``func`` in a thread; the clock does not jump while the job is pending."""
        fut = super().run_in_executor(executor, func, *args)
        self._autojump.threads_pending += 1

        def _done(_: asyncio.Future[_T]) -> None:
            self._autojump.threads_pending -= 1

        fut.add_done_callback(_done)
        return fut


def virtual_time_loop_factory() -> asyncio.AbstractEventLoop:
    """Return a new :class:`VirtualTimeEventLoop` (a ``loop_factory`` for runners)."""
    return VirtualTimeEventLoop()
