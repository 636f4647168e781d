"""Fuzzing list iteration: every envelope, honest or hostile servers, never a loop.

The walk (``pagination.iterate_pages``, which ``personas.iter``/``sessions.iter`` and the
watch sweeps use) is driven with JSON bodies decoded by the SDK's own page decoder:

* an honest server in each envelope form of the contract, whose list may grow (newest
  first) while it is read: every row is yielded exactly once;
* a hostile but finite server that serves a cycle of arbitrary pages — repeated pages,
  cursors that stand still or go round, ``has_more`` that lies, duplicate ids: the walk
  ends or raises :class:`DecodeError` within a bounded number of requests, and never yields
  an id twice.

One test runs the same through the real client against a stuck server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec
import pytest
from aiohttp import web
from fuzz_support import fuzzed
from hypothesis import given
from hypothesis import strategies as st

from zenhire_async import DecodeError, SessionSummary, ZenHireClient
from zenhire_async import _protocol as proto
from zenhire_async.pagination import MAX_PAGES_WITHOUT_NEW_ROWS, iterate_pages

UNIVERSE = [f"s{i:02d}" for i in range(12)]


def row(session_id: str) -> dict[str, Any]:
    return {"id": session_id, "status": "active", "created_at": "2026-05-29T10:00:00.000Z"}


def walk(fetch_body: Any, page_size: int, max_calls: int) -> tuple[list[str], int, bool]:
    """Iterate with the SDK's walker over ``fetch_body(offset, cursor) -> bytes``.

    Returns the ids yielded, the number of requests, and whether the walk raised
    ``DecodeError`` (anything else propagates and fails the test).
    """
    calls = 0
    ids: list[str] = []

    async def fetch(offset: int, cursor: str | None) -> proto.PageResult[SessionSummary]:
        nonlocal calls
        calls += 1
        if calls > max_calls:
            raise AssertionError(f"the walk did not end within {max_calls} requests")
        body = fetch_body(offset, cursor)
        return proto.decode_page(proto.SESSION_PAGE, body, "session list")

    async def main() -> bool:
        try:
            async for item in iterate_pages(fetch, page_size=page_size):
                ids.append(item.id)
        except DecodeError:
            return True
        return False

    raised = anyio.run(main)
    return ids, calls, raised


# -- an honest server, possibly growing while it is read -------------------------------------

HONEST_FORMS = ("pinned", "data_only", "has_more", "total_only", "nested", "cursor")


class HonestServer:
    """A newest-first list; ``growth[i]`` rows are created just before the i-th request."""

    def __init__(self, initial: int, form: str, growth: list[int]) -> None:
        self.rows = [f"r{i:04d}" for i in range(initial, 0, -1)]  # newest first
        self.next_id = initial + 1
        self.form = form
        self.growth = growth
        self.calls = 0

    def __call__(self, offset: int, cursor: str | None, limit: int) -> bytes:
        for _ in range(self.growth[self.calls] if self.calls < len(self.growth) else 0):
            self.rows.insert(0, f"r{self.next_id:04d}")
            self.next_id += 1
        self.calls += 1
        if self.form == "cursor":
            # The cursor names the last row served: stable however the list grows.
            start = 0 if cursor is None else self.rows.index(cursor) + 1
            page = self.rows[start : start + limit]
            more = start + limit < len(self.rows)
            env: dict[str, Any] = {"next_cursor": page[-1] if more and page else None}
        else:
            page = self.rows[offset : offset + limit]
            total = len(self.rows)
            more = offset + len(page) < total
            envelopes: dict[str, dict[str, Any]] = {
                "pinned": {"limit": limit, "offset": offset, "total": total, "has_more": more},
                "data_only": {},
                "has_more": {"has_more": more},
                "total_only": {"total": total},
                "nested": {"pagination": {"limit": limit, "offset": offset, "total": total}},
            }
            env = envelopes[self.form]
        return msgspec.json.encode({"data": [row(i) for i in page], **env})


@given(
    initial=st.integers(0, 40),
    page_size=st.integers(1, 8),
    form=st.sampled_from(HONEST_FORMS),
    growth=st.lists(st.integers(0, 10), max_size=12),
)
def test_an_honest_list_yields_every_row_once_even_while_it_grows(
    initial: int, page_size: int, form: str, growth: list[int]
) -> None:
    fuzzed("pagination")
    server = HonestServer(initial, form, growth)
    original = list(server.rows)
    bound = initial + sum(growth) + len(growth) + 2
    ids, calls, raised = walk(
        lambda offset, cursor: server(offset, cursor, page_size), page_size, bound
    )
    # The one honest list the walker cannot tell from a stuck server: exactly a page of rows
    # created before each of two reads in a row shows the same page three times.
    mimics_stuck = any(growth[i] == growth[i + 1] == page_size for i in range(1, len(growth) - 1))
    assert not raised or (mimics_stuck and form != "cursor")
    assert len(ids) == len(set(ids))  # never an id twice
    if not raised:
        assert set(original) <= set(ids)  # nothing that was there when we started is skipped
    assert set(ids) <= set(server.rows)
    assert calls <= bound


# -- a hostile, finite server -------------------------------------------------------------

page_specs = st.fixed_dictionaries(
    {"data": st.lists(st.sampled_from(UNIVERSE), max_size=6)},
    optional={
        "has_more": st.none() | st.booleans(),
        "total": st.none() | st.integers(0, 30),
        "offset": st.none() | st.integers(0, 30),
        "next_cursor": st.none() | st.sampled_from(["a", "b", "c"]),
    },
)


def hostile_body(spec: dict[str, Any], nested: bool) -> bytes:
    env = {k: v for k, v in spec.items() if k != "data"}
    data = [row(i) for i in spec["data"]]
    if nested and "next_cursor" not in env:
        return msgspec.json.encode({"data": data, "pagination": env})
    return msgspec.json.encode({"data": data, **env})


@given(
    script=st.lists(page_specs, min_size=1, max_size=8),
    nested=st.booleans(),
    page_size=st.integers(1, 6),
)
def test_a_hostile_server_can_neither_loop_the_walk_nor_repeat_an_id(
    script: list[dict[str, Any]], nested: bool, page_size: int
) -> None:
    """The server answers its script in a cycle, whatever was asked. It has finitely many
    ids, so each page either brings a new one or counts towards the no-progress limit."""
    fuzzed("pagination")
    bodies = [hostile_body(spec, nested) for spec in script]
    served = 0

    def fetch_body(offset: int, cursor: str | None) -> bytes:
        nonlocal served
        served += 1
        return bodies[(served - 1) % len(bodies)]

    bound = (len(UNIVERSE) + 1) * MAX_PAGES_WITHOUT_NEW_ROWS + 1
    ids, calls, _raised = walk(fetch_body, page_size, bound)
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(UNIVERSE)
    assert calls <= bound


@pytest.mark.parametrize("form", ["pinned", "data_only", "has_more", "nested", "cursor"])
def test_a_stuck_server_is_detected_quickly(form: str) -> None:
    """A server that ignores ``offset``/``cursor`` and answers the same full page forever."""
    fuzzed("pagination")
    rows = [row(i) for i in UNIVERSE[:4]]
    envelopes: dict[str, dict[str, Any]] = {
        "pinned": {"limit": 4, "offset": 0, "total": 100, "has_more": True},
        "data_only": {},
        "has_more": {"has_more": True},
        "nested": {"pagination": {"total": 100, "has_more": True}},
        "cursor": {"next_cursor": "same"},
    }
    env = envelopes[form]
    body = msgspec.json.encode({"data": rows, **env})
    ids, calls, raised = walk(lambda offset, cursor: body, 4, 20)
    assert raised
    assert ids == UNIVERSE[:4]
    assert calls <= 6


# -- the same through the client, over HTTP on 127.0.0.1 ---------------------------------


@asynccontextmanager
async def serving(handler: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/api/v1/interview/sessions", handler)
    app.router.add_get("/api/v1/interview/personas", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.anyio
@pytest.mark.parametrize("resource", ["sessions", "personas"])
@pytest.mark.parametrize("envelope", [{"has_more": True}, {"next_cursor": "stuck"}], ids=str)
async def test_the_client_raises_on_a_stuck_list_server(
    resource: str, envelope: dict[str, Any]
) -> None:
    requests: list[str] = []

    async def stuck(request: web.Request) -> web.Response:
        requests.append(request.query_string)
        data = [{**row(i), "role_name": "r", "language": "en"} for i in UNIVERSE[:3]]
        return web.json_response({"data": data, **envelope})

    async with serving(stuck) as url, ZenHireClient(api_key="zh_api_k1234567", base_url=url) as zh:
        listing = zh.sessions.iter(page_size=3) if resource == "sessions" else zh.personas.iter()
        seen: list[str] = []

        async def drain() -> None:
            async for item in listing:
                seen.append(item.id)

        with anyio.fail_after(60), pytest.raises(DecodeError):
            await drain()
    assert seen == UNIVERSE[:3]
    assert 2 <= len(requests) <= 6
