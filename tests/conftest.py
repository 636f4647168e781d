"""Shared fixtures: the anyio backend and emulator-backed clients.

Tests run on asyncio with a *virtual-time* loop by default: the clock jumps to the next
timer whenever the loop is idle (and never moves with real time), so retry backoff, pacing
and polling sleeps cost nothing while the client runs with its real defaults. Thread work
(``run_in_executor``, ``asyncio.to_thread``, ``anyio.to_thread``: journal writes, recording
downloads) is waited for, never jumped over. Tests that wait for a child process are marked
``real_time``: a process is the one thing the virtual loop cannot see.

Asyncio debug mode (``PYTHONASYNCIODEBUG=1`` in CI) records the whole call stack at every
future, task and callback created, and aiohttp does the same for each request. Under pytest
two thirds of that stack are pytest's own frames, so the virtual-time loop runs on a fresh
thread (:class:`_ShallowStackLoop`): the same loop and the same debug checks, with stacks a
third as deep to capture (a fifth less CPU for the whole suite). Signal handlers need the
main thread, so tests that run the command in process (it listens for Ctrl-C) are marked
``main_thread`` and keep the loop on it. Tests marked ``slow`` are scheduled first, so that
no xdist worker is left running a long test alone at the end.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from emulator_support import Api
from fuzz_support import CANCELLATION_POINTS, FUZZED, PROFILE
from redis_support import redis_server  # noqa: F401 - the session's real redis-server

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator, VirtualTimeEventLoop, virtual_time_loop_factory

pytest_plugins = ("pytester",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_time: run on a normal (not virtual-time) loop")
    config.addinivalue_line(
        "markers", "main_thread: run the virtual-time loop on the main thread (signal handlers)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests marked ``slow`` first (in their collected order, then the rest in theirs).

    With xdist workers the run lasts at least as long as its longest test: started first,
    the long tests overlap each other and the many short ones, instead of one of them
    starting last on a worker while the other idles. (``make pytest`` also passes
    ``--maxschedchunk=1`` so the long tests at the front are dealt out one at a time rather
    than in one worker's first batch.)
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


_FIGURES = "zenhire_figures"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand this worker's figures to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_FIGURES] = {
            "fuzzed": dict(FUZZED),
            "cancellation": dict(CANCELLATION_POINTS),
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the xdist controller: add up each worker's figures as it finishes."""
    figures = getattr(node, "workeroutput", {}).get(_FIGURES)
    if figures:
        FUZZED.update(figures["fuzzed"])
        CANCELLATION_POINTS.update(figures["cancellation"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the inputs the fuzz tests tried and the await points cancelled at (summed over
    xdist workers)."""
    if FUZZED:
        detail = ", ".join(f"{name} {count}" for name, count in sorted(FUZZED.items()))
        terminalreporter.write_line(
            f"fuzzing ({PROFILE} profile): {FUZZED.total()} inputs tried - {detail}"
        )
    if CANCELLATION_POINTS:
        detail = ", ".join(f"{k} {n}" for k, n in sorted(CANCELLATION_POINTS.items()))
        terminalreporter.write_line(
            f"cancellation: {CANCELLATION_POINTS.total()} await points cut - {detail}"
        )


class _ShallowStackLoop(VirtualTimeEventLoop):
    """A virtual-time loop that runs on a fresh thread each time it is run.

    The calling thread waits for it; between runs the loop is idle, as on the calling
    thread. A fresh thread's stack holds only the loop's own frames, which is what debug
    mode captures. Signal handlers need the main thread, so tests that use them stay off it.
    """

    def run_until_complete(self, future: Any) -> Any:
        """Run the loop until ``future`` is done, on a new thread; return its result."""
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append((True, super(_ShallowStackLoop, self).run_until_complete(future)))
            except BaseException as exc:
                outcome.append((False, exc))

        thread = threading.Thread(target=run, name="zenhire-test-loop", daemon=True)
        thread.start()
        thread.join()
        ok, value = outcome[0]
        if not ok:
            raise value
        return value


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """asyncio, on virtual time unless the test is marked ``real_time``; on a fresh thread
    unless it is marked ``main_thread``."""
    if request.node.get_closest_marker("real_time"):
        return ("asyncio", {})
    if request.node.get_closest_marker("main_thread"):
        return ("asyncio", {"loop_factory": virtual_time_loop_factory})
    return ("asyncio", {"loop_factory": _ShallowStackLoop})


@pytest.fixture
def emu(zenhire_emulator: Emulator) -> Emulator:
    """A fresh emulator with no faults and no rate limit: the plugin's ``zenhire_emulator``."""
    return zenhire_emulator


@pytest.fixture
async def zh(emu: Emulator) -> AsyncIterator[ZenHireClient]:
    """A client of ``emu`` with the default configuration."""
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, for raw calls to an emulator."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(emu: Emulator, http: aiohttp.ClientSession) -> Api:
    """Raw calls to ``emu`` with its default key."""
    return Api(emu, http)
