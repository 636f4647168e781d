"""Wall-clock time that advances with the event loop's clock.

Link expiry is a wall-clock fact (``created_at`` + 7 days) but waiting is done with the
loop's clock. A loop may keep its own wall clock: one with a ``wall_time()`` method (the
test emulator's virtual-time loop, whose clock moves only by jumps) is read through it, so a
week passes in milliseconds, consistently for every client and emulator in that loop and
never mixed with the real clock. Any other loop's clock *is* the real monotonic clock, and
its wall time is plain ``time.time()``: exactly ``datetime.now(UTC)``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

__all__ = ["LoopWallClock", "loop_wall_time"]

# Datetimes have microsecond resolution and epoch seconds as floats carry ~0.25 µs of
# rounding: a loop time this much past the exact instant reads ``>= when`` for sure.
_PAST = 2e-6


def loop_wall_time(loop: asyncio.AbstractEventLoop) -> float:
    """Epoch seconds as ``loop`` sees them: its own ``wall_time()`` if it keeps one."""
    wall_time = getattr(loop, "wall_time", None)
    if callable(wall_time):
        value = wall_time()
        if isinstance(value, float | int):
            return float(value)
    return time.time()


class LoopWallClock:
    """The current UTC time as the running event loop's clock sees it."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.fromtimestamp(loop_wall_time(asyncio.get_running_loop()), UTC)

    def loop_time_of(self, when: datetime) -> float:
        """The ``anyio.current_time()`` value at which the wall clock will read ``when``.

        A couple of microseconds late rather than early: on a virtual-time loop, whose clock
        stands still between jumps, a wake-up at which :meth:`now` still read a hair before
        ``when`` would be scheduled again for the same instant, for ever.
        """
        loop = asyncio.get_running_loop()
        return loop.time() + (when.timestamp() - loop_wall_time(loop)) + _PAST
