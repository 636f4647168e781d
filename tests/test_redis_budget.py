"""The shared budget (``zenhire_async.redis``) against a real redis-server.

Each "process" is a coordinator with its own Redis client. Redis ``TIME`` is real, so these
tests run on the real clock (``real_time``) and each lasts a few seconds at most. Every test
uses its own API key, so they share the session's server without seeing each other.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer, start_redis

from zenhire_async._rate_limit import Priority, RateLimiter
from zenhire_async._redis_budget import BudgetShape, budget_key
from zenhire_async.redis import RedisCoordinator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

RATE = 1200  # per minute: a burst of 12, one request every 50.5 ms
SHAPE = BudgetShape(RATE, 0.2)
INTERVAL = SHAPE.interval / 1_000_000


@pytest.fixture
def api_key() -> str:
    return f"zh_live_{secrets.token_hex(16)}"


@pytest.fixture
async def fleet(
    redis_server: RedisServer,
) -> AsyncIterator[Callable[[], RedisCoordinator]]:
    """Coordinators from the session server's URL, each its own "process"; closed after."""
    made: list[RedisCoordinator] = []

    def make() -> RedisCoordinator:
        made.append(RedisCoordinator(redis_server.url))
        return made[-1]

    yield make
    for coordinator in made:
        await coordinator.aclose()


async def _hammer(
    coordinator: RedisCoordinator, key: str, tasks: int, seconds: float
) -> list[float]:
    """``tasks`` callers taking slots in a loop for ``seconds``: when each slot came (after
    opening a connection per caller on another key)."""
    warm_up = coordinator.limiter(f"warm-up-{secrets.token_hex(8)}", 60_000)
    await asyncio.gather(*(warm_up.acquire() for _ in range(tasks)))
    limiter = coordinator.limiter(key, RATE)
    times: list[float] = []
    deadline = anyio.current_time() + seconds

    async def caller() -> None:
        while True:
            await limiter.acquire()
            now = anyio.current_time()
            if now > deadline:
                return
            times.append(now)

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(caller)
    return times


def _most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t < start + window) for i, start in enumerate(ordered))


async def test_processes_on_one_key_share_the_rate_and_use_all_of_it(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    seconds = 2.0
    runs = await asyncio.gather(*(_hammer(fleet(), api_key, 3, seconds) for _ in range(3)))
    times = [t for run in runs for t in run]
    ideal = seconds / INTERVAL  # a fresh key: one slot per interval, no burst
    # A slot nobody takes when it comes is lost (under-use is allowed, overshoot is not), and
    # on a loaded machine a caller's wake-up can be late by a few intervals: the floor only
    # catches a budget that wastes its rate (each process at a third would give 0.4).
    assert len(times) >= 0.8 * ideal
    assert len(times) <= ideal + 1
    # Any 1 s window: a bucket's worth plus what refills. Times are the callers' wake-ups,
    # which a stall of the loop bunches (+4 for that); the server's own count is in
    # test_redis_fleet (no 429 from an emulator enforcing the key's limit).
    assert _most_in_any_window(times, 1.0) <= SHAPE.burst + 1.0 / INTERVAL + 4
    assert all(len(run) > 0.2 * ideal for run in runs)  # each process got its part


async def test_batch_traffic_never_takes_the_interactive_reserve(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    interactive = fleet().limiter(api_key, RATE)
    waits: list[float] = []

    async def person() -> None:
        await anyio.sleep(0.5)  # the batch processes have drained the bucket by now
        for _ in range(5):
            waits.append(await interactive.acquire(priority="interactive"))
            await anyio.sleep(4 * INTERVAL)

    async def batch(coordinator: RedisCoordinator, sent: list[int]) -> None:
        limiter = coordinator.limiter(api_key, RATE)
        deadline = anyio.current_time() + 1.5

        async def caller() -> None:
            while anyio.current_time() < deadline:
                await limiter.acquire(priority="batch")
                sent.append(1)

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(caller)

    sent: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(person)
        tg.start_soon(batch, fleet(), sent)
        tg.start_soon(batch, fleet(), sent)
    assert len(waits) == 5
    # the reserve is there at once: no wait at all, far under 60 / (rate × reserve)
    assert waits == [0.0] * 5
    assert max(waits) <= 60 / (RATE * 0.2) + 0.1
    assert len(sent) >= 0.75 * (SHAPE.burst + 1.5 / INTERVAL) - 5  # batch was saturating


SLOW = 240  # per minute: a burst of 2, one request every 252 ms
SLOW_INTERVAL = BudgetShape(SLOW, 0.2).interval / 1_000_000


async def test_an_interactive_call_waits_its_turn_when_the_bucket_is_empty(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    limiter = fleet().limiter(api_key, SLOW)
    await limiter.acquire()
    await limiter.acquire()
    waited = await limiter.acquire()
    assert 0.6 * SLOW_INTERVAL <= waited <= SLOW_INTERVAL + 0.2  # one turn, not two (0.5 s)


async def test_a_cancelled_waiter_wastes_its_slot_and_never_gives_it_twice(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    limiter = fleet().limiter(api_key, SLOW)
    await limiter.acquire()
    await limiter.acquire()
    with anyio.move_on_after(0.05):
        await limiter.acquire()  # reserved the next slot, then cancelled while sleeping
    waited = await limiter.acquire()  # the slot after it: the cancelled one is not reused
    assert waited >= 2 * SLOW_INTERVAL - 0.05 - 0.05


async def test_a_429_in_one_process_pauses_every_process(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    first, second = fleet(), fleet()
    second_limiter = second.limiter(api_key, RATE)
    # a fresh key: one interval (and a loaded machine's Redis round trips), far from a pause
    assert await second_limiter.acquire() < 0.4
    await first.limiter(api_key, RATE).penalize(0.6)  # written to Redis before it returns
    waited = await second_limiter.acquire()
    assert 0.45 <= waited <= 0.6 + INTERVAL + 0.3  # the pause, and a loaded machine's wake-up


async def test_a_429_holds_the_callers_already_sleeping_toward_their_slot(
    fleet: Callable[[], RedisCoordinator], api_key: str
) -> None:
    limiter = fleet().limiter(api_key, RATE)
    sent: list[float] = []

    async def caller() -> None:
        await limiter.acquire()
        sent.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(8):  # a queue: the later ones sleep toward slots up to 8 intervals on
            tg.start_soon(caller)
        await anyio.sleep(2 * INTERVAL)
        paused = anyio.current_time()
        await limiter.penalize(1.0)
    # whoever had not sent when the 429 came waited for the pause: none sent into it
    inside = [t for t in sent if paused + 0.05 < t < paused + 1.0]
    assert inside == []
    assert len(sent) == 8


async def _slots(limiter: RateLimiter, count: int, priority: Priority) -> list[float]:
    """When each of ``count`` concurrent acquires got its slot, from the first call."""
    started = anyio.current_time()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire(priority=priority)
        times.append(anyio.current_time() - started)

    with anyio.fail_after(10):  # a batch caller refused on a missing key must still get in
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
    return sorted(times)


@pytest.mark.parametrize("priority", ["interactive", "batch"])
async def test_a_missing_key_is_a_full_debt_after_a_restart_and_at_the_first_start(
    api_key: str, priority: Priority
) -> None:
    # A restarted Redis (no persistence) has no budget key while every process has been
    # pacing itself locally: the server's window is full. A fresh bucket must then admit at
    # the steady rate from its first request, never a burst on top; so must a fleet's very
    # first start, where the window may hold what was sent before the coordinator.
    with start_redis() as server:
        for phase in ("first start", "after a restart"):
            async with RedisCoordinator(server.url) as coordinator:
                times = await _slots(coordinator.limiter(api_key, RATE), SHAPE.burst, priority)
            # a burst would give all of them at once; the steady rate one per interval
            assert times[0] >= 0.8 * INTERVAL, phase
            assert times[-1] >= 0.9 * SHAPE.burst * INTERVAL, phase
            assert times[-1] <= (2 * SHAPE.burst + 1) * INTERVAL + 2.0, phase
            server.restart()


async def _tat(admin: aioredis.Redis, api_key: str) -> int:
    value = await admin.get(budget_key(api_key))
    assert isinstance(value, bytes)
    return int(value)


async def test_scripts_flushed_from_redis_are_loaded_again(
    fleet: Callable[[], RedisCoordinator],
    api_key: str,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = fleet()
    limiter = coordinator.limiter(api_key, RATE)
    await limiter.acquire()
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        before = await _tat(admin, api_key)
        await admin.script_flush()
        await limiter.acquire()
        after = await _tat(admin, api_key)
    finally:
        await admin.aclose()
    assert after >= before + SHAPE.interval  # the second slot was taken in Redis
    assert coordinator.shared
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_redis_holds_no_api_key_only_its_hash_under_one_hash_tag(
    fleet: Callable[[], RedisCoordinator], api_key: str, redis_server: RedisServer
) -> None:
    limiter = fleet().limiter(api_key, RATE)
    await limiter.acquire()
    await limiter.penalize(0.01)
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        mine = budget_key(api_key)
        keys = [key.decode() async for key in admin.scan_iter("zenhire:*")]
        assert mine in keys
        budgets = [key for key in keys if key.endswith(":budget")]
        values = [await admin.get(key) for key in budgets]
    finally:
        await admin.aclose()
    for key in keys:  # the session's server also holds other tests' row claims
        assert re.fullmatch(r"zenhire:\{[0-9a-f]{32}\}:(budget|claim:[0-9a-f]{32})", key), key
        assert api_key not in key and api_key[8:20] not in key
    for value in values:
        assert value is not None and value.isdigit()  # a time, nothing else


def test_the_bucket_shape_is_the_in_process_pacers() -> None:
    shape = BudgetShape(500, 0.2)
    assert (shape.burst, shape.interval) == (5, 121_213)  # 60 s / 495, rounded up
    # batch: the debt after it stays within 4 of the 5 tokens, one is the reserve's
    assert shape.acquire_args(1, batch=True) == (121_213, 5 * 121_213, 4 * 121_213, 0)
    assert shape.acquire_args(2, batch=False) == (2 * 121_213, 5 * 121_213, 0, 0)
    assert shape.acquire_args(1, batch=False, settling=True)[3] == 1
    # a bucket of one token: batch may still take it when it is there
    assert BudgetShape(60, 0.2).acquire_args(1, batch=True)[2] == 1_016_950
    assert shape.penalize_args(1.5) == (1_500_000 + 5 * 121_213,)
    assert budget_key("zh_live_a") == budget_key("zh_live_a") != budget_key("zh_live_b")
