"""The client's request pacer is a ``RateLimiter``: structurally (mypy) and in behaviour."""

from __future__ import annotations

import inspect

import anyio
import pytest

from zenhire_async._pacing import RequestPacer
from zenhire_async._rate_limit import RateLimiter

pytestmark = pytest.mark.anyio


def test_the_request_pacer_satisfies_the_protocol() -> None:
    # mypy --strict checks this assignment structurally (acquire's and penalize's
    # signatures); the runtime comparison below keeps the parameter names in step.
    limiter: RateLimiter = RequestPacer(60, burst=10)
    for name in ("acquire", "penalize"):
        ours = inspect.signature(getattr(RequestPacer, name))
        protocol = inspect.signature(getattr(RateLimiter, name))
        assert list(ours.parameters) == list(protocol.parameters)
        assert [p.default for p in ours.parameters.values()] == [
            p.default for p in protocol.parameters.values()
        ]
    assert isinstance(limiter, RequestPacer)


async def test_acquire_reports_no_wait_when_a_token_is_there() -> None:
    limiter: RateLimiter = RequestPacer(6000, burst=60)
    assert await limiter.acquire() == 0.0
    assert await limiter.acquire(2, priority="batch") == 0.0


async def test_penalize_holds_every_request_and_acquire_reports_the_wait() -> None:
    limiter: RateLimiter = RequestPacer(6000, burst=60)
    await limiter.penalize(0.3)
    started = anyio.current_time()
    waited = await limiter.acquire()
    elapsed = anyio.current_time() - started
    assert 0.3 <= waited <= elapsed
    assert elapsed < 2.0


async def test_a_cost_beyond_the_burst_is_refused() -> None:
    with pytest.raises(ValueError, match="cost"):
        await RequestPacer(60, burst=10).acquire(11)
