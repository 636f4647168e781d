"""pytest fixtures for code that talks to ZenHire (registered via the ``pytest11`` entry
point, so installing ``zenhire-async`` makes them available).

* ``zenhire_emulator`` — a started default :class:`~zenhire_async.testing.Emulator`.
* ``zenhire_client`` — a ``ZenHireClient`` bound to that emulator, opened and closed.

Both work with whichever plugin runs the test, on that test's own event loop:

* the anyio plugin: tests marked ``@pytest.mark.anyio`` (or anyio's auto mode), with an
  ``anyio_backend`` fixture selecting ``"asyncio"``; return
  ``("asyncio", {"loop_factory": virtual_time_loop_factory})`` for virtual time;
* pytest-asyncio, in strict mode (tests marked ``@pytest.mark.asyncio``) or auto mode, at
  any ``loop_scope``; a ``pytest_asyncio_loop_factories`` hook returning
  ``{"virtual": virtual_time_loop_factory}`` puts the tests on virtual time.

Each fixture is a plain (synchronous) pytest fixture that looks at the test: one that
requests ``anyio_backend`` gets the emulator started in anyio's test runner, a
pytest-asyncio test gets it started in pytest-asyncio's runner for the test's loop scope.
Being synchronous, neither plugin mistakes it for its own, so the emulator, the client and
the test always share one loop (an emulator on another loop never answers).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from typing import TYPE_CHECKING, Literal, cast

import pytest

from .emulator import Emulator

if TYPE_CHECKING:
    from zenhire_async.client import ZenHireClient

__all__ = ["zenhire_client", "zenhire_emulator"]

_Scope = Literal["function", "class", "module", "package", "session"]
_SCOPES: tuple[_Scope, ...] = ("function", "class", "module", "package", "session")


async def _started_emulator() -> AsyncGenerator[Emulator, None]:
    async with Emulator() as emu:
        yield emu


async def _open_client(emulator: Emulator) -> AsyncGenerator[ZenHireClient, None]:
    from zenhire_async.client import ZenHireClient

    # trust_env=False: the emulator is on loopback, which a CI machine's HTTP_PROXY would
    # otherwise capture (NO_PROXY rarely lists 127.0.0.1).
    async with ZenHireClient(
        api_key=emulator.api_key, base_url=emulator.base_url, trust_env=False
    ) as client:
        yield client


def _variant(request: pytest.FixtureRequest, what: str) -> str:
    """The name of the fixture that makes ``what`` on the loop the test runs on."""
    # pytest-asyncio first: in its auto mode it runs @pytest.mark.anyio tests too (on its
    # own runner), although anyio still adds ``anyio_backend`` to their fixtures.
    item = request.node
    if request.config.pluginmanager.has_plugin("asyncio"):
        import pytest_asyncio

        if isinstance(item, pytest.Item) and pytest_asyncio.is_async_test(item):
            scope = getattr(item, "_loop_scope", "function")
            return f"_zenhire_{what}_asyncio_{scope}"
    if "anyio_backend" in request.fixturenames:
        return f"_zenhire_{what}_anyio"
    pytest.fail(
        f"{request.fixturename} needs an async test run by the anyio plugin "
        "(@pytest.mark.anyio) or by pytest-asyncio (@pytest.mark.asyncio, or asyncio_mode = "
        "auto); this test is neither",
        pytrace=False,
    )


@pytest.fixture
def zenhire_emulator(request: pytest.FixtureRequest) -> Emulator:
    """A started emulator with its default tenant (``emu.api_key``, ``emu.base_url``)."""
    return cast(Emulator, request.getfixturevalue(_variant(request, "emulator")))


@pytest.fixture
def zenhire_client(request: pytest.FixtureRequest, zenhire_emulator: Emulator) -> ZenHireClient:
    """A ``ZenHireClient`` pointed at ``zenhire_emulator`` with its default key."""
    return cast("ZenHireClient", request.getfixturevalue(_variant(request, "client")))


def _anyio_runner_values(
    anyio_backend: object, make: AsyncGenerator[object, None]
) -> Iterator[object]:
    """Run an async generator in anyio's test runner (the one the test runs in)."""
    from anyio.pytest_plugin import extract_backend_and_options, get_runner

    name, options = extract_backend_and_options(anyio_backend)
    with get_runner(name, options) as runner:
        yield from runner.run_asyncgen_fixture(lambda: make, {})


@pytest.fixture
def _zenhire_emulator_anyio(anyio_backend: object) -> Iterator[object]:
    yield from _anyio_runner_values(anyio_backend, _started_emulator())


@pytest.fixture
def _zenhire_client_anyio(anyio_backend: object, zenhire_emulator: Emulator) -> Iterator[object]:
    yield from _anyio_runner_values(anyio_backend, _open_client(zenhire_emulator))


def _asyncio_runner_values(
    runner: asyncio.Runner, make: AsyncGenerator[object, None]
) -> Iterator[object]:
    """Run an async generator in pytest-asyncio's runner (the one the test runs in)."""
    yield runner.run(anext(make))
    try:
        runner.run(anext(make))
    except StopAsyncIteration:
        return
    raise RuntimeError("a fixture generator yielded twice")  # pragma: no cover


def _asyncio_fixtures(scope: _Scope) -> None:
    """Define the emulator and client fixtures on pytest-asyncio's ``scope`` loop.

    They take pytest-asyncio's runner for that loop scope by its fixture name, so it is
    set up before and torn down after them.
    """
    runner_name = f"_{scope}_scoped_runner"

    def emulator(request: pytest.FixtureRequest) -> Iterator[object]:
        runner = request.getfixturevalue(runner_name)
        yield from _asyncio_runner_values(runner, _started_emulator())

    def client(request: pytest.FixtureRequest, zenhire_emulator: Emulator) -> Iterator[object]:
        runner = request.getfixturevalue(runner_name)
        yield from _asyncio_runner_values(runner, _open_client(zenhire_emulator))

    for what, func in (("emulator", emulator), ("client", client)):
        name = f"_zenhire_{what}_asyncio_{scope}"
        globals()[name] = pytest.fixture(name=name)(func)


for _scope in _SCOPES:
    _asyncio_fixtures(_scope)
