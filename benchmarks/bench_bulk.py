"""Bulk-invite benchmarks: pacing against a rate-limited server, and memory for a big CSV.

1. **Pacing.** ``rows`` invites against the emulator with its per-key limit at ``N`` requests
   a minute and the client's pacing at the same ``N``. Elapsed time is compared with the
   ideal bound ``rows / N`` minutes (goal ≤ 1.05×) and the 429s the client received are
   counted (goal 0). It runs on the testing package's virtual-time loop, so 20 minutes of
   pacing take seconds; the clock still counts every sleep and timer exactly. A shorter run
   on a normal (real-time) loop at a higher ``N`` checks the same ratio on the wall clock.
2. **Memory.** A child process invites every row of a CSV (streamed with ``csv.DictReader``)
   against an emulator in this process and reports its own peak RSS (``VmHWM``, else
   ``resource.getrusage``); the baseline is the same child with 1,000 rows, so the
   difference is what the rows cost.

Run ``python benchmarks/bench_bulk.py [--quick]``: prints a table and writes
``benchmarks/results/bulk.json``. ``run(quick)`` returns the same figures as a dict.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import anyio

from benchmarks._harness import comparison_row
from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator, virtual_time_loop_factory

RESULTS = Path(__file__).resolve().parent / "results" / "bulk.json"


class _StatusCounter(logging.Handler):
    """Counts the SDK's per-attempt DEBUG lines that ended in a given HTTP status."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count_429 = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and len(record.args) > 2 and record.args[2] == "429":
            self.count_429 += 1


async def _paced_job(rows: int, per_minute: int) -> dict[str, Any]:
    counter = _StatusCounter()
    logger = logging.getLogger("zenhire_async")
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        async with (
            Emulator(rate_limit_per_minute=per_minute) as emu,
            ZenHireClient(
                api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=per_minute
            ) as zh,
        ):
            persona = emu.create_persona()
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                report = await zh.sessions.bulk_invite(
                    persona,
                    ({"candidate_ref": f"ats-{i}"} for i in range(rows)),
                    consent_mode="explicit",
                    journal=Path(tmp) / "journal.jsonl",
                    concurrency=8,
                )
                wall = time.perf_counter() - started
            ideal = rows / per_minute * 60.0
            return {
                "rows": rows,
                "per_minute": per_minute,
                "created": report.created,
                "elapsed_s": round(report.elapsed, 2),
                "ideal_s": round(ideal, 2),
                "ratio": round(report.elapsed / ideal, 4),
                "http_429": counter.count_429,
                "requests": emu.total_requests,
                "wall_s": round(wall, 2),
            }
    finally:
        logger.removeHandler(counter)
        logger.setLevel(logging.NOTSET)


def pacing(rows: int, per_minute: int, *, virtual: bool) -> dict[str, Any]:
    """One paced bulk invite; on the virtual-time loop unless ``virtual`` is False."""
    options = {"loop_factory": virtual_time_loop_factory} if virtual else {}
    result: dict[str, Any] = anyio.run(
        _paced_job, rows, per_minute, backend="asyncio", backend_options=options
    )
    result["clock"] = "virtual" if virtual else "real"
    return result


# -- client CPU and fsyncs per row ---------------------------------------------------------


class _FsyncCounter:
    """Counts ``os.fsync``/``os.fdatasync`` calls of this process while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._saved: dict[str, Any] = {}
        self._journal_sync: Any = None

    def __enter__(self) -> _FsyncCounter:
        for name in ("fsync", "fdatasync"):
            real = getattr(os, name)
            self._saved[name] = real

            def counted(fd: int, _real: Any = real) -> None:
                self.count += 1
                _real(fd)

            setattr(os, name, counted)

        from zenhire_async import _bulk_journal

        real_sync = getattr(_bulk_journal, "_sync", None)  # bound at import: patched there too
        if real_sync is not None:

            def journal_sync(fd: int) -> None:
                self.count += 1
                real_sync(fd)

            _bulk_journal._sync = journal_sync
        self._journal_sync = real_sync
        return self

    def __exit__(self, *exc: object) -> None:
        for name, real in self._saved.items():
            setattr(os, name, real)
        if self._journal_sync is not None:
            from zenhire_async import _bulk_journal

            _bulk_journal._sync = self._journal_sync


async def _cpu_ours(info: dict[str, Any], rows: int, journal: Path, tag: str) -> tuple[float, int]:
    async with ZenHireClient(
        api_key=info["api_key"], base_url=info["base_url"], rate_limit_per_minute=None
    ) as zh:
        with _FsyncCounter() as fsyncs:
            cpu = time.process_time()
            report = await zh.sessions.bulk_invite(
                info["persona_id"],
                ({"candidate_ref": f"{tag}-{i}"} for i in range(rows)),
                consent_mode="explicit",
                journal=journal,
                concurrency=8,
            )
            cpu = time.process_time() - cpu
    assert report.created == rows, report
    return cpu / rows, fsyncs.count


async def _cpu_raw(info: dict[str, Any], rows: int, journal: Path, tag: str) -> tuple[float, int]:
    """What a careful hand-written job does: 8 workers, POST, one fsync'd line per link."""
    import aiohttp
    import msgspec

    url = f"{info['base_url']}/api/v1/interview/personas/{info['persona_id']}/sessions"
    encoder = msgspec.json.Encoder()
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    loop = asyncio.get_running_loop()
    refs = iter(range(rows))

    def write(line: bytes) -> None:
        os.write(fd, line)
        os.fsync(fd)

    async with aiohttp.ClientSession(headers={"X-API-Key": info["api_key"]}) as http:

        async def worker() -> None:
            for i in refs:
                body = {"consent_mode": "explicit", "candidate_ref": f"{tag}-{i}"}
                async with http.post(url, data=encoder.encode(body), headers=_JSON) as resp:
                    answer = msgspec.json.decode(await resp.read())
                    if resp.status != 201:
                        raise RuntimeError(f"HTTP {resp.status}")
                record = {"ref": f"{tag}-{i}", "id": answer["id"], "link": answer["candidate_link"]}
                await loop.run_in_executor(None, write, encoder.encode(record) + b"\n")

        try:
            with _FsyncCounter() as fsyncs:
                cpu = time.process_time()
                await asyncio.gather(*(worker() for _ in range(8)))
                cpu = time.process_time() - cpu
        finally:
            os.close(fd)
    return cpu / rows, fsyncs.count


_JSON = {"Content-Type": "application/json"}


def client_cpu(rows: int, rounds: int) -> dict[str, Any]:
    """Client CPU per row and fsyncs per row, pacing off, emulator in another process."""
    from benchmarks._emulator_proc import emulator_process

    ours: list[float] = []
    raw: list[float] = []
    fsyncs: list[float] = []
    with emulator_process() as info, tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in ("ours", "raw"):
                journal = Path(tmp) / f"{name}-{r}.jsonl"
                job = _cpu_ours if name == "ours" else _cpu_raw
                per_row, syncs = asyncio.run(job(info, rows, journal, f"{name}{r}"))
                (ours if name == "ours" else raw).append(per_row)
                if name == "ours":
                    fsyncs.append(syncs / rows)
    return {"rows": rows, "rounds": rounds, "ours_s": ours, "raw_s": raw, "fsyncs": fsyncs}


# -- memory ---------------------------------------------------------------------------------


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["candidate_ref", "team"])
        for i in range(rows):
            writer.writerow([f"ats-{i:07d}", f"team-{i % 7}"])


def _csv_rows(fh: IO[str]) -> Iterator[dict[str, object]]:
    for row in csv.DictReader(fh):
        yield {"candidate_ref": row["candidate_ref"], "tags": [row["team"]]}


async def _child_job(
    base_url: str, api_key: str, persona: str, rows: Iterator[dict[str, object]], journal: str
) -> int:
    async with ZenHireClient(api_key=api_key, base_url=base_url, rate_limit_per_minute=None) as zh:
        report = await zh.sessions.bulk_invite(
            persona, rows, consent_mode="explicit", journal=journal, concurrency=8
        )
    return report.created


def _child(argv: list[str]) -> None:
    base_url, api_key, persona, csv_path, journal = argv
    with open(csv_path, newline="") as fh:  # read row by row as the job goes
        created = anyio.run(_child_job, base_url, api_key, persona, _csv_rows(fh), journal)
    print(json.dumps({"created": created, "peak_rss_kb": _peak_rss_kb()}))


def _peak_rss_kb() -> int:
    """This process's peak RSS in KiB.

    On Linux ``getrusage``'s ``ru_maxrss`` survives ``exec``: a child spawned by a big parent
    (this one holds an emulator with every session) would report the parent's size. The
    kernel's ``VmHWM`` belongs to the process's own address space, so it is read first.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


async def _memory_runs(sizes: list[int]) -> list[dict[str, Any]]:
    results = []
    async with Emulator() as emu:
        persona = emu.create_persona()
        with tempfile.TemporaryDirectory() as tmp:
            for rows in sizes:
                csv_path = Path(tmp) / f"candidates-{rows}.csv"
                _write_csv(csv_path, rows)
                journal = Path(tmp) / f"journal-{rows}.jsonl"
                argv = [emu.base_url, emu.api_key, persona, str(csv_path), str(journal)]
                started = time.perf_counter()
                done = await anyio.run_process(
                    [sys.executable, __file__, "--child", *argv],
                    stderr=subprocess.PIPE,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(done.stderr.decode()[-2000:])
                out = json.loads(done.stdout)
                assert out["created"] == rows, out
                results.append(
                    {
                        "rows": rows,
                        "peak_rss_mb": round(out["peak_rss_kb"] / 1024, 1),
                        "wall_s": round(time.perf_counter() - started, 1),
                    }
                )
    return results


def memory(rows: int) -> dict[str, Any]:
    """Peak RSS of a child inviting ``rows`` CSV rows, against a 1,000-row baseline."""
    base, big = anyio.run(_memory_runs, [1_000, rows])
    return {
        "rows": rows,
        "baseline_rows": base["rows"],
        "baseline_peak_rss_mb": base["peak_rss_mb"],
        "peak_rss_mb": big["peak_rss_mb"],
        "growth_mb": round(big["peak_rss_mb"] - base["peak_rss_mb"], 1),
        "wall_s": big["wall_s"],
    }


def run(quick: bool) -> dict[str, Any]:
    """Every bulk benchmark; ``quick`` shrinks the sizes for CI."""
    results = {
        "pacing": [
            pacing(1_000 if quick else 10_000, 500, virtual=True),
            pacing(300 if quick else 1_500, 6_000 if quick else 9_000, virtual=False),
        ],
        "memory": memory(5_000 if quick else 100_000),
        "cpu": client_cpu(1_000 if quick else 3_000, 3 if quick else 5),
        "quick": quick,
    }
    return {"title": "4. Bulk invite", "rows": _rows(results), "params": results}


def _rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The harness's table rows (ratio > 1 = better for us, as everywhere in the table)."""
    rows: list[dict[str, Any]] = []
    for r in results["pacing"]:
        case = f"{r['rows']:,} rows at {r['per_minute']:,}/min ({r['clock']} clock)"
        rows.append(
            {
                "case": case,
                "metric": "elapsed s",
                "value": r["elapsed_s"],
                "baseline": "ideal N-per-minute bound",
                "baseline_value": r["ideal_s"],
                "ratio": round(r["ideal_s"] / r["elapsed_s"], 3),
                "goal": "elapsed ≤ 1.05 × ideal",
                "met": r["elapsed_s"] <= 1.05 * r["ideal_s"],
            }
        )
        rows.append(
            {
                "case": case,
                "metric": "429 responses",
                "value": r["http_429"],
                "goal": "0",
                "met": r["http_429"] == 0,
            }
        )
    c = results["cpu"]
    case = f"{c['rows']:,} rows, pacing off, emulator in another process"
    rows.append(
        comparison_row(
            case,
            "client CPU µs/row",
            c["ours_s"],
            "raw aiohttp, one fsync'd line per row",
            c["raw_s"],
            goal="≤ 400 µs",
            scale=1e6,
        )
    )
    rows[-1]["met"] = rows[-1]["value"] <= 400
    rows.append(
        {
            "case": case,
            "metric": "fsyncs per row",
            "value": statistics.median(c["fsyncs"]),
            "min": min(c["fsyncs"]),
            "max": max(c["fsyncs"]),
            "goal": "≤ 0.6",
            "met": statistics.median(c["fsyncs"]) <= 0.6,
        }
    )
    m = results["memory"]
    rows.append(
        {
            "case": f"{m['rows']:,} CSV rows",
            "metric": "peak RSS growth MB",
            "value": m["growth_mb"],
            "baseline": f"{m['baseline_rows']:,} rows",
            "baseline_value": m["baseline_peak_rss_mb"],
            "goal": "a few MB (≤ 5)",
            "met": m["growth_mb"] <= 5,
        }
    )
    return rows


def _table(results: dict[str, Any]) -> str:
    lines = [
        "bulk invite — pacing (goal: ratio ≤ 1.05, 429s = 0)",
        f"{'clock':<8}{'rows':>8}{'N/min':>8}{'elapsed s':>11}{'ideal s':>9}"
        f"{'ratio':>8}{'429s':>6}{'wall s':>8}",
    ]
    for r in results["params"]["pacing"]:
        lines.append(
            f"{r['clock']:<8}{r['rows']:>8}{r['per_minute']:>8}{r['elapsed_s']:>11}"
            f"{r['ideal_s']:>9}{r['ratio']:>8}{r['http_429']:>6}{r['wall_s']:>8}"
        )
    m = results["params"]["memory"]
    lines += [
        "",
        "bulk invite — peak RSS of the inviting process (CSV streamed)",
        f"{m['baseline_rows']:>7} rows: {m['baseline_peak_rss_mb']} MB",
        f"{m['rows']:>7} rows: {m['peak_rss_mb']} MB  (growth {m['growth_mb']} MB)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--quick`` for CI sizes."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        _child(args[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI)")
    quick = parser.parse_args(args).quick
    results = run(quick)
    print(_table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {os.path.relpath(RESULTS)}")


if __name__ == "__main__":
    main()
