"""Datetime arithmetic that cannot fail on a value a server sent. Pure.

A server's timestamp may be naive (no ``Z``: read as UTC, CONTRACT §2) or sit at the edge of
what ``datetime`` holds (year 9999, year 1). Adding a link lifetime to such a value must give
a datetime, not an ``OverflowError``: :func:`shift` clamps to the representable range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["EARLIEST", "LATEST", "shift", "to_utc"]

LATEST = datetime.max.replace(tzinfo=UTC)
"""The latest aware datetime: where a shift past the end of the calendar stops."""
EARLIEST = datetime.min.replace(tzinfo=UTC)
"""The earliest aware datetime: where a shift before the start of the calendar stops."""


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC: a naive datetime is read as UTC, an aware one converted (clamped
    to the calendar's edge when UTC is past it, as ``0001-01-01T00:00+01:00`` is)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        offset = value.utcoffset()
        return LATEST if offset is not None and offset < timedelta(0) else EARLIEST


def shift(when: datetime, delta: timedelta) -> datetime:
    """``when + delta``, clamped to the range of ``datetime`` instead of overflowing."""
    try:
        return when + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST
