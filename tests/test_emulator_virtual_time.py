"""The autojump virtual-time loop: sleeps, aiohttp over loopback, anyio and the plugin."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
import time
import warnings
from datetime import timedelta
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from zenhire_async._clock import LoopWallClock
from zenhire_async.testing import (
    Emulator,
    VirtualTimeEventLoop,
    virtual_time_loop_factory,
)

pytestmark = pytest.mark.anyio


def _after_a_nap(value: int) -> int:
    """Thread work that takes real time: ``value``, 50 ms later."""
    time.sleep(0.05)
    return value


def _signal_then_wait(started: threading.Event, release: threading.Event) -> bool:
    """Thread work that says it began, then blocks until released (at most 5 s)."""
    started.set()
    return release.wait(5)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"loop_factory": virtual_time_loop_factory})


async def test_the_plugin_runs_on_the_virtual_loop() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    start = loop.time()
    await asyncio.sleep(3600)
    assert loop.time() - start == pytest.approx(3600, abs=1e-6)  # the jump lands on the timer
    assert loop.virtual_offset == loop.time()


async def test_real_time_never_moves_the_clock() -> None:
    # Regression: the clock was time.monotonic() + offset, so a busy or loaded machine
    # leaked real time into "virtual" time (86399.99668 seconds for a one-day wait).
    loop = asyncio.get_running_loop()
    start = loop.time()
    time.sleep(0.05)  # noqa: ASYNC251 (a callback that computes for a while)
    assert loop.time() == start
    await asyncio.sleep(0)
    assert loop.time() == start  # ready callbacks are not idleness: no jump
    await asyncio.sleep(2.5)
    assert loop.time() - start == pytest.approx(2.5, abs=1e-6)


async def test_the_wall_clock_is_derived_from_the_virtual_clock_alone() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    async with Emulator() as emu:
        before, wall_before = loop.time(), emu.clock_now()
        time.sleep(0.05)  # noqa: ASYNC251 (real time passes; the clock must not)
        assert emu.clock_now() == wall_before
        await asyncio.sleep(86_400)
        elapsed = (emu.clock_now() - wall_before).total_seconds()
        assert elapsed == pytest.approx(loop.time() - before, abs=1e-3)
        sdk_now = LoopWallClock().now()
        assert abs((sdk_now - emu.clock_now()).total_seconds()) < 1e-3  # one clock for both


async def test_anyio_sleep_and_timeouts_jump() -> None:
    start = anyio.current_time()
    with anyio.move_on_after(86_400) as scope:
        await anyio.sleep(10 * 86_400)
    assert scope.cancelled_caught
    assert anyio.current_time() - start == pytest.approx(86_400, abs=1e-6)


async def test_aiohttp_client_and_server_in_one_loop() -> None:
    async def hello(request: web.Request) -> web.Response:
        await asyncio.sleep(30)  # a slow server answer costs no real time
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        start = anyio.current_time()
        async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/") as resp:
            assert await resp.json() == {"hello": "world"}
        assert anyio.current_time() - start == pytest.approx(30, abs=1)
    finally:
        await runner.cleanup()


async def test_executor_work_is_awaited_not_jumped() -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()
    result = await asyncio.wait_for(
        loop.run_in_executor(None, lambda: _after_a_nap(7)), timeout=3600
    )
    assert result == 7
    assert loop.time() == before  # the timeout timer did not fire early, nor the clock move


async def test_asyncio_to_thread_and_other_executors_are_awaited() -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()
    with anyio.fail_after(3600):
        assert await asyncio.to_thread(lambda: _after_a_nap(8)) == 8
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with anyio.fail_after(3600):
            assert await loop.run_in_executor(pool, lambda: _after_a_nap(9)) == 9
    assert loop.time() == before


async def test_anyio_worker_threads_are_awaited_not_jumped() -> None:
    before = anyio.current_time()
    for _ in range(3):  # a new worker, then an idle one reused
        with anyio.fail_after(3600):
            assert await anyio.to_thread.run_sync(lambda: _after_a_nap(6)) == 6
    assert anyio.current_time() == before


async def test_a_job_whose_waiter_was_cancelled_still_holds_the_clock() -> None:
    loop = asyncio.get_running_loop()
    started, release = threading.Event(), threading.Event()
    job = loop.run_in_executor(None, lambda: _signal_then_wait(started, release))
    await asyncio.to_thread(started.wait)
    job.cancel()  # the task stops waiting; the thread is still running
    await asyncio.sleep(0)
    timer = loop.call_later(3600, release.set)
    before = loop.time()
    # The thread is still writing: the loop waits for it, for real, rather than jump an hour
    # to the timer (which would let the thread go early).
    await asyncio.to_thread(release.wait, 0.2)
    assert loop.time() == before
    timer.cancel()
    release.set()


def test_closing_a_runner_waits_for_the_executor_instead_of_jumping_its_timeout() -> None:
    # Regression (3.12+): Runner.close() joins the default executor with a 300 s timeout;
    # the loop jumped over it and warned "executor did not finish joining" (an error here).
    started = threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(0.3)
        return 1

    async def main() -> None:
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(None, slow)
        await asyncio.to_thread(started.wait)
        job.cancel()  # abandoned by its waiter, still running when the runner closes

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with asyncio.Runner(loop_factory=virtual_time_loop_factory) as runner:
            runner.run(main())
            loop = runner.get_loop()
        assert loop.is_closed()


async def test_emulator_clock_follows_virtual_time() -> None:
    async with Emulator() as emu:
        before = emu.clock_now()
        await asyncio.sleep(7 * 86_400)
        assert (emu.clock_now() - before).total_seconds() >= 7 * 86_400


def test_anyio_run_with_loop_factory() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await anyio.sleep(3600)
        return loop.time() - start

    elapsed = anyio.run(
        main, backend="asyncio", backend_options={"loop_factory": virtual_time_loop_factory}
    )
    assert elapsed == pytest.approx(3600, abs=1e-6)


def test_asyncio_runner_and_manual_advance() -> None:
    with asyncio.Runner(loop_factory=virtual_time_loop_factory) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, VirtualTimeEventLoop)
        before = loop.time()
        loop.advance(100)
        assert loop.time() - before == 100
        with pytest.raises(ValueError, match="backwards"):
            loop.advance(-1)
        runner.run(asyncio.sleep(5))


async def test_a_wall_clock_deadline_has_passed_when_the_loop_reaches_it() -> None:
    # Regression: loop_time_of() could land a fraction of a microsecond early; on a clock
    # that stands still between jumps the waiter then woke to "not yet", for ever (and a
    # one-day wait measured 86399.9999995 s).
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    clock = LoopWallClock()
    rng = random.Random(5)
    for _ in range(2000):
        loop.advance(rng.random() * 1000)
        when = clock.now() + timedelta(seconds=rng.random() * 86_400)
        waited = clock.loop_time_of(when) - loop.time()
        assert waited >= (when - clock.now()).total_seconds()
        loop.advance(waited)
        assert clock.now() >= when
