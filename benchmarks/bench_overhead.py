"""Benchmark 2 — per-request overhead of ``sessions.get`` on loopback, at concurrency 1 and 64.

The server (``benchmarks/_server.py``) runs in a separate process, so this process's CPU
time (``time.process_time()``) is the client's alone; divided by the requests sent it is the
client CPU per request. Contenders, alternating within each round over warm connections:

* ours: ``ZenHireClient(rate_limit_per_minute=None)`` — pacing off, since the default
  500 requests/minute would make this a benchmark of the rate limit;
* raw aiohttp: one ``ClientSession``, ``read()`` and a msgspec decoder — the floor;
* httpx + pydantic: ``httpx.AsyncClient`` and ``TypeAdapter.validate_json``, what most teams
  write by hand.

Every contender checks the status and decodes the body to a typed ``SessionDetail``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import httpx
import msgspec

from benchmarks import _callgrind, _peers
from benchmarks._harness import Row, comparison_row, standalone
from benchmarks._server import API_KEY, serve
from zenhire_async import ZenHireClient
from zenhire_async.models import SessionDetail

PREFIX = "/api/v1/interview/sessions/"
# Distinct ids, as an ATS backend reading its sessions sends: more than the URL caches
# (yarl's and ours) hold, so that no contender gets a cache hit a real workload would miss.
SESSION_IDS = [str(uuid.UUID(int=n, version=4)) for n in range(1, 2049)]
RAW = "raw aiohttp + msgspec"
HTTPX = "httpx + pydantic"

Get = Callable[[str], Awaitable[object]]


PACED = "ours, pacer on"
# The default pacer's code, at a rate that never makes it wait (at the default 500/min this
# would be a benchmark of the rate limit): the bookkeeping every default request pays.
NEVER_WAITS = 1_000_000_000


async def _clients(stack: AsyncExitStack, base_url: str) -> dict[str, Get]:
    ours = await stack.enter_async_context(
        ZenHireClient(api_key=API_KEY, base_url=base_url, rate_limit_per_minute=None)
    )
    paced = await stack.enter_async_context(
        ZenHireClient(api_key=API_KEY, base_url=base_url, rate_limit_per_minute=NEVER_WAITS)
    )
    raw = await stack.enter_async_context(
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100), headers={"X-API-Key": API_KEY}
        )
    )
    hx = await stack.enter_async_context(
        httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": API_KEY},
            limits=httpx.Limits(max_connections=100),
        )
    )
    url = base_url + PREFIX
    detail = msgspec.json.Decoder(SessionDetail)

    async def get_ours(session_id: str) -> object:
        return await ours.sessions.get(session_id)

    async def get_paced(session_id: str) -> object:
        return await paced.sessions.get(session_id)

    async def get_raw(session_id: str) -> object:
        async with raw.get(url + session_id) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            return detail.decode(body)

    async def get_httpx(session_id: str) -> object:
        resp = await hx.get(PREFIX + session_id)
        resp.raise_for_status()
        return _peers.pydantic_detail(resp.content)

    return {PACED: get_paced, "ours": get_ours, RAW: get_raw, HTTPX: get_httpx}


async def _batch(get: Get, requests: int, concurrency: int) -> tuple[float, float]:
    """Send ``requests`` with ``concurrency`` workers; return (CPU s, wall s)."""
    ids = itertools.islice(itertools.cycle(SESSION_IDS), requests)

    async def worker() -> None:
        for session_id in ids:
            await get(session_id)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - cpu, time.perf_counter() - wall


async def _measure(
    base_url: str, concurrencies: dict[int, int], rounds: int
) -> dict[int, dict[str, tuple[list[float], list[float]]]]:
    """Per concurrency, per contender: (CPU s per request, requests/s) of each round."""
    out: dict[int, dict[str, tuple[list[float], list[float]]]] = {}
    async with AsyncExitStack() as stack:
        clients = await _clients(stack, base_url)
        for concurrency, requests in concurrencies.items():
            series: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in clients}
            for get in clients.values():  # warm up: connections, caches
                await _batch(get, max(concurrency, 50), concurrency)
            for _ in range(rounds):
                for name, get in clients.items():
                    cpu, wall = await _batch(get, requests, concurrency)
                    series[name][0].append(cpu / requests)
                    series[name][1].append(requests / wall)
            out[concurrency] = series
    return out


def run(quick: bool) -> dict[str, Any]:
    """Client CPU per request and requests/s for each contender and concurrency."""
    rounds = 3 if quick else 5
    concurrencies = {1: 200, 64: 600} if quick else {1: 600, 64: 2000}
    with serve() as base_url:
        measured = asyncio.run(_measure(base_url, concurrencies, rounds))
    rows: list[Row] = []
    for concurrency, series in measured.items():
        case = f"concurrency {concurrency}"
        ours_cpu, ours_rps = series["ours"]
        rows.append(
            comparison_row(
                f"{case}, pacer on (default client)",
                "client CPU µs/request",
                series[PACED][0],
                RAW,
                series[RAW][0],
                goal="≥ 0.91 (≤ 1.10× raw)",
                goal_ratio=1 / 1.10,
                scale=1e6,
            )
        )
        rows.append(
            comparison_row(
                f"{case}, pacing off",
                "client CPU µs/request",
                ours_cpu,
                RAW,
                series[RAW][0],
                goal="≥ 0.91 (≤ 1.10× raw)",
                goal_ratio=1 / 1.10,
                scale=1e6,
            )
        )
        rows.append(
            comparison_row(
                case,
                "client CPU µs/request",
                ours_cpu,
                HTTPX,
                series[HTTPX][0],
                goal="≥ 3× less CPU",
                goal_ratio=3.0,
                scale=1e6,
            )
        )
        for peer in (RAW, HTTPX):
            rows.append(
                comparison_row(
                    case, "requests/s", ours_rps, peer, series[peer][1], lower_is_better=False
                )
            )
    notes = []
    if not quick and _callgrind.available():
        with serve() as base_url:
            counts = _callgrind.per_request(base_url)
        raw = counts[_callgrind.CONTENDERS[2]]
        for name in _callgrind.CONTENDERS[:2]:
            rows.insert(
                0 if "default" in name else 1,
                Row(
                    case=f"concurrency 1, {name.removeprefix('ours, ')}",
                    metric="instructions/request (callgrind)",
                    value=counts[name],
                    baseline=RAW,
                    baseline_value=raw,
                    ratio=raw / counts[name],
                    goal="≥ 0.91 (≤ 1.10× raw)",
                    met=counts[name] <= 1.10 * raw,
                ),
            )
        notes.append(
            "Instructions: valgrind --tool=callgrind (optional: only where valgrind is "
            f"installed, full runs only); ({_callgrind.LARGE} − {_callgrind.SMALL} requests) "
            "difference per request, so start-up is not counted; the default pacer row is "
            "ZenHireClient's defaults as they are (500/min)."
        )
    return {
        "title": (
            "2. Per-request overhead of sessions.get (ratio = peer ÷ ours for CPU, "
            "ours ÷ peer for req/s; > 1 means we are better)"
        ),
        "params": {"rounds": rounds, "requests_per_round": concurrencies},
        "rows": rows,
        "notes": [
            *notes,
            "'pacer on' is the default client's token bucket at a rate that never waits "
            f"({NEVER_WAITS:,}/min); 'pacing off' is rate_limit_per_minute=None; every other "
            "setting is the default (retries, timeouts, redirect checks, logging checks).",
            "The server is a separate process on 127.0.0.1 sharing the 2 cores, so req/s is "
            "bounded by it; client CPU per request is this process's CPU time ÷ requests.",
        ],
    }


if __name__ == "__main__":
    standalone("overhead", __doc__, run)
