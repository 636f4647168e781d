"""Walking every page of a list, whatever envelope the server uses, without duplicates.

Theory of operation. The contract pins ``{"data", "limit", "offset", "total", "has_more"}``
and asks us to tolerate four other forms: ``data`` alone, ``has_more`` without ``total``, a
``next_cursor`` to pass back as ``cursor=``, and the counters nested under ``pagination``.
Each page decides the next request:

* the server sent ``next_cursor``: follow it; ``null`` ends the list (cursor mode);
* else ``has_more`` when given, else ``total`` when given, else a short or empty page ends it;
* otherwise the next offset is this offset plus the rows received.

Lists are newest first (``created_at`` desc) and grow while they are read, so an offset page
can repeat rows already yielded: a row shifts down by as many rows as were created at the
head meanwhile (never up: nothing is skipped), however many pages that is. So the walk does
not remember every id it yielded: every row it yielded is at least as new as the last one,
and a row served again has shifted, so a row *newer* than the last yielded is one already
yielded (or one created after the walk began, which a walk does not promise); a row as new
is checked against the ids yielded at that same ``created_at``; an *older* row is new. The
walk keeps only those ids, so its memory does not grow with the list. This relies on the
order: a page whose rows are not newest first raises
:class:`~zenhire_async.errors.DecodeError` (with such a server, offset pages could repeat
rows unnoticed). Rows without a ``created_at`` are deduplicated by remembering their ids.

A server that repeats the same page or cursor forever is detected and raises
:class:`~zenhire_async.errors.DecodeError` instead of looping: a cursor that comes back
unchanged at once, the same page at once on its third time in a row (twice is what an
honest list shows when exactly a page of rows was created between two reads), and any
endless walk after ``MAX_PAGES_WITHOUT_NEW_ROWS`` pages that brought nothing new.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from ._protocol import PageResult
from .errors import DecodeError

__all__ = [
    "MAX_PAGES_WITHOUT_NEW_ROWS",
    "MAX_SAME_PAGE_IN_A_ROW",
    "FetchPage",
    "PageWalker",
    "iterate_pages",
]

MAX_PAGES_WITHOUT_NEW_ROWS = 50
MAX_SAME_PAGE_IN_A_ROW = 3


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


ItemT = TypeVar("ItemT", bound=_HasId)

FetchPage = Callable[[int, str | None], Awaitable[PageResult[ItemT]]]
"""Fetch one page given ``(offset, cursor)``; ``cursor`` is ``None`` except in cursor mode."""


class PageWalker(Generic[ItemT]):
    """The state of a walk through a list, one page per :meth:`next_page` call.

    Usable where a suspended async generator would not be (a walk spread over several
    calls of another iterator's ``__anext__``).
    """

    def __init__(self, fetch: FetchPage[ItemT], *, page_size: int) -> None:
        self._fetch = fetch
        self._page_size = page_size
        self._last_at: datetime | None = None  # created_at of the last row yielded
        self._at_last: set[str] = set()  # ids yielded with that created_at
        self._untimed: set[str] = set()  # ids yielded of rows without a created_at
        self._offset = 0
        self._cursor: str | None = None
        self._previous_ids: list[str] | None = None
        self._same_in_a_row = 0
        self._pages_without_new = 0
        self.pages = 0
        self.rows = 0
        self.done = False

    async def next_page(self) -> list[ItemT]:
        """The next page's items not yielded before; sets :attr:`done` after the last page."""
        if self.done:
            return []
        result = await self._fetch(self._offset, self._cursor)
        self.pages += 1
        page = result.page
        self.rows += len(page.data)
        ids = [item.id for item in page.data]
        if page.data and ids == self._previous_ids:
            self._same_in_a_row += 1
            if self._same_in_a_row >= MAX_SAME_PAGE_IN_A_ROW:
                raise DecodeError(
                    f"the server returned the same list page {self._same_in_a_row} times in a row"
                )
        else:
            self._same_in_a_row = 1
        self._previous_ids = ids
        fresh = self._fresh(page.data)
        self._pages_without_new = 0 if fresh else self._pages_without_new + 1
        if self._pages_without_new >= MAX_PAGES_WITHOUT_NEW_ROWS:
            raise DecodeError(
                f"{MAX_PAGES_WITHOUT_NEW_ROWS} list pages in a row brought no new rows"
            )
        self.done = self._advance(result)
        return fresh

    def _fresh(self, rows: list[ItemT]) -> list[ItemT]:
        """The rows of a page not yielded before (see the module docstring)."""
        fresh = []
        previous: datetime | None = None
        for item in rows:
            at: datetime | None = getattr(item, "created_at", None)
            if at is None:
                if item.id not in self._untimed:
                    self._untimed.add(item.id)
                    fresh.append(item)
                continue
            if previous is not None and at > previous:
                raise DecodeError(
                    "the server's list page is not newest first: offset pages could repeat rows"
                )
            previous = at
            last = self._last_at
            if last is None or at < last:
                self._last_at = at
                self._at_last = {item.id}
                fresh.append(item)
            elif at == last and item.id not in self._at_last:
                self._at_last.add(item.id)
                fresh.append(item)
        return fresh

    def _advance(self, result: PageResult[ItemT]) -> bool:
        """Move to the next page; return whether the list has ended."""
        page = result.page
        if result.cursor_mode:
            if page.next_cursor is None:
                return True
            if page.next_cursor == self._cursor:
                raise DecodeError("the server returned the same pagination cursor twice")
            self._cursor = page.next_cursor
            return False
        if not page.data:
            return True
        self._offset += len(page.data)
        if page.has_more is not None:
            return not page.has_more
        if page.total is not None:
            return self._offset >= page.total
        return len(page.data) < self._page_size


async def iterate_pages(fetch: FetchPage[ItemT], *, page_size: int) -> AsyncGenerator[ItemT, None]:
    """Yield every item of every page once, in the server's order."""
    walker = PageWalker(fetch, page_size=page_size)
    while not walker.done:
        for item in await walker.next_page():
            yield item
