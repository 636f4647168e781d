"""Benchmark — ``await_completion`` at scale: N concurrent waits vs one ``watch`` of N ids.

For N sessions whose simulated candidates open their links and finish at random times (the
watch benchmark's simulation), N concurrent ``await_completion`` calls on one client wait for
all of them on the emulator, on the virtual-time loop; then one ``sessions.watch`` of the
same N sessions (same seed) runs as the reference. Measured:

* polling requests per minute (list pages + GETs, the final detail GETs included) against
  the polling share (250/min at the defaults);
* mean notice delay: from a session's completion to the wait returning its detail (for the
  watch: to the row being yielded), and the ratio of the two.

Goals (issue 14): requests/min ≤ the polling share; mean delay ≤ 1.5 × watch's. Every wait
needs one detail GET (``await_completion`` returns a ``SessionDetail``), so when sessions
finish faster than the share allows, the share wins and the delay grows.

Run: ``python benchmarks/bench_await.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import anyio

from zenhire_async import TERMINAL_STATUSES, ZenHireClient
from zenhire_async._clock import LoopWallClock
from zenhire_async.testing import Emulator, Simulation, virtual_time_loop_factory

SIMULATION = Simulation(open_delay=(30, 900), duration=(300, 1200), fail_probability=0.1)
SHARE_PER_MINUTE = 250.0


async def _measure(sessions: int, seed: int, mode: str) -> dict[str, float | str]:
    async with (
        Emulator(simulation=SIMULATION, seed=seed) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(sessions)]
        emu.reset_counts()
        clock = LoopWallClock()
        started = anyio.current_time()
        started_wall = clock.now()
        delays: list[float] = []
        cpu = time.process_time()

        def noted(completed_at: object) -> None:
            if completed_at is not None and completed_at >= started_wall:  # type: ignore[operator]
                delays.append((clock.now() - completed_at).total_seconds())  # type: ignore[operator]

        if mode == "await":

            async def wait(session_id: str) -> None:
                noted((await zh.sessions.await_completion(session_id)).completed_at)

            async with anyio.create_task_group() as tg:
                for session_id in ids:
                    tg.start_soon(wait, session_id)
        else:
            async for row in zh.sessions.watch(ids):
                if row.status in TERMINAL_STATUSES:
                    noted(row.completed_at)
        cpu = time.process_time() - cpu
        minutes = (anyio.current_time() - started) / 60
        pages = emu.request_counts["GET /sessions"]
        gets = emu.request_counts["GET /sessions/{id}"]
        return {
            "sessions": sessions,
            "mode": mode,
            "virtual_minutes": round(minutes, 1),
            "list_pages": pages,
            "gets": gets,
            "per_minute": round((pages + gets) / minutes, 1),
            "mean_notice_s": round(statistics.fmean(delays), 1),
            "max_notice_s": round(max(delays), 1),
            "cpu_seconds": round(cpu, 2),
        }


def _run_one(sessions: int, mode: str) -> dict[str, float | str]:
    result: dict[str, float | str] = anyio.run(
        _measure,
        sessions,
        7,
        mode,
        backend="asyncio",
        backend_options={"loop_factory": virtual_time_loop_factory},
    )
    return result


def run(quick: bool) -> dict[str, object]:
    """Run the benchmark; rows for the summary table plus the raw figures."""
    sizes = (100, 500) if quick else (1_000, 10_000)
    raw = []
    rows: list[dict[str, object]] = []
    for size in sizes:
        waits, watch = _run_one(size, "await"), _run_one(size, "watch")
        raw += [waits, watch]
        ratio = float(waits["mean_notice_s"]) / max(float(watch["mean_notice_s"]), 0.1)
        rows.append(
            {
                "case": f"{size:,} concurrent await_completion",
                "metric": "polling requests/min",
                "value": waits["per_minute"],
                "baseline": "polling share",
                "baseline_value": SHARE_PER_MINUTE,
                "ratio": round(float(waits["per_minute"]) / SHARE_PER_MINUTE, 2),
                "goal": "≤ polling share",
                "met": float(waits["per_minute"]) <= SHARE_PER_MINUTE,
            }
        )
        rows.append(
            {
                "case": f"{size:,} concurrent await_completion",
                "metric": "mean notice delay s",
                "value": waits["mean_notice_s"],
                "baseline": f"watch of {size:,} ids",
                "baseline_value": watch["mean_notice_s"],
                "ratio": round(ratio, 2),
                "goal": "≤ 1.5 × watch's",
                "met": ratio <= 1.5,
            }
        )
    notes = [
        "Virtual-time emulator; candidates open after 30–900 s and talk for 300–1200 s.",
        "Notice delay: completion to the wait returning its SessionDetail (watch: to the row).",
        "Each wait costs one detail GET, charged to the polling share with the list pages.",
    ]
    return {
        "title": "await_completion at scale",
        "rows": rows,
        "notes": notes,
        "params": {"raw": raw},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 500 sessions only")
    parser.add_argument("--sizes", type=int, nargs="*", help="session counts to run instead")
    parser.add_argument("--modes", nargs="*", default=["await", "watch"], help="with --sizes")
    args = parser.parse_args(argv)
    if args.sizes:
        raw = [_run_one(n, m) for n in args.sizes for m in args.modes]
    else:
        raw = run(args.quick)["params"]["raw"]  # type: ignore[index]
    keys = ("sessions", "mode", "virtual_minutes", "list_pages", "gets", "per_minute")
    keys += ("mean_notice_s", "max_notice_s", "cpu_seconds")
    print("  ".join(f"{k:>15}" for k in keys))
    for r in raw:
        print("  ".join(f"{r[k]!s:>15}" for k in keys))
    out = Path(__file__).parent / "results" / "await.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
