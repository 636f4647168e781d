"""Offset pagination over a list that grows while it is read (newest first), on the emulator.

Sessions are created between pages, from none to several pages' worth at once, some in the
same millisecond: ``sessions.iter`` yields every session that existed when it began exactly
once, and the walk remembers only the ids at the boundary ``created_at``, not every id.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from zenhire_async import DecodeError, Page, SessionSummary, ZenHireClient
from zenhire_async import _protocol as proto
from zenhire_async._protocol import PageResult
from zenhire_async.pagination import PageWalker
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def seed(emu: Emulator, persona: str, n: int, rng: random.Random) -> list[str]:
    ids = []
    for _ in range(n):
        ids.append(emu.create_session(persona))
        if rng.random() < 0.7:  # else the next one shares this millisecond
            await anyio.sleep(rng.choice((0.001, 0.01, 1.0)))
    return ids


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_rows_created_during_the_walk_never_repeat_nor_hide_a_row(
    emu: Emulator, zh: ZenHireClient, seed_value: int
) -> None:
    rng = random.Random(seed_value)
    persona = emu.create_persona("Engineer", "en")
    original = await seed(emu, persona, 300, rng)
    filters = proto.SessionFilters.build()

    async def fetch(offset: int, cursor: str | None) -> PageResult[SessionSummary]:
        return await zh.sessions._page(filters, 10, offset, cursor)

    walker = PageWalker(fetch, page_size=10)
    yielded: list[str] = []
    largest_memory = 0
    while not walker.done:
        yielded.extend(row.id for row in await walker.next_page())
        largest_memory = max(largest_memory, len(walker._at_last) + len(walker._untimed))
        # Between two pages: nothing, a few, a page, or four pages of new sessions.
        await seed(emu, persona, rng.choice((0,) * 12 + (3, 9, 25, 40)), rng)
    counts = Counter(yielded)
    assert not [i for i, n in counts.items() if n > 1]  # never a duplicate
    assert set(original) <= set(yielded)  # nothing that existed is skipped
    assert largest_memory < 50  # the ids sharing one millisecond, not every id


async def test_a_page_that_is_not_newest_first_raises_decode_error() -> None:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    rows = [
        SessionSummary(id="a", status="active", created_at=t0),
        SessionSummary(id="b", status="active", created_at=t0 + timedelta(seconds=1)),
    ]

    async def fetch(offset: int, cursor: str | None) -> PageResult[SessionSummary]:
        return PageResult(Page(data=rows, has_more=False), False)

    with pytest.raises(DecodeError, match="not newest first"):
        await PageWalker(fetch, page_size=10).next_page()
