"""Benchmark — memory of ``sessions.iter`` over a long list: what the walk keeps per row.

The emulator runs in a child process (``_emulator_proc``) holding ``N`` sessions; this
process iterates all of them with ``sessions.iter(page_size=100)`` (pacing off) under
``tracemalloc`` and reports the growth of its traced memory between the 1,000th row and the
last: what the walk retains as it goes (the rows themselves are dropped as they are read).
Goal: ≤ 2 MB over 100,000 rows (``--quick``: 20,000 rows).

Run: ``python -m benchmarks.bench_iter [--quick]``.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from typing import Any

from benchmarks._emulator_proc import emulator_process
from benchmarks._harness import standalone
from zenhire_async import ZenHireClient

GOAL_MB = 2.0


async def _iterate(info: dict[str, Any], rows: int) -> dict[str, float]:
    async with ZenHireClient(
        api_key=info["api_key"], base_url=info["base_url"], rate_limit_per_minute=None
    ) as zh:
        seen = 0
        grown = 0
        started = time.perf_counter()
        async for _ in zh.sessions.iter(page_size=100):
            seen += 1
            if seen == 1_000:  # from here on, trace only what the walk allocates and keeps
                tracemalloc.stop()
                tracemalloc.start()
            elif seen % 1_000 == 0 or seen == rows:  # read while the walk is still alive
                grown = max(grown, tracemalloc.get_traced_memory()[0])
        return {"rows": seen, "growth_mb": grown / 1e6, "seconds": time.perf_counter() - started}


def measure(rows: int) -> dict[str, float]:
    """Iterate ``rows`` sessions; the traced growth from the 1,000th row to the end."""
    with emulator_process(sessions=rows) as info:
        tracemalloc.start()
        try:
            result = asyncio.run(_iterate(info, rows))
        finally:
            tracemalloc.stop()
    assert result["rows"] == rows, result
    return result


def run(quick: bool) -> dict[str, Any]:
    """The memory growth of one long iteration."""
    rows = 20_000 if quick else 100_000
    result = measure(rows)
    return {
        "title": "7. Iterating a long list",
        "rows": [
            {
                "case": f"sessions.iter over {rows:,} rows",
                "metric": "traced memory growth MB",
                "value": round(result["growth_mb"], 3),
                "goal": f"≤ {GOAL_MB:g} MB",
                "met": result["growth_mb"] <= GOAL_MB,
            }
        ],
        "params": result,
        "notes": [
            "tracemalloc in the iterating process (emulator in a child process), restarted "
            "at the 1,000th row: the figure is the most that was allocated after it and "
            "still held, read every 1,000 rows while the walk is alive."
        ],
    }


if __name__ == "__main__":
    standalone("iter", __doc__, run)
