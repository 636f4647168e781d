"""The autojump virtual-time loop: sleeps, aiohttp over loopback, anyio and the plugin."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from zenhire_async.testing import (
    Emulator,
    VirtualTimeEventLoop,
    virtual_time_loop_factory,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"loop_factory": virtual_time_loop_factory})


async def test_the_plugin_runs_on_the_virtual_loop() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    start_loop, start_real = loop.time(), time.monotonic()
    await asyncio.sleep(3600)
    assert loop.time() - start_loop >= 3600
    assert time.monotonic() - start_real < 1.0
    assert loop.virtual_offset >= 3599


async def test_anyio_sleep_and_timeouts_jump() -> None:
    start = time.monotonic()
    with anyio.move_on_after(86_400) as scope:
        await anyio.sleep(10 * 86_400)
    assert scope.cancelled_caught
    assert time.monotonic() - start < 1.0


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
        start = time.monotonic()
        async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/") as resp:
            assert await resp.json() == {"hello": "world"}
        assert time.monotonic() - start < 1.0
    finally:
        await runner.cleanup()


async def test_executor_work_is_awaited_not_jumped() -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()
    result = await asyncio.wait_for(
        loop.run_in_executor(None, lambda: (time.sleep(0.05), 7)[1]), timeout=3600
    )
    assert result == 7
    assert loop.time() - before < 10  # the timeout timer did not fire early


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

    start = time.monotonic()
    elapsed = anyio.run(
        main, backend="asyncio", backend_options={"loop_factory": virtual_time_loop_factory}
    )
    assert elapsed >= 3600
    assert time.monotonic() - start < 1.0


def test_asyncio_runner_and_manual_advance() -> None:
    with asyncio.Runner(loop_factory=virtual_time_loop_factory) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, VirtualTimeEventLoop)
        before = loop.time()
        loop.advance(100)
        assert loop.time() - before >= 100
        with pytest.raises(ValueError, match="backwards"):
            loop.advance(-1)
        runner.run(asyncio.sleep(5))
