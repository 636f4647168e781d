"""How values look in the ``zenhire`` command's tables and CSV files (pure functions)."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TextIO, TypeVar

import msgspec

from .. import Page

__all__ = [
    "cell",
    "csv_cell",
    "duration",
    "more_hint",
    "parse_timestamp",
    "timestamp",
    "write_csv",
    "write_json_array",
]

EMPTY = "-"

T = TypeVar("T")


def timestamp(value: datetime | None) -> str:
    """A datetime in UTC to the second, for reading (``2026-05-29 10:00:00Z``)."""
    if value is None:
        return EMPTY
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: int | None) -> str:
    """``754`` → ``12m 34s``."""
    if seconds is None:
        return EMPTY
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def cell(value: object) -> str:
    """Any field value as a table cell: ``-`` for nothing, tags joined by ``;``."""
    if value is None or value == [] or value == {}:
        return EMPTY
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    return str(value)


def csv_cell(value: object) -> str:
    """A field value for CSV: lossless (ISO timestamps, metadata as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    return str(value)


def more_hint(page: Page[T], offset: int) -> str | None:
    """What to tell a reader of one page when more rows match (``None`` when none do)."""
    shown = len(page.data)
    if page.total is not None:
        more = page.total > offset + shown
    elif page.has_more is not None:
        more = page.has_more
    else:
        more = page.next_cursor is not None
    if not more:
        return None
    if page.next_cursor is not None:
        return f"{shown} shown; more match: add --all"
    total = f" of {page.total}" if page.total is not None else ""
    return f"{shown}{total} shown; more match: add --all, or --offset {offset + shown}"


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date-time from the command line; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not an ISO 8601 date or time: {text!r} (e.g. 2026-05-29 or 2026-05-29T10:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def write_csv(
    stream: TextIO, fields: Sequence[str], rows: AsyncIterator[msgspec.Struct]
) -> int:
    """Write a header and one line per row (as it arrives); return the number of rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(fields)
    count = 0
    async for row in rows:
        writer.writerow([csv_cell(getattr(row, name)) for name in fields])
        count += 1
    return count


async def write_json_array(stream: TextIO, rows: AsyncIterator[msgspec.Struct]) -> int:
    """Write one JSON array, a row per line, streamed as rows arrive; return the count."""
    count = 0
    async for row in rows:
        stream.write(("[\n  " if count == 0 else ",\n  ") + msgspec.json.encode(row).decode())
        count += 1
    stream.write("\n]\n" if count else "[]\n")
    return count
