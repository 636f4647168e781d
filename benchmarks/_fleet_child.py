"""One process of ``bench_fleet``'s fleet: ``python -m benchmarks._fleet_child MODE ...``.

Every mode but ``cpu`` connects first (one call), prints ``ready``, and starts at the
wall-clock instant the parent then writes on its stdin (the same for the whole fleet);
every mode ends by printing one JSON object. Times are wall-clock (``time.time()``) where
the parent compares them with its own (it starts, stops and restarts Redis), else the
loop's clock. ``--redis none`` runs without a coordinator (local pacing at ``--rate``).

- ``credits``: 4 tasks call ``credits()`` until ``--seconds`` pass, ``max_retries=0`` (every
  429 counted once); ``--priority batch`` makes them batch.
- ``interactive``: one persona, then one ``sessions.create`` every ``--gap`` seconds; the
  latency of each create and the pacing wait it saw (``PacingWaited``).
- ``outage``: as ``credits`` with the default retries; exceptions raised to the callers,
  429 answers (``ResponseReceived``), and when ``coordinator.shared`` changed.
- ``bulk``: ``bulk_invite`` over the rows of ``--csv`` (read before the loop starts), of
  ``--shard I/N`` or all (``none``), with ``--journal``; its report's counts and the 429s.
- ``cpu``: ``--count`` sequential ``credits()`` calls at a rate that never waits; the
  process CPU time they took.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import time
from collections import Counter
from typing import Any

from zenhire_async import RateLimitError, ZenHireClient, events
from zenhire_async.redis import RedisCoordinator

TASKS = 4


class Tally:
    """An ``on_event`` hook: responses by status, pacing waits."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.waits: list[float] = []
        self.limited_at: list[float] = []

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.ResponseReceived):
            self.statuses[event.status] += 1
            if event.status == 429:
                self.limited_at.append(time.time())
        elif isinstance(event, events.PacingWaited):
            self.waits.append(event.seconds)


def _client(
    args: argparse.Namespace, coordinator: RedisCoordinator | None, **kw: Any
) -> ZenHireClient:
    return ZenHireClient(
        api_key=args.key,
        base_url=args.base_url,
        rate_limit_per_minute=args.rate,
        coordinator=coordinator,
        **kw,
    )


async def _until_start(args: argparse.Namespace) -> None:
    """Tell the parent this process is ready (imported, connected), then wait for the
    wall-clock start it sends to every process once all are ready."""
    print("ready", flush=True)
    start_at = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, start_at - time.time()))


async def _credits(
    args: argparse.Namespace, coordinator: RedisCoordinator | None
) -> dict[str, Any]:
    answered = limited = 0
    last = 0.0
    async with _client(args, coordinator, max_retries=0, priority=args.priority) as zh:
        await zh.credits()  # connected (and shared) before the start
        await _until_start(args)
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

        await asyncio.gather(*(calls() for _ in range(TASKS)))
    return {"answered": answered, "limited": limited, "elapsed": last}


async def _interactive(
    args: argparse.Namespace, coordinator: RedisCoordinator | None
) -> dict[str, Any]:
    tally = Tally()
    latencies: list[float] = []
    limited = 0
    async with _client(args, coordinator, max_retries=0, on_event=tally) as zh:
        persona = await zh.personas.create("Fleet benchmark", "en")
        await zh.credits()  # connected (and shared) before the start
        await _until_start(args)
        tally.waits.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.seconds
        n = 0
        while loop.time() < deadline:
            n += 1
            began = loop.time()
            try:
                await zh.sessions.create(
                    persona.id, consent_mode="explicit", candidate_ref=f"bench-{n}"
                )
                latencies.append(loop.time() - began)
            except RateLimitError:
                limited += 1
            await asyncio.sleep(max(0.0, began + args.gap - loop.time()))
    return {"latencies": latencies, "waits": tally.waits, "limited": limited}


async def _outage(args: argparse.Namespace, coordinator: RedisCoordinator | None) -> dict[str, Any]:
    assert coordinator is not None
    tally = Tally()
    answered = 0
    raised: Counter[str] = Counter()
    changes: list[tuple[float, bool]] = []
    async with _client(args, coordinator, on_event=tally) as zh:
        await zh.credits()  # connected and shared before the start
        await _until_start(args)
        tally.statuses.clear()
        tally.limited_at.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.seconds

        async def calls() -> None:
            nonlocal answered
            while loop.time() < deadline:
                try:
                    await zh.credits()
                    answered += 1
                except Exception as exc:  # what a caller of the SDK would see
                    raised[type(exc).__name__] += 1

        async def watch_mode() -> None:
            shared = coordinator.shared
            changes.append((time.time(), shared))
            while loop.time() < deadline:
                if coordinator.shared != shared:
                    shared = coordinator.shared
                    changes.append((time.time(), shared))
                await asyncio.sleep(0.02)

        await asyncio.gather(watch_mode(), *(calls() for _ in range(TASKS)))
    return {
        "answered": answered,
        "raised": dict(raised),
        "responses": sum(tally.statuses.values()),
        "limited": tally.statuses[429],
        "limited_at": tally.limited_at,
        "changes": changes,
    }


def _read_rows(path: str) -> list[dict[str, object]]:
    """The CSV's rows as bulk-invite rows."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{"candidate_ref": row["candidate_ref"]} for row in csv.DictReader(fh)]


async def _bulk(args: argparse.Namespace, coordinator: RedisCoordinator | None) -> dict[str, Any]:
    tally = Tally()
    rows = _read_rows(args.csv)
    shard = None if args.shard == "none" else tuple(int(x) for x in args.shard.split("/"))
    async with _client(args, coordinator, on_event=tally) as zh:
        await zh.credits()  # connected (and shared) before the start
        await _until_start(args)
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
        "limited": tally.statuses[429],
    }


async def _cpu(args: argparse.Namespace, coordinator: RedisCoordinator | None) -> dict[str, Any]:
    async with _client(args, coordinator) as zh:
        for _ in range(50):  # warm: connections, scripts loaded, code paths taken once
            await zh.credits()
        began = time.process_time()
        for _ in range(args.count):
            await zh.credits()
        cpu = time.process_time() - began
    return {"cpu": cpu, "count": args.count, "shared": coordinator is None or coordinator.shared}


MODES = {
    "credits": _credits,
    "interactive": _interactive,
    "outage": _outage,
    "bulk": _bulk,
    "cpu": _cpu,
}


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    coordinator = RedisCoordinator(args.redis) if args.redis != "none" else None
    try:
        return await MODES[args.mode](args, coordinator)
    finally:
        if coordinator is not None:
            await coordinator.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--key", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--rate", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--priority", default="interactive")
    parser.add_argument("--gap", type=float, default=0.25)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--persona")
    parser.add_argument("--csv")
    parser.add_argument("--shard", default="none")
    parser.add_argument("--journal")
    print(json.dumps(asyncio.run(_main(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
