"""Load: 10,000 concurrent ``sessions.get`` calls through one client.

Real loopback sockets to the emulator, pacing off (``rate_limit_per_minute=None``) so that
nothing but the connection pool holds the calls back. What must hold: every call returns
the right session, none fails or is retried (the emulator saw exactly 10,000 requests),
the server never sees more TCP connections at once than the client's ``max_connections``
(counted server-side, as the emulator accepts and loses them), and memory stays bounded:
the process's peak resident set during the run (``VmHWM``, reset just before through
``/proc/self/clear_refs``) may grow at most ``MEMORY_BOUND`` above the resident set at the
start — client and emulator together (``DEBUG_MEMORY_BOUND`` in asyncio debug mode). The
figures are printed as a ``LOAD {json}`` line and attached with ``record_property``.

It runs on the virtual-time loop like the rest (nothing sleeps here, so the clock only
moves with real time). Under ``PYTHONASYNCIODEBUG=1`` it takes about 40 s, hence
``slow`` — a marker that only labels it: ``make test`` runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from zenhire_async import SessionDetail, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CALLS = 10_000
SESSIONS = 500
MAX_CONNECTIONS = 50
MEMORY_BOUND = 150 * 2**20
"""Generous: 10,000 pending tasks, their requests and decoded sessions, both sides
(measured: about 58 MiB)."""
DEBUG_MEMORY_BOUND = 512 * 2**20
"""With ``PYTHONASYNCIODEBUG=1`` (as ``make test`` runs) asyncio keeps a creation
traceback for every task and handle (measured: about 250 MiB)."""
STATUS = Path("/proc/self/status")


def reset_peak_rss() -> int:
    """Make ``VmHWM`` restart from the current resident set; return that (KiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS")


def status_kib(field: str) -> int:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``), in KiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
async def test_ten_thousand_concurrent_gets_through_one_client(
    record_property: Callable[[str, object], None],
) -> None:
    async with (
        Emulator() as emu,
        ZenHireClient(
            api_key=emu.api_key,
            base_url=emu.base_url,
            rate_limit_per_minute=None,
            max_connections=MAX_CONNECTIONS,
        ) as zh,
    ):
        persona = emu.create_persona()
        ids = [emu.create_session(persona, candidate_ref=f"c{i}") for i in range(SESSIONS)]
        emu.reset_counts()
        made_before = emu._server.connections.made
        results: list[SessionDetail | None] = [None] * CALLS

        async def one(i: int) -> None:
            results[i] = await zh.sessions.get(ids[i % SESSIONS])

        baseline = reset_peak_rss()
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(one, i)
        elapsed = time.perf_counter() - started
        growth = (status_kib("VmHWM") - baseline) * 1024

        for i, result in enumerate(results):
            assert result is not None
            assert result.id == ids[i % SESSIONS]
            assert result.candidate_ref == f"c{i % SESSIONS}"
            assert result.status == "initiated"
        assert emu.request_counts == {"GET /sessions/{id}": CALLS}  # no error, no retry
        assert emu.faults.injected.total() == 0
        # The pool was used to its limit and never beyond it.
        made = emu._server.connections.made - made_before
        # ``made`` tells a client that opened too many (made == peak) from connections that
        # were replaced and counted open twice for a moment (made > peak) on a loaded machine.
        assert emu.peak_connections == MAX_CONNECTIONS, f"connections made: {made}"
        debug = asyncio.get_running_loop().get_debug()
        assert growth < (DEBUG_MEMORY_BOUND if debug else MEMORY_BOUND)
    assert emu.open_connections == 0  # closing the client closed every connection

    figures = {
        "calls": CALLS,
        "max_connections": MAX_CONNECTIONS,
        "peak_connections": emu.peak_connections,
        "peak_rss_growth_mib": round(growth / 2**20, 1),
        "asyncio_debug": debug,
        "seconds": round(elapsed, 1),
        "calls_per_second": round(CALLS / elapsed),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("LOAD " + json.dumps(figures))
