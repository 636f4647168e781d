"""An asyncio event loop whose clock moves only when the loop is idle, never with real time.

Theory of operation
-------------------
This is the asyncio twin of trio's ``MockClock(autojump_threshold=0)``.
``loop.time()`` is a number the loop keeps itself: it starts at 0 and never follows the real
clock. It moves in exactly two ways:

* **the jump** — the loop's selector is wrapped: every ``select(timeout)`` first polls the
  real selector with a zero timeout. If a file descriptor is ready, its events are returned
  at once. If nothing is ready and the loop has no timer (``timeout is None``), the wrapper
  blocks for real. If nothing is ready but a timer is pending, every task is blocked:
  nothing can happen before that timer, so the clock moves by ``timeout`` and no events are
  returned — the next timer is then due and runs immediately. ``await asyncio.sleep(3600)``
  thus returns in microseconds while ``loop.time()`` advances by exactly an hour;
* **an explicit** :meth:`VirtualTimeEventLoop.advance`.

However long a callback computes, however loaded the machine, ``loop.time()`` reads the
same before and after: two readings differ only by the timers that were jumped to, so tests
on this loop are deterministic.

Client and server run in the same loop over loopback sockets, so "no ready callback and no
ready socket" means truly idle: a byte in flight on loopback is already readable when the
zero-timeout poll runs. The one thing the loop cannot see directly is work in another
thread, so it counts it and never jumps while any is outstanding (it waits for it, for
real, with the clock standing still):

* every job given to ``loop.run_in_executor`` (which includes ``asyncio.to_thread`` and
  ``loop.getaddrinfo``), on the default executor or any other, from submission until the
  thread has finished it — even when the awaiting task was cancelled meanwhile;
* ``loop.shutdown_default_executor()``, which ``asyncio.Runner`` and ``asyncio.run`` call on
  close (on 3.12+ with a 300-second timeout that a jump would otherwise fire at once);
* anyio's worker threads (``anyio.to_thread.run_sync``) of this loop while they hold a job.

Threads started by other means are not seen: a pending timer may fire before they answer.
A thread that itself waits for one of this loop's timers (``anyio.from_thread.run`` of a
sleep) is waited for too, and so never finishes: keep such code on a normal loop.

Wall-clock time for such a loop is :meth:`VirtualTimeEventLoop.wall_time`: the real
``time.time()`` when the loop was made plus ``loop.time()``. The emulator and the SDK read
it (see :func:`zenhire_async._clock.loop_wall_time`), so the SDK's link-expiry arithmetic and
the emulator's timestamps come from this one clock.

Use it with ``asyncio.run(main(), loop_factory=...)`` (3.12+), ``asyncio.Runner``,
``anyio.run(main, backend="asyncio", backend_options={"loop_factory": ...})`` or the anyio
pytest plugin (an ``anyio_backend`` fixture returning
``("asyncio", {"loop_factory": virtual_time_loop_factory})``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import selectors
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["VirtualTimeEventLoop", "virtual_time_loop_factory"]

_T = TypeVar("_T")


class _ThreadWork:
    """A thread-safe count of outstanding thread jobs of one loop."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._wake = wake

    @property
    def pending(self) -> int:
        """How many counted jobs have not finished."""
        return self._count

    def enter(self) -> None:
        """Count one more job (call before handing it to a thread)."""
        with self._lock:
            self._count += 1

    def exit(self) -> None:
        """Count one job finished (from any thread) and wake the loop to look again."""
        with self._lock:
            self._count -= 1
            last = self._count == 0
        if last:
            self._wake()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Count a job for the duration of a ``with`` block."""
        self.enter()
        try:
            yield
        finally:
            self.exit()


class _CountedExecutor(concurrent.futures.Executor):
    """An executor view whose ``submit`` counts each job (see :meth:`submit`)."""

    def __init__(self, inner: concurrent.futures.Executor, work: _ThreadWork) -> None:
        self._inner = inner
        self._work = work
        self.submitted: concurrent.futures.Future[Any] | None = None

    def submit(
        self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[_T]:
        """Submit to the real executor, counting the job from now on.

        The caller releases the count with :meth:`release_when_done` once asyncio has
        chained its own future: that callback then runs first, so by the time the count
        drops, the result is already on its way to the loop (a queued callback, never an
        idle loop that could jump).
        """
        self._work.enter()
        try:
            future = self._inner.submit(fn, *args, **kwargs)
        except BaseException:
            self._work.exit()
            raise
        self.submitted = future
        return future

    def release_when_done(self) -> None:
        """Stop counting the submitted job once it has finished or was cancelled."""
        assert self.submitted is not None
        self.submitted.add_done_callback(lambda _: self._work.exit())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the real executor down."""
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def _anyio_workers_busy(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether one of anyio's worker threads of ``loop`` holds a job.

    anyio (4.x) keeps an idle list per loop; a live worker of this loop that is neither on
    it nor stopping has been handed a job whose result has not been taken back yet.
    """
    for thread in threading.enumerate():
        if getattr(thread, "loop", None) is not loop:
            continue
        idle = getattr(thread, "idle_workers", None)
        if idle is None or getattr(thread, "stopping", False):
            continue
        if thread.is_alive() and thread not in idle:
            return True
    return False


class _AutojumpSelector(selectors.BaseSelector):
    """A selector that turns an idle wait with a timeout into a jump of virtual time."""

    def __init__(self, inner: selectors.BaseSelector, busy: Callable[[], bool]) -> None:
        self._inner = inner
        self._busy = busy
        self.now = 0.0

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
        """Poll; when idle with a timer pending, jump the clock instead of sleeping.

        While a thread job is outstanding it waits for real instead, and the clock stands
        still: the timer stays pending until the thread has answered.
        """
        ready = self._inner.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None or self._busy():
            return self._inner.select(timeout)
        self.now += timeout
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

    ``time()`` starts at 0 and moves only by jumps to the next timer while every task is
    blocked, and by :meth:`advance`; timers, ``sleep`` and timeouts all follow it.
    """

    def __init__(self) -> None:
        self._threads = _ThreadWork(self._wake)
        self._autojump = _AutojumpSelector(selectors.DefaultSelector(), self._threads_busy)
        super().__init__(self._autojump)
        self._wall_start = time.time()
        self._default_pool: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def virtual_offset(self) -> float:
        """Seconds the clock has moved since the loop was made (all of them virtual)."""
        return self._autojump.now

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("virtual time cannot go backwards")
        self._autojump.now += seconds

    def time(self) -> float:
        """The virtual clock: seconds jumped or advanced since the loop was made."""
        return self._autojump.now

    def wall_time(self) -> float:
        """Wall-clock time on this loop: real epoch seconds at creation plus ``time()``."""
        return self._wall_start + self._autojump.now

    def set_default_executor(self, executor: Any) -> None:
        """Set the executor for ``run_in_executor(None, ...)``; its jobs are counted too."""
        super().set_default_executor(executor)
        self._default_pool = executor

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> asyncio.Future[_T]:
        """Run ``func`` in a thread; the clock does not jump until the thread finished it."""
        if executor is None:
            self._check_closed()  # type: ignore[attr-defined]
            if getattr(self, "_executor_shutdown_called", False):
                raise RuntimeError("Executor shutdown has been called")
            if self._default_pool is None:
                self.set_default_executor(
                    concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
                )
            executor = self._default_pool
            assert executor is not None
        counted = _CountedExecutor(executor, self._threads)
        future = super().run_in_executor(counted, func, *args)
        counted.release_when_done()
        return future

    async def shutdown_default_executor(self, *args: Any, **kwargs: Any) -> None:
        """Join the default executor's threads; the clock does not jump meanwhile."""
        with self._threads.held():
            await super().shutdown_default_executor(*args, **kwargs)

    def _threads_busy(self) -> bool:
        return self._threads.pending > 0 or _anyio_workers_busy(self)

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # closed: nothing to wake
            self.call_soon_threadsafe(_nothing)


def _nothing() -> None:
    """A callback whose only effect is to wake the loop."""


def virtual_time_loop_factory() -> asyncio.AbstractEventLoop:
    """Return a new :class:`VirtualTimeEventLoop` (a ``loop_factory`` for runners)."""
    return VirtualTimeEventLoop()
