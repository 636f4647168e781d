"""Many processes, one key: worker processes sharing one rate budget through Redis.

Every worker is a plain process with its own event loop, its own ``RedisCoordinator`` and its
own ``ZenHireClient``; they share nothing but the API key and the Redis server, and together
stay within the key's ``rate_limit_per_minute`` (Redis holds the budget, never the key).
Against the emulator, with a Redis server running, in two terminals:

    zenhire emulator                     # prints the two export lines
    export ZENHIRE_BASE_URL=http://127.0.0.1:8080 ZENHIRE_API_KEY=zh_api_…
    export REDIS_URL=redis://127.0.0.1:6379/0
    python examples/fleet_worker.py --workers 4 --candidates 200

Each worker invites its share of the candidates (``candidate_ref`` ``fleet-N``) as batch
traffic, so that a person's call in a web replica on the same key is served first. The
workers could as well be Celery, arq or taskiq workers or Kubernetes pods: what matters is
one coordinator per process, made inside the process, on the same Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import anyio

from zenhire_async import ZenHireClient, events
from zenhire_async.redis import RedisCoordinator

TASKS_PER_WORKER = 4


@dataclass(frozen=True)
class WorkerReport:
    """What one worker did."""

    index: int
    invited: int
    rate_limited: int  # 429 answers the worker saw (each one retried by the client)
    shared: bool  # whether the coordinator was on the shared budget at the end


class RateLimitCounter:
    """An ``on_event`` hook counting the server's 429 answers."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.RateLimited):
            self.count += 1


@dataclass(frozen=True)
class Share:
    """One worker's part of the job."""

    index: int
    workers: int
    candidates: int
    persona_id: str
    redis_url: str
    rate: int


async def work(share: Share) -> WorkerReport:
    """Invite every candidate ``n`` with ``n % workers == index``, a few at a time."""
    refs = [f"fleet-{n}" for n in range(share.candidates) if n % share.workers == share.index]
    counter = RateLimitCounter()
    invited = 0
    async with (
        RedisCoordinator(share.redis_url) as coordinator,  # one per process, made in it
        ZenHireClient(  # $ZENHIRE_API_KEY, $ZENHIRE_BASE_URL
            rate_limit_per_minute=share.rate,
            coordinator=coordinator,
            priority="batch",
            on_event=counter,
        ) as zh,
    ):

        async def invite_from(queue: list[str]) -> None:
            nonlocal invited
            while queue:
                ref = queue.pop()
                await zh.sessions.create(
                    share.persona_id, consent_mode="explicit", candidate_ref=ref
                )
                invited += 1  # a real worker would store invite.candidate_link first

        async with anyio.create_task_group() as tg:
            for _ in range(TASKS_PER_WORKER):
                tg.start_soon(invite_from, refs)
        shared = coordinator.shared
    return WorkerReport(share.index, invited, counter.count, shared)


def run_worker(share: Share) -> WorkerReport:
    """One worker process's whole life: its own event loop, coordinator and client."""
    return asyncio.run(work(share))


async def make_persona(redis_url: str, rate: int) -> str:
    """The persona the workers invite to (made by this process, on the same budget)."""
    async with (
        RedisCoordinator(redis_url) as coordinator,
        ZenHireClient(rate_limit_per_minute=rate, coordinator=coordinator) as zh,
    ):
        persona = await zh.personas.create("Fleet worker example", "en")
    return persona.id


def main(argv: list[str] | None = None) -> int:
    """Start the workers, wait for them, print what each did; 1 if any answer was a 429."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL"), help="$REDIS_URL")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--rate", type=int, default=500, help="the key's requests per minute")
    args = parser.parse_args(argv)
    if not args.redis:
        parser.error("give --redis URL or set REDIS_URL")
    persona_id = asyncio.run(make_persona(args.redis, args.rate))
    # "spawn": each worker starts a fresh interpreter, as a real worker pool would
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        shares = [
            Share(index, args.workers, args.candidates, persona_id, args.redis, args.rate)
            for index in range(args.workers)
        ]
        futures = [pool.submit(run_worker, share) for share in shares]
        reports = [future.result() for future in futures]
    for r in reports:
        mode = "shared budget" if r.shared else "local fallback"
        print(f"worker {r.index}: invited {r.invited}, {r.rate_limited} answers were 429 ({mode})")
    invited = sum(r.invited for r in reports)
    limited = sum(r.rate_limited for r in reports)
    print(
        f"{args.workers} workers invited {invited} of {args.candidates} candidates "
        f"on one key: {limited} answers were 429"
    )
    return 1 if limited else 0


if __name__ == "__main__":
    sys.exit(main())
