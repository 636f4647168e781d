"""Walking every page of a list, whatever envelope the server uses, without duplicates.

Theory of operation. The contract pins ``{"data", "limit", "offset", "total", "has_more"}``
and asks us to tolerate four other forms: ``data`` alone, ``has_more`` without ``total``, a
``next_cursor`` to pass back as ``cursor=``, and the counters nested under ``pagination``.
Each page decides the next request:

* the server sent ``next_cursor``: follow it; ``null`` ends the list (cursor mode);
* else ``has_more`` when given, else ``total`` when given, else a short or empty page ends it;
* otherwise the next offset is this offset plus the rows received.

Lists are newest first and grow while they are read, so an offset page can repeat rows of
the one before it (rows shift down, never up: nothing is skipped). Ids already yielded are
remembered and dropped. A server that repeats the same page or cursor forever is detected
and raises :class:`~zenhire_async.errors.DecodeError` instead of looping.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Protocol, TypeVar

from ._protocol import PageResult
from .errors import DecodeError

__all__ = ["FetchPage", "iterate_pages"]

MAX_PAGES_WITHOUT_NEW_ROWS = 50


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


ItemT = TypeVar("ItemT", bound=_HasId)

FetchPage = Callable[[int, str | None], Awaitable[PageResult[ItemT]]]
"""Fetch one page given ``(offset, cursor)``; ``cursor`` is ``None`` except in cursor mode."""


async def iterate_pages(fetch: FetchPage[ItemT], *, page_size: int) -> AsyncGenerator[ItemT, None]:
    """Yield every item of every page once, in the server's order."""
    seen: set[str] = set()
    offset = 0
    cursor: str | None = None
    previous_ids: list[str] | None = None
    pages_without_new = 0
    while True:
        result = await fetch(offset, cursor)
        page = result.page
        ids = [item.id for item in page.data]
        if page.data and ids == previous_ids:
            raise DecodeError("the server returned the same list page twice in a row")
        previous_ids = ids
        new = 0
        for item in page.data:
            if item.id not in seen:
                seen.add(item.id)
                new += 1
                yield item
        pages_without_new = 0 if new else pages_without_new + 1
        if pages_without_new >= MAX_PAGES_WITHOUT_NEW_ROWS:
            raise DecodeError(
                f"{MAX_PAGES_WITHOUT_NEW_ROWS} list pages in a row brought no new rows"
            )
        if result.cursor_mode:
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise DecodeError("the server returned the same pagination cursor twice")
            cursor = page.next_cursor
            continue
        if not page.data:
            return
        offset += len(page.data)
        if page.has_more is not None:
            if not page.has_more:
                return
        elif page.total is not None:
            if offset >= page.total:
                return
        elif len(page.data) < page_size:
            return
