"""Benchmark 7 — hostile bodies: peak RSS growth of one ``sessions.list()`` call.

Each case runs in a fresh process (``python -m benchmarks.bench_bodies --child KIND``): an
emulator in that process answers ``GET /sessions`` with a 200 MB JSON page (``huge_body``),
a gzip bomb (0.3 MB on the wire, 300 MiB inflated: ``gzip_bomb``) or a chunked body that
never ends (``endless_body``); the client calls ``sessions.list()`` once. The peak RSS is
reset (Linux ``clear_refs``) after a warm-up call and read back from ``VmHWM``, so the
figure is what the one hostile answer cost. The child's address space is capped at 6 GiB
and the call at 60 s, so that a client without a body cap fails instead of the machine.
The goal follows the documented bound: no more than about the cap (8 MiB) held, twice for
the final copy, plus a chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
from typing import Any

from benchmarks._harness import Row, standalone

MIB = 1024 * 1024
GOAL_MB = 32.0
CASES = {
    "huge_body": ("200 MB JSON page", 200 * 1000 * 1000),
    "gzip_bomb": ("gzip bomb, 0.3 MB → 300 MiB", 300 * MIB),
    "endless_body": ("endless chunked body", None),
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


async def _child(kind: str) -> dict[str, Any]:
    from zenhire_async import ZenHireClient, ZenHireError
    from zenhire_async.testing import Emulator, _bodies

    async with (
        Emulator() as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0, timeout=60) as zh,
    ):
        await zh.sessions.list()  # warm-up: connections, decoders, imports
        emu.faults.add(kind, count=1, size=CASES[kind][1], route="GET /sessions")  # type: ignore[arg-type]
        if kind == "gzip_bomb":  # the emulator's side of it, built before the peak is reset
            _bodies._bomb(CASES[kind][1] or 0)
        _reset_peak()
        before = _status_kib("VmRSS")
        try:
            await zh.sessions.list()
            outcome = "returned"
        except ZenHireError as error:
            outcome = type(error).__name__
        except MemoryError:
            outcome = "MemoryError"
        peak = _status_kib("VmHWM")
    return {"kind": kind, "outcome": outcome, "growth_mb": (peak - before) / 1024}


def _run_child(kind: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_bodies", "--child", kind],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if out.returncode != 0:
        return {"kind": kind, "outcome": f"crashed ({out.stderr.strip()[-200:]})", "growth_mb": 0}
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(quick: bool) -> dict[str, Any]:
    """Peak RSS growth (MB) of one call per hostile body; the same sizes in quick mode."""
    rows: list[Row] = []
    notes: list[str] = []
    for kind, (case, _) in CASES.items():
        result = _run_child(kind)
        growth = float(result["growth_mb"])
        rows.append(
            Row(
                case=case,
                metric="peak RSS growth, MB",
                value=growth,
                goal=f"< {GOAL_MB:g} MB, a typed error",
                met=growth < GOAL_MB and result["outcome"] == "ResponseTooLargeError",
            )
        )
        notes.append(f"{case}: the call ended with {result['outcome']}")
    return {"title": "7. Hostile bodies (one call)", "rows": rows, "notes": notes}


def main() -> None:
    """``--child KIND`` runs one case in this process; otherwise the whole benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    args, _ = parser.parse_known_args()
    if args.child is None:
        standalone("bodies", __doc__, run)
        return
    limit = 6 * 1024 * MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(json.dumps(asyncio.run(_child(args.child))))


if __name__ == "__main__":
    main()
