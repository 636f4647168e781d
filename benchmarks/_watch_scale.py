"""Watch at scale: CPU per list sweep, memory per watched session, and a hand-written walk.

Used by ``bench_watch.py``:

* :func:`sweep_cpu` watches ``n`` sessions that never move (the worst case: every sweep
  walks every row) on the virtual-time emulator for a few sweeps and returns this process's
  CPU time per full list sweep. The emulator runs in-process (virtual time needs that), so
  the figure includes its serving of the pages: linear in the rows, like the client's.
* :func:`book_memory` watches ``n`` such sessions for one sweep under ``tracemalloc`` and
  returns the bytes the watch retains per session, counting only allocations made by
  ``zenhire_async`` outside its testing package (the book and what it keeps of the rows).
* :func:`list_walk` is the competent hand-written alternative to ``watch``: plain aiohttp
  walking ``GET /sessions`` over the watched sessions' creation window, page by page, at the
  same polling budget (``polling_share`` of the key's rate), reporting a completion when the
  page holding it arrives.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from datetime import datetime
from typing import Any

import aiohttp
import anyio

from zenhire_async import TERMINAL_STATUSES, WaitTimeout, ZenHireClient
from zenhire_async._clock import LoopWallClock
from zenhire_async.testing import Emulator, Simulation, virtual_time_loop_factory

__all__ = ["book_memory", "list_walk", "percentile", "sweep_cpu"]

PAGE = 100
LIST_PATH = "/api/v1/interview/sessions"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _virtual(fn: Any, *args: Any) -> Any:
    return anyio.run(
        fn, *args, backend="asyncio", backend_options={"loop_factory": virtual_time_loop_factory}
    )


async def _idle_watch(
    n: int, seconds: float | None, traced: bool, simulation: Simulation | None = None
) -> dict[str, float]:
    async with (
        Emulator(seed=3, simulation=simulation) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(n)]
        emu.reset_counts()
        gc.collect()
        if traced:
            tracemalloc.start()
        watch = zh.sessions.watch(ids, timeout=seconds)
        cpu = time.process_time()
        try:
            async for _ in watch:
                pass
        except WaitTimeout:
            pass
        cpu = time.process_time() - cpu
        pages = emu.request_counts["GET /sessions"]
        result = {"cpu_s": cpu, "pages": pages, "sweeps": pages / math.ceil(n / PAGE)}
        if traced:
            gc.collect()
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [
                    tracemalloc.Filter(True, "*/zenhire_async/*"),
                    tracemalloc.Filter(False, "*/zenhire_async/testing/*"),
                ]
            )
            tracemalloc.stop()
            held = sum(stat.size for stat in snapshot.statistics("filename"))
            result["bytes_per_session"] = held / n
        del watch
        return result


def sweep_cpu(n: int) -> dict[str, float]:
    """CPU seconds per full list sweep while watching ``n`` idle sessions."""
    # Enough virtual time for ~3 sweeps: a sweep of n/100 pages at the 250/min share.
    seconds = max(120.0, 3 * math.ceil(n / PAGE) / 250 * 60)
    result = _virtual(_idle_watch, n, seconds, False)
    result["cpu_per_sweep_s"] = result["cpu_s"] / max(result["sweeps"], 1e-9)
    return result


def book_memory(n: int) -> dict[str, float]:
    """Bytes the watch retains per session (tracemalloc): after the first sweep of idle
    sessions (every row pending), and at the end of a watch whose sessions all finished."""
    seconds = math.ceil(n / PAGE) / 250 * 60 + 30
    idle: dict[str, float] = _virtual(_idle_watch, n, seconds, True)
    quick = Simulation(open_delay=(1, 60), duration=(1, 60), fail_probability=0.1)
    done: dict[str, float] = _virtual(_idle_watch, n, None, True, quick)
    return {"pending": idle["bytes_per_session"], "finished": done["bytes_per_session"]}


async def _walk(
    base_url: str, api_key: str, ids: set[str], per_minute: float, wall: LoopWallClock
) -> tuple[list[float], int]:
    """Walk the window's pages at ``per_minute``; return notice delays and requests sent."""
    delays: list[float] = []
    requests = 0
    pending = set(ids)
    interval = 60.0 / per_minute
    next_slot = anyio.current_time()
    async with aiohttp.ClientSession(headers={"X-API-Key": api_key}) as http:
        while pending:
            offset = 0
            while True:
                await anyio.sleep_until(next_slot)
                next_slot = max(next_slot, anyio.current_time()) + interval
                params = {"limit": str(PAGE), "offset": str(offset)}
                async with http.get(base_url + LIST_PATH, params=params) as resp:
                    page = await resp.json()
                requests += 1
                now = wall.now()
                for row in page["data"]:
                    if row["id"] in pending and row["status"] in TERMINAL_STATUSES:
                        pending.discard(row["id"])
                        completed = row.get("completed_at")
                        if completed:
                            done = datetime.fromisoformat(completed.replace("Z", "+00:00"))
                            delays.append((now - done).total_seconds())
                offset += len(page["data"])
                if not page.get("has_more") or not page["data"]:
                    break
    return delays, requests


async def _walk_run(n: int, seed: int, simulation: Simulation, share: float) -> dict[str, Any]:
    async with Emulator(simulation=simulation, seed=seed) as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = {emu.create_session(persona, consent_mode="explicit") for _ in range(n)}
        emu.reset_counts()
        started = anyio.current_time()
        delays, requests = await _walk(emu.base_url, emu.api_key, ids, 500 * share, LoopWallClock())
        minutes = (anyio.current_time() - started) / 60
    return {
        "requests": requests,
        "per_minute": requests / minutes,
        "mean_notice_s": statistics.fmean(delays),
        "p95_notice_s": percentile(delays, 0.95),
        "max_notice_s": max(delays),
    }


def list_walk(n: int, seed: int, simulation: Simulation, share: float = 0.5) -> dict[str, Any]:
    """The hand-written list walk over ``n`` sessions created at once, at ``share`` of 500/min."""
    result: dict[str, Any] = _virtual(_walk_run, n, seed, simulation, share)
    return result
