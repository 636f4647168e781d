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
and raises :class:`~zenhire_async.errors.DecodeError` instead of looping: a cursor that comes
back unchanged at once, the same page at once on its third time in a row (twice is what an
honest list shows when exactly a page of rows was created between two reads), and any
endless walk after ``MAX_PAGES_WITHOUT_NEW_ROWS`` pages that brought nothing new.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
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
        self._seen: set[str] = set()
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
        fresh = []
        for item in page.data:
            if item.id not in self._seen:
                self._seen.add(item.id)
                fresh.append(item)
        self._pages_without_new = 0 if fresh else self._pages_without_new + 1
        if self._pages_without_new >= MAX_PAGES_WITHOUT_NEW_ROWS:
            raise DecodeError(
                f"{MAX_PAGES_WITHOUT_NEW_ROWS} list pages in a row brought no new rows"
            )
        self.done = self._advance(result)
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
