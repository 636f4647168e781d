"""Pagination logic over a scripted page source (the emulator tests cover real servers)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from zenhire_async import DecodeError, Page
from zenhire_async._protocol import PageResult
from zenhire_async.pagination import iterate_pages

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Row:
    id: str


async def collect(
    pages: list[PageResult[Row]], page_size: int = 2
) -> tuple[list[str], list[tuple[int, str | None]]]:
    calls: list[tuple[int, str | None]] = []

    async def fetch(offset: int, cursor: str | None) -> PageResult[Row]:
        calls.append((offset, cursor))
        return pages[len(calls) - 1]

    ids = [row.id async for row in iterate_pages(fetch, page_size=page_size)]
    return ids, calls


def page(ids: str, **kw: object) -> PageResult[Row]:
    cursor_mode = bool(kw.pop("cursor_mode", False))
    return PageResult(Page(data=[Row(i) for i in ids], **kw), cursor_mode)  # type: ignore[arg-type]


async def test_growing_list_yields_no_duplicates() -> None:
    ids, calls = await collect(
        [page("ed", has_more=True), page("dc", has_more=True), page("ba", has_more=False)]
    )
    assert ids == ["e", "d", "c", "b", "a"]
    assert calls == [(0, None), (2, None), (4, None)]


async def test_total_stops_without_has_more() -> None:
    ids, calls = await collect([page("ab", total=3), page("c", total=3)])
    assert ids == ["a", "b", "c"] and len(calls) == 2


async def test_data_only_stops_on_short_page() -> None:
    ids, _ = await collect([page("ab"), page("c")])
    assert ids == ["a", "b", "c"]


async def test_data_only_stops_on_empty_page() -> None:
    ids, calls = await collect([page("ab"), page("")])
    assert ids == ["a", "b"] and len(calls) == 2


async def test_cursor_mode_follows_and_ends_on_null() -> None:
    ids, calls = await collect(
        [page("ab", next_cursor="c1", cursor_mode=True), page("cd", cursor_mode=True)]
    )
    assert ids == ["a", "b", "c", "d"]
    assert calls == [(0, None), (0, "c1")]


async def test_same_page_three_times_is_detected() -> None:
    with pytest.raises(DecodeError, match="same list page 3 times"):
        await collect([page("ab", has_more=True)] * 3)


async def test_same_page_twice_is_a_list_that_grew_by_a_page() -> None:
    """Two rows created between two reads of a 2-row page: offset 2 shows the same rows."""
    ids, calls = await collect(
        [page("ba", has_more=True), page("ba", has_more=True), page("", has_more=False)]
    )
    assert ids == ["b", "a"] and len(calls) == 3


async def test_cursor_that_does_not_move_is_detected() -> None:
    with pytest.raises(DecodeError, match="cursor"):
        await collect(
            [
                page("ab", next_cursor="c", cursor_mode=True),
                page("cd", next_cursor="c", cursor_mode=True),
            ]
        )
