"""Wall-clock time that advances with the event loop's clock.

Link expiry is a wall-clock fact (``created_at`` + 7 days) but waiting is done with the
loop's clock. :class:`LoopWallClock` reads wall time as ``time.time()`` shifted by how far
the loop's clock has run ahead of the real monotonic clock: on a normal asyncio loop (whose
clock *is* the monotonic clock) that is exactly ``datetime.now(UTC)``; on a virtual-time
loop (the test emulator's) a week passes in milliseconds, consistently for every client and
emulator in that loop.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import anyio

__all__ = ["LoopWallClock"]


class LoopWallClock:
    """The current UTC time as the running event loop's clock sees it."""

    def now(self) -> datetime:
        """The current UTC time."""
        shift = anyio.current_time() - time.monotonic()
        return datetime.fromtimestamp(time.time() + shift, UTC)

    def loop_time_of(self, when: datetime) -> float:
        """The ``anyio.current_time()`` value at which the wall clock will read ``when``."""
        return anyio.current_time() + (when - self.now()).total_seconds()
