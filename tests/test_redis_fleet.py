"""``ZenHireClient(coordinator=...)`` end to end: clients on one key, the emulator's per-key
limit on, a real redis-server. Real time (Redis ``TIME`` is real), a few seconds each.

The emulator's limit window is shortened to 3 s (``rate_limit_window``) so that a test of
1.5 s can see a fleet overshoot: at 1,200 a minute a client's bucket allows at most
12 + 3 × 19.8 ≈ 72 requests in any 3 s, so the emulator allows 76 per 3 s; three clients
pacing alone send three times that.
"""

from __future__ import annotations

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer

from zenhire_async import RateLimitError, ZenHireClient
from zenhire_async.redis import RedisCoordinator
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

RATE = 1200


async def _run_fleet(emu: Emulator, coordinators: list[RedisCoordinator | None]) -> tuple[int, int]:
    """One client per entry (same key) calling for 1.5 s, or until the first 429 (whose
    Retry-After would hold them): (calls answered, 429s)."""
    answered = limited = 0
    async with anyio.create_task_group() as tg:
        for coordinator in coordinators:
            client = ZenHireClient(
                api_key=emu.api_key,
                base_url=emu.base_url,
                allow_insecure_http=True,
                rate_limit_per_minute=RATE,
                max_retries=0,
                coordinator=coordinator,
            )

            async def calls(zh: ZenHireClient) -> None:
                nonlocal answered, limited
                async with zh:
                    await zh.credits()  # opens the connection before the clock starts
                    deadline = anyio.current_time() + 1.5
                    while anyio.current_time() < deadline and not limited:
                        try:
                            await zh.credits()
                            answered += 1
                        except RateLimitError:
                            limited += 1

            tg.start_soon(calls, client)
    return answered, limited


async def test_three_clients_on_one_key_get_no_429_with_a_coordinator(
    redis_server: RedisServer,
) -> None:
    async with Emulator(rate_limit_per_minute=76, rate_limit_window=3.0) as emu:
        _, control_429s = await _run_fleet(emu, [None, None, None])
    assert control_429s > 0  # the test can fail: alone, the clients overshoot

    coordinators = [RedisCoordinator(redis_server.url) for _ in range(3)]
    try:
        async with Emulator(rate_limit_per_minute=76, rate_limit_window=3.0) as emu:
            answered, limited = await _run_fleet(emu, list(coordinators))
    finally:
        for coordinator in coordinators:
            await coordinator.aclose()
    assert limited == 0
    # a fresh key admits at the steady rate (no burst); less the 3 warm-up calls
    assert answered >= 0.9 * (1.5 * (RATE - 12) / 60) - 3


async def test_the_client_paces_through_the_coordinators_limiter(
    redis_server: RedisServer,
) -> None:
    coordinator = RedisCoordinator(redis_server.url)
    try:
        zh = ZenHireClient(api_key="zh_test_k1", rate_limit_per_minute=300, coordinator=coordinator)
        assert zh._transport.pacer is coordinator.limiter("zh_test_k1", 300)
        other = ZenHireClient(
            api_key="zh_test_k1", rate_limit_per_minute=300, coordinator=coordinator
        )
        assert other._transport.pacer is zh._transport.pacer  # one fallback bucket per process
        with pytest.raises(ValueError, match="rate_limit_per_minute"):
            ZenHireClient(api_key="zh_test_k1", rate_limit_per_minute=None, coordinator=coordinator)
        await zh.aclose()
        await other.aclose()
    finally:
        await coordinator.aclose()


async def test_closing_never_closes_a_borrowed_redis_client(redis_server: RedisServer) -> None:
    borrowed = aioredis.Redis.from_url(redis_server.url)
    try:
        async with RedisCoordinator(client=borrowed) as coordinator:
            async with ZenHireClient(api_key="zh_test_k2", coordinator=coordinator):
                await coordinator.limiter("zh_test_k2", 500).acquire()
        assert await borrowed.ping()  # neither the client nor the coordinator closed it
    finally:
        await borrowed.aclose()


def test_coordinator_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="not both"):
        RedisCoordinator()
    with pytest.raises(ValueError, match="interactive_reserve"):
        RedisCoordinator("redis://127.0.0.1:1/0", interactive_reserve=1.5)
    with pytest.raises(ValueError, match="fallback_share"):
        RedisCoordinator("redis://127.0.0.1:1/0", fallback_share=0)
    with pytest.raises(TypeError, match="fallback_share"):
        RedisCoordinator("redis://127.0.0.1:1/0", fallback_share="half")  # type: ignore[arg-type]
