"""Wall-clock time that advances with the event loop's clock.

Link expiry is a wall-clock fact (``created_at`` + 7 days) but waiting is done with the loop's
monotonic clock. :class:`LoopWallClock` anchors the two once, so ``now()`` moves exactly as
``anyio.current_time()`` does: immune to NTP steps, and on a virtual-time loop (the test
emulator's) a week passes in milliseconds for the SDK and the emulator alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio

__all__ = ["LoopWallClock"]


class LoopWallClock:
    """``datetime.now(UTC)`` as of the first call, advanced by the loop's clock since."""

    def __init__(self) -> None:
        self._anchor: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        """The current UTC time."""
        loop_now = anyio.current_time()
        if self._anchor is None:
            self._anchor = (datetime.now(UTC), loop_now)
        wall, loop_then = self._anchor
        return wall + timedelta(seconds=loop_now - loop_then)

    def loop_time_of(self, when: datetime) -> float:
        """The ``anyio.current_time()`` value at which the wall clock will read ``when``."""
        return anyio.current_time() + (when - self.now()).total_seconds()
