"""Rate and ETA for the batch commands' progress bars, on the event loop's clock.

The loop's clock (``anyio.current_time``) is the one the work runs on: real time for a user,
the virtual clock under the testing package's loop. Work that costs nothing (rows already
invited, results already saved) is left out of the rate, so it does not make the ETA hopeful.
"""

from __future__ import annotations

import anyio

__all__ = ["Pace", "clock"]


def clock(seconds: float) -> str:
    """``3725.2`` → ``1:02:05``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Pace:
    """How fast a count grows since this was made, and when it will reach its total."""

    def __init__(self) -> None:
        self._started = anyio.current_time()

    def per_second(self, worked: int) -> float | None:
        """``worked`` items over the time since the start (``None`` before the first)."""
        elapsed = anyio.current_time() - self._started
        if worked <= 0 or elapsed <= 0:
            return None
        return worked / elapsed

    def rate(self, worked: int, *, per: str = "s") -> str:
        """``2.5/s`` (``per="s"``) or ``12.0/min`` (``per="min"``); ``-/s`` before any."""
        rate = self.per_second(worked)
        if rate is None:
            return f"-/{per}"
        return f"{rate * (60 if per == 'min' else 1):.1f}/{per}"

    def eta(self, worked: int, remaining: int) -> str:
        """Time left at the rate so far: ``0:01:05``; ``-`` when done or not yet known."""
        rate = self.per_second(worked)
        if rate is None or remaining <= 0:
            return "-"
        return clock(remaining / rate)
