"""Shared fixtures: the anyio backend and emulator-backed clients.

Tests run on asyncio with a *virtual-time* loop by default: the clock jumps to the next
timer whenever the loop is idle, so retry backoff, pacing and polling sleeps cost nothing
while the client runs with its real defaults. Tests that hand work to threads (file writes
of recording downloads) are marked ``real_time``: the virtual clock cannot see a thread
and could fire a timeout early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fuzz_support import CANCELLATION_POINTS, FUZZED, PROFILE

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator, virtual_time_loop_factory

pytest_plugins = ("pytester",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_time: run on a normal (not virtual-time) loop")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the inputs the fuzz tests tried and the await points cancelled at."""
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


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """asyncio, on virtual time unless the test is marked ``real_time``."""
    if request.node.get_closest_marker("real_time"):
        return ("asyncio", {})
    return ("asyncio", {"loop_factory": virtual_time_loop_factory})


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A fresh emulator with no faults and no rate limit."""
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def zh(emu: Emulator) -> AsyncIterator[ZenHireClient]:
    """A client of ``emu`` with the default configuration."""
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        yield client
