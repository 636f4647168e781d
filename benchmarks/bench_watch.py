"""Benchmark 3 — watching: requests used by the batched watcher vs naive per-session polling.

For 100 / 1,000 / 10,000 sessions whose simulated candidates open their links and finish at
random times, one ``sessions.watch`` follows all of them to the end on the emulator, on the
virtual-time loop (hours of waiting take seconds). Measured in the same run:

* the watcher's polling requests and requests per minute;
* freshness: how long after its completion each session was reported (mean and max);
* naive per-session polling at the *same freshness* (a GET per session every ``2 × mean
  delay``, for as long as the session was unfinished) as the baseline, and the ratio.

Goal: at 10,000 sessions the watcher uses ≤ 2 % of the naive requests, and completion is
noticed within one sweep interval.

Run: ``python benchmarks/bench_watch.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._watch_scale import book_memory, list_walk, percentile, sweep_cpu
from zenhire_async import TERMINAL_STATUSES, ZenHireClient
from zenhire_async._clock import LoopWallClock
from zenhire_async.testing import Emulator, Simulation, virtual_time_loop_factory

SIMULATION = Simulation(open_delay=(30, 900), duration=(300, 1200), fail_probability=0.1)
GOAL_RATIO = 0.02


async def _measure(sessions: int, seed: int, invite_rate: float | None) -> dict[str, float]:
    """Watch ``sessions`` to the end; ``invite_rate`` spreads their creation (per minute)."""
    async with (
        Emulator(simulation=SIMULATION, seed=seed) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        persona = emu.create_persona("Engineer", "en")
        ids = []
        for _ in range(sessions):
            ids.append(emu.create_session(persona, consent_mode="explicit"))
            if invite_rate is not None:
                await anyio.sleep(60 / invite_rate)
        emu.reset_counts()
        clock = LoopWallClock()
        started = anyio.current_time()
        started_wall = clock.now()
        delays: list[float] = []
        unfinished_seconds = 0.0
        real = time.perf_counter()
        async for row in zh.sessions.watch(ids):
            if row.status in TERMINAL_STATUSES:
                unfinished_seconds += anyio.current_time() - started
                # Sessions that finished before the watch began are not a notice delay.
                if row.completed_at is not None and row.completed_at >= started_wall:
                    delays.append((clock.now() - row.completed_at).total_seconds())
        real = time.perf_counter() - real
        minutes = (anyio.current_time() - started) / 60
        used = emu.request_counts["GET /sessions"] + emu.request_counts["GET /sessions/{id}"]
        mean_delay = statistics.fmean(delays)
        period = 2 * mean_delay  # naive polling with this period has the same mean delay
        naive = unfinished_seconds / period
        return {
            "sessions": sessions,
            "created": "at once" if invite_rate is None else f"{invite_rate:g}/min",
            "virtual_minutes": round(minutes, 1),
            "watcher_requests": used,
            "watcher_per_minute": round(used / minutes, 1),
            "list_pages": emu.request_counts["GET /sessions"],
            "gets": emu.request_counts["GET /sessions/{id}"],
            "mean_notice_s": round(mean_delay, 1),
            "p95_notice_s": round(percentile(delays, 0.95), 1),
            "max_notice_s": round(max(delays), 1),
            "naive_requests": round(naive),
            "naive_per_minute": round(naive / minutes, 1),
            "ratio": round(used / naive, 4),
            "real_seconds": round(real, 1),
        }


def run(quick: bool) -> dict[str, object]:
    """Run the benchmark; returns rows for the summary table plus the raw figures.

    Each size runs twice: sessions created all at once (the worst case for list sweeps:
    every sweep re-reads every row of one window) and created at the bulk-invite pace of
    500/min (what a batch job watches: the window closes behind finished sessions).
    """
    sizes = (100, 500) if quick else (100, 1_000, 10_000)
    results = []
    for size in sizes:
        for invite_rate in (None, 500.0):
            result: dict[str, float] = anyio.run(
                _measure,
                size,
                7,
                invite_rate,
                backend="asyncio",
                backend_options={"loop_factory": virtual_time_loop_factory},
            )
            results.append(result)
    rows = [
        {
            "case": f"{int(r['sessions']):,} sessions, created {r['created']}",
            "metric": "polling requests/min",
            "value": r["watcher_per_minute"],
            "baseline": "naive GET per session at the same freshness",
            "baseline_value": r["naive_per_minute"],
            "ratio": round(1 / r["ratio"], 1),
            **(
                {
                    "goal": f"≥ {1 / GOAL_RATIO:.0f}× fewer (≤ 2 % of naive)",
                    "met": r["ratio"] <= GOAL_RATIO,
                }
                if r["sessions"] >= 10_000 and r["created"] == "at once"
                else {}
            ),
        }
        for r in results
    ]
    rows.extend(_walk_rows(results, quick))
    scale = _scale(quick)
    rows.extend(scale["rows"])
    notes = [
        "Virtual-time emulator; candidates open after 30–900 s and talk for 300–1200 s.",
        "Freshness: mean delay between a completion and its report; naive polling with "
        "period 2 × that delay has the same mean delay.",
        "'created 500/min' spreads creation at the bulk-invite pace; sessions finished "
        "before the watch began cost the naive poller nothing, so the ratio is lower.",
        "Hand-written list walk: plain aiohttp walking every list page of the watched "
        "sessions' window, back to back at the polling share (250/min), a completion "
        "reported when the page holding it arrives; same sessions, same seed.",
        "CPU per sweep: this process's CPU over a watch of idle sessions (every sweep walks "
        "every row) ÷ full sweeps; the in-process emulator's serving of the pages is included.",
        "Memory per session: what the watch retains after its first sweep, by tracemalloc, "
        "counting allocations of zenhire_async outside its testing package.",
    ]
    return {
        "title": "3. Watching (ratio = naive ÷ ours)",
        "rows": rows,
        "notes": notes,
        "params": {"raw": results, "scale": scale["raw"]},
    }


def _walk_rows(results: list[dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """Ours vs the hand-written list walk at the largest size, sessions created at once."""
    ours = next(
        r
        for r in results
        if r["sessions"] == max(x["sessions"] for x in results) and r["created"] == "at once"
    )
    walk = list_walk(int(ours["sessions"]), 7, SIMULATION)
    ours["list_walk"] = walk
    rows = []
    for key, label in (("mean", "mean"), ("p95", "p95"), ("max", "max")):
        mine, theirs = ours[f"{key}_notice_s"], walk[f"{key}_notice_s"]
        rows.append(
            {
                "case": f"{int(ours['sessions']):,} sessions, created at once",
                "metric": f"notice delay {label} s",
                "value": mine,
                "baseline": f"hand-written list walk ({walk['per_minute']:.0f} req/min)",
                "baseline_value": round(theirs, 1),
                "ratio": round(theirs / mine, 2),
                "goal": "better (ratio > 1)",
                "met": mine < theirs,
            }
        )
    return rows


def _scale(quick: bool) -> dict[str, Any]:
    """CPU per list sweep at two sizes and at the largest, memory per watched session."""
    small, large = (1_000, 4_000) if quick else (5_000, 20_000)
    biggest = 20_000 if quick else 100_000
    cpu = {n: sweep_cpu(n) for n in sorted({small, large, biggest})}
    per_session = book_memory(biggest)
    growth = cpu[large]["cpu_per_sweep_s"] / cpu[small]["cpu_per_sweep_s"]
    rows: list[dict[str, Any]] = [
        {
            "case": f"{large:,} ÷ {small:,} idle sessions",
            "metric": "CPU per list sweep, ratio",
            "value": round(growth, 2),
            "goal": f"≤ {large / small / 4 * 5:.0f}× (linear)",
            "met": growth <= large / small / 4 * 5,
        }
    ]
    for n in sorted(cpu):
        rows.append(
            {
                "case": f"{n:,} idle sessions",
                "metric": "CPU s per list sweep",
                "value": round(cpu[n]["cpu_per_sweep_s"], 3),
                **(
                    {"goal": "≤ 3 s", "met": cpu[n]["cpu_per_sweep_s"] <= 3} if n >= 100_000 else {}
                ),
            }
        )
    rows.append(
        {
            "case": f"{biggest:,} sessions, all finished",
            "metric": "bytes retained per watched session",
            "value": round(per_session["finished"]),
            "goal": "≤ 400 B",
            "met": per_session["finished"] <= 400,
        }
    )
    rows.append(
        {
            "case": f"{biggest:,} sessions, all pending (last rows kept)",
            "metric": "bytes retained per watched session",
            "value": round(per_session["pending"]),
        }
    )
    return {"rows": rows, "raw": {"cpu": cpu, "bytes_per_session": per_session}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 500 sessions only")
    args = parser.parse_args(argv)
    report = run(args.quick)
    header = (
        "sessions",
        "created",
        "minutes",
        "req/min",
        "naive req/min",
        "ratio",
        "notice mean/max s",
    )
    print("  ".join(f"{h:>17}" for h in header))
    for r in report["params"]["raw"]:  # type: ignore[index]
        cells = (
            f"{r['sessions']:,}",
            f"{r['created']}",
            f"{r['virtual_minutes']}",
            f"{r['watcher_per_minute']}",
            f"{r['naive_per_minute']}",
            f"{r['ratio']:.2%}",
            f"{r['mean_notice_s']}/{r['max_notice_s']}",
        )
        print("  ".join(f"{c:>17}" for c in cells))
    out = Path(__file__).parent / "results" / "watch.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
