"""Timestamps a server writes oddly end as aware datetimes or a typed error, never a raw one.

A naive ``created_at`` (no ``Z``) is read as UTC (CONTRACT §2); one at the edge of the
calendar (year 9999, year 1) must not overflow the link-expiry arithmetic of a wait. The
emulator serves them through the ``patched_answer`` fault on the session reads.
"""

from __future__ import annotations

from contextlib import nullcontext as _no_error
from datetime import UTC

import pytest

from zenhire_async import LinkExpiredError, WaitTimeout, ZenHireClient
from zenhire_async.testing import DEFAULT_PATCH, Emulator, Patch

pytestmark = pytest.mark.anyio

READS = ("GET /sessions/{id}", "GET /sessions")
ODD: dict[str, Patch] = {
    "naive": DEFAULT_PATCH,
    "year 9999": {"created_at": "9999-12-31T23:59:59.999Z"},
    "year 1": {"created_at": "0001-01-01T00:00:00+01:00"},
    "naive 9999": {"created_at": "9999-12-31T23:59:59"},
}


def _patch_reads(emu: Emulator, patch: Patch) -> None:
    for route in READS:
        emu.faults.add("patched_answer", route=route, patch=patch)


async def _initiated(zh: ZenHireClient, emu: Emulator) -> str:
    persona = await zh.personas.create("Engineer", "en")
    return emu.create_session(persona.id, candidate_ref="c")


@pytest.mark.parametrize("patch", ODD.values(), ids=ODD.keys())
async def test_get_gives_aware_utc_timestamps(
    zh: ZenHireClient, emu: Emulator, patch: Patch
) -> None:
    sid = await _initiated(zh, emu)
    _patch_reads(emu, patch)
    detail = await zh.sessions.get(sid)
    assert detail.created_at.tzinfo is UTC
    (row,) = (await zh.sessions.list()).data
    assert row.created_at == detail.created_at


async def test_a_naive_timestamp_is_read_as_utc(zh: ZenHireClient, emu: Emulator) -> None:
    sid = await _initiated(zh, emu)
    exact = (await zh.sessions.get(sid)).created_at
    _patch_reads(emu, DEFAULT_PATCH)
    assert (await zh.sessions.get(sid)).created_at == exact


def _expected(name: str) -> type[Exception]:
    """A session created in year 1 has long outlived its link; the others are waited for."""
    return LinkExpiredError if name == "year 1" else WaitTimeout


@pytest.mark.parametrize("name", ODD)
async def test_await_completion_ends_typed(zh: ZenHireClient, emu: Emulator, name: str) -> None:
    """Before: ``TypeError`` (naive) and ``OverflowError`` (year 9999) out of the wait."""
    sid = await _initiated(zh, emu)
    _patch_reads(emu, ODD[name])
    with pytest.raises(_expected(name)):
        await zh.sessions.await_completion(sid, timeout=60)


@pytest.mark.parametrize("name", ODD)
async def test_watch_ends_typed(zh: ZenHireClient, emu: Emulator, name: str) -> None:
    sid = await _initiated(zh, emu)
    _patch_reads(emu, ODD[name])
    seen = []
    watch = zh.sessions.watch([sid], timeout=60)
    with pytest.raises(WaitTimeout) if name != "year 1" else _no_error():
        async for row in watch:
            seen.append(row)
    assert {row.id for row in seen} == {sid}
    assert watch.expired == (frozenset({sid}) if name == "year 1" else frozenset())
    assert seen[0].created_at.tzinfo is UTC
