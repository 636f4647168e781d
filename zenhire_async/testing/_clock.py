"""Emulator time: wall-clock seconds derived from the running loop's clock.

Everything stateful in the emulator (timestamps, rate-limit windows, the candidate
simulator, link expiry) reads :meth:`EmulatorClock.now`, which is the loop's wall clock
(:func:`zenhire_async._clock.loop_wall_time`, the SDK's clock too). On a normal loop that is
plain ``time.time()``; under :class:`~.virtual_time.VirtualTimeEventLoop` it is derived from
the loop's virtual clock alone (``loop.wall_time()``), the same for every emulator and every
SDK client in that loop, whenever each was created, and it never moves with real time.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from .._clock import loop_wall_time

__all__ = ["EmulatorClock", "format_ms", "parse_iso"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EmulatorClock:
    """Wall time (epoch seconds) that advances with ``loop.time()``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        """The emulator's current wall time, in seconds since the epoch."""
        return loop_wall_time(self._loop)

    def now_ms(self) -> int:
        """The emulator's current wall time, in whole milliseconds since the epoch."""
        return int(self.now() * 1000)

    def datetime(self) -> datetime:
        """The emulator's current wall time as an aware UTC datetime."""
        return _EPOCH + timedelta(seconds=self.now())


def format_ms(ms: int) -> str:
    """Render epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> int:
    """Parse an ISO 8601 timestamp into epoch microseconds (naive means UTC).

    Raises ``ValueError`` when the text is not ISO 8601.
    """
    text = text.strip()
    if "T" in text:
        # A "+" in an unencoded query string arrives as a space: put the offset back.
        text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
