"""Redis down or slow: local pacing at ``fallback_share``, one WARNING, back when it answers.

Each test runs its own redis-server (it stops or pauses it), with a password so that the
log line and the repr can be checked for it. Real time: Redis ``TIME`` is real.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import start_redis

from zenhire_async import ZenHireClient
from zenhire_async._rate_limit import RateLimiter
from zenhire_async._redis_budget import BudgetShape, budget_key
from zenhire_async.redis import PROBE_EVERY, REDIS_TIMEOUT, RedisCoordinator
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

PASSWORD = "s3cret-redis-pass"
API_KEY = "zh_live_fallbacktestkey0123456789"


LOCAL_600 = 60 / (150 - 1)  # s between local slots at 25 % of 600/min (a burst of 1)


def _shared(coordinator: RedisCoordinator) -> bool:
    return coordinator.shared


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "zenhire_async"]


async def test_a_stopped_redis_falls_back_once_and_comes_back_when_it_restarts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with start_redis("--requirepass", PASSWORD) as server:
        url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
        async with RedisCoordinator(url, fallback_share=0.25) as coordinator:
            limiter = coordinator.limiter(API_KEY, 600)
            assert await limiter.acquire() <= 0.5  # a fresh key: one interval, 0.1 s
            assert _shared(coordinator)
            server.stop()
            with anyio.fail_after(REDIS_TIMEOUT + 3):  # 3 local slots at 150/min: 1.2 s
                for _ in range(3):
                    await limiter.acquire()  # no exception: local pacing
            assert not _shared(coordinator)
            warnings = _warnings(caplog)
            assert len(warnings) == 1
            line = warnings[0].getMessage()
            assert "pacing locally at 25% of the rate" in line
            for secret in (PASSWORD, API_KEY):
                assert secret not in line
                assert secret not in repr(coordinator) and secret not in repr(limiter)
            server.start()
            with anyio.fail_after(PROBE_EVERY + 3):  # back within ~5 s of the restart
                while not _shared(coordinator):
                    await limiter.acquire()
                    await anyio.sleep(0.05)
            assert len(_warnings(caplog)) == 1  # one WARNING per outage
            admin = aioredis.Redis.from_url(url)
            try:
                assert await admin.keys("zenhire:*")  # the fresh server holds the budget
            finally:
                await admin.aclose()


@asynccontextmanager
async def _stalled_redis() -> AsyncIterator[tuple[RedisCoordinator, RateLimiter, aioredis.Redis]]:
    """A coordinator that took one shared slot, on a Redis then paused for longer than
    ``REDIS_TIMEOUT`` (unpaused on the way out); with the admin client that paused it."""
    with start_redis() as server:
        admin = aioredis.Redis.from_url(server.url)
        try:
            async with RedisCoordinator(server.url) as coordinator:
                limiter = coordinator.limiter(API_KEY, 600)
                await limiter.acquire()
                await admin.client_pause(int((REDIS_TIMEOUT + 1) * 1000))
                try:
                    yield coordinator, limiter, admin
                finally:
                    await admin.client_unpause()
        finally:
            await admin.aclose()


async def test_a_slow_redis_falls_back_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _stalled_redis() as (coordinator, limiter, _):
        started = anyio.current_time()
        await limiter.acquire()  # given up after the timeout, then one local slot
        assert anyio.current_time() - started < REDIS_TIMEOUT + LOCAL_600 + 0.5
        assert not _shared(coordinator)
        assert len(_warnings(caplog)) == 1


async def test_sdk_calls_never_see_a_redis_error(caplog: pytest.LogCaptureFixture) -> None:
    with start_redis() as server:
        async with (
            Emulator() as emu,
            RedisCoordinator(server.url) as coordinator,
            ZenHireClient(
                api_key=emu.api_key,
                base_url=emu.base_url,
                allow_insecure_http=True,
                coordinator=coordinator,
            ) as zh,
        ):
            await zh.credits()
            server.stop()
            for _ in range(3):
                assert isinstance(await zh.credits(), dict)
            assert not _shared(coordinator)
            assert len(_warnings(caplog)) == 1


async def test_a_pause_written_to_a_slow_redis_returns_within_the_timeout_and_holds_locally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _stalled_redis() as (coordinator, limiter, admin):
        started = anyio.current_time()
        await limiter.penalize(3.0)  # the write stalls: given up after the timeout
        assert anyio.current_time() - started < REDIS_TIMEOUT + 0.3
        assert not _shared(coordinator)
        assert len(_warnings(caplog)) == 1
        await admin.client_unpause()
        held = anyio.current_time()
        waited = await limiter.acquire()  # the hold outlived the failed write
        assert waited >= 3.0 - (held - started) - 0.1
        assert anyio.current_time() - started <= 3.0 + 0.5


async def test_the_local_bucket_starts_empty_when_redis_goes_away() -> None:
    # The shared budget has just filled the server's window: a local bucket starting full
    # would send its whole burst on top of it (429s in the second after Redis stops).
    rate = 6000  # locally 1,500/min: a burst of 15, then one slot every 40 ms
    local = 60 / (1500 - 15)
    with start_redis() as server:
        async with RedisCoordinator(server.url, fallback_share=0.25) as coordinator:
            limiter = coordinator.limiter(API_KEY, rate)
            await limiter.acquire()
            server.stop()
            started = anyio.current_time()
            with anyio.fail_after(15 * local + 5):
                for _ in range(15):
                    await limiter.acquire()
            assert not _shared(coordinator)
            # a full bucket would have given all 15 at once
            assert anyio.current_time() - started >= 0.9 * 15 * local


async def test_connections_idle_through_an_outage_do_not_end_the_shared_budget_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Connections idle in redis-py's pool when Redis stopped are dead after its restart,
    # found out only when next used ("Connection closed by server"): without closing them,
    # the first burst of calls after the return fell back again, with a second WARNING.
    with start_redis() as server:
        async with RedisCoordinator(server.url) as coordinator:
            limiter = coordinator.limiter(API_KEY, 60_000)

            async def burst() -> None:  # 8 callers at once: 8 pooled connections
                async with anyio.create_task_group() as tg:
                    for _ in range(8):
                        tg.start_soon(limiter.acquire)

            await burst()
            server.stop()
            await limiter.acquire()  # one connection finds Redis gone: local pacing
            assert not _shared(coordinator)
            server.start()
            with anyio.fail_after(PROBE_EVERY + 5):
                while not _shared(coordinator):
                    await limiter.acquire()
                    await anyio.sleep(0.05)
            for _ in range(3):
                await burst()
            assert _shared(coordinator)
            assert len(_warnings(caplog)) == 1  # one WARNING per outage


async def test_a_process_back_on_redis_keeps_its_local_share_until_the_others_are_back() -> None:
    # When Redis answers again the fleet comes back one process at a time, each at its next
    # probe; the others still send their local share. The first one back taking the whole
    # shared rate meanwhile overshot the key: it keeps to its local share for a while.
    rate = 1200  # shared: one slot every 50.5 ms; locally 300/min, a burst of 3
    local_per_second = (300 - 3) / 60
    with start_redis() as server:
        async with RedisCoordinator(server.url, fallback_share=0.25) as first:
            limiter = first.limiter(API_KEY, rate)
            await limiter.acquire()
            server.stop()
            await limiter.acquire()
            assert not _shared(first)
            server.start()
            with anyio.fail_after(PROBE_EVERY + 5):
                while not _shared(first):
                    await limiter.acquire()
            returned = anyio.current_time()

            async def count_for(seconds: float) -> int:
                sent = 0
                with anyio.move_on_after(seconds):
                    while True:
                        await limiter.acquire()
                        sent += 1
                return sent

            settling = await count_for(1.0)
            # the local share (and the few tokens its bucket held), not the shared 19.8
            assert settling <= local_per_second * 1.0 + 3 + 2
            await anyio.sleep(max(0.0, returned + 2 * PROBE_EVERY - anyio.current_time()))
            assert await count_for(1.0) >= 0.6 * rate / 60  # then the whole shared rate
            assert _shared(first)


async def test_the_local_bucket_waits_for_the_shared_slots_already_given() -> None:
    # Callers sleeping on shared slots when Redis goes away still send on them; local
    # pacing starting beside them would double the rate until they are through.
    rate = 1200  # shared: one slot every 50.5 ms, locally one every 0.2 s
    with start_redis() as server:
        async with RedisCoordinator(server.url, fallback_share=0.25) as coordinator:
            warm_up = coordinator.limiter("zh_live_warmupkey", 600_000)
            async with anyio.create_task_group() as tg:
                for _ in range(12):  # 12 pooled connections, so the slots come at once
                    tg.start_soon(warm_up.acquire)
            limiter = coordinator.limiter(API_KEY, rate)
            await limiter.acquire()
            started = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for _ in range(12):  # a fresh key: slots over the next 0.6 s
                    tg.start_soon(limiter.acquire)
                await anyio.sleep(0.15)  # every slot given, callers sleeping on them
                server.stop()
                await limiter.acquire()  # local pacing, after the last of them
                local_at = anyio.current_time()
            assert not _shared(coordinator)
            assert local_at - started >= 0.9 * 12 * 60 / (rate - 12)


async def test_a_settling_process_leaves_the_shared_bucket_no_credit() -> None:
    # Processes still pacing locally send beside the budget while one is settling: credit
    # saved up in the shared bucket then would be a burst once they are all back.
    rate = 1200
    shape = BudgetShape(rate, 0.2)
    with start_redis() as server:
        admin = aioredis.Redis.from_url(server.url)
        try:
            async with RedisCoordinator(server.url, fallback_share=0.25) as coordinator:
                limiter = coordinator.limiter(API_KEY, rate)
                await limiter.acquire()
                server.stop()
                await limiter.acquire()
                server.start()
                with anyio.fail_after(PROBE_EVERY + 5):
                    while not _shared(coordinator):
                        await limiter.acquire()
                await anyio.sleep(1.0)  # idle: a plain bucket would refill
                await limiter.acquire()
                seconds, micros = await admin.time()
                tat = int(await admin.get(budget_key(API_KEY)) or 0)
                # still a full bucket of debt (less the time since the slot)
                assert tat - (seconds * 1_000_000 + micros) >= shape.burst * shape.interval - 0.3e6
        finally:
            await admin.aclose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://user:{PASSWORD}@127.0.0.1:6380/2", "redis://127.0.0.1:6380/2"),
        (f"redis://127.0.0.1/0?password={PASSWORD}", "redis://127.0.0.1/0"),
        (
            f"rediss://:{PASSWORD}@cache.internal:6390/0?ssl_cert_reqs=none",
            "rediss://cache.internal:6390/0",
        ),
        (f"unix:///tmp/redis.sock?password={PASSWORD}&db=3", "unix:///tmp/redis.sock"),
    ],
)
async def test_the_repr_names_the_server_never_a_password_even_in_the_query(
    url: str, shown: str
) -> None:
    async with RedisCoordinator(url) as coordinator:  # nothing is sent before a request
        text = repr(coordinator) + repr(coordinator.limiter(API_KEY, 600))
    assert PASSWORD not in text and "user" not in text and API_KEY not in text
    assert f"<RedisCoordinator {shown} shared>" in text
