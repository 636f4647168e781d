"""The shipped pytest plugin in a user's project: beside pytest-asyncio (strict and auto mode)
and with the anyio plugin alone.

Each case writes a small project with pytester and runs pytest on it in a subprocess, so the
plugins load from their entry points exactly as in a user's checkout.
"""

from __future__ import annotations

import textwrap

import pytest

FLOW = """
import asyncio

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator


async def flow(client: ZenHireClient, emu: Emulator) -> None:
    persona = await client.personas.create("Engineer", "en")
    invite = await client.sessions.create(persona.id, consent_mode="explicit")
    emu.start_session(invite.id)
    emu.complete_session(invite.id, duration_sec=300, rating=5)
    done = await client.sessions.await_completion(invite.id, timeout=60)
    assert done.status == "completed"
"""

INI = """
[pytest]
filterwarnings = error
{extra}
"""


def _project(pytester: pytest.Pytester, extra_ini: str, tests: str, conftest: str = "") -> None:
    pytester.makefile(".ini", pytest=INI.format(extra=extra_ini))
    pytester.makepyfile(flow=FLOW, test_user=textwrap.dedent(tests))
    if conftest:
        pytester.makeconftest(textwrap.dedent(conftest))


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=240)


def test_beside_pytest_asyncio_in_strict_mode(pytester: pytest.Pytester) -> None:
    # Regression: "requested an async fixture 'zenhire_emulator', with no plugin or hook
    # that handled it" for every @pytest.mark.asyncio test.
    _project(
        pytester,
        "asyncio_mode = strict\nasyncio_default_fixture_loop_scope = function",
        """
        import asyncio

        import pytest
        from flow import flow

        from zenhire_async.testing import VirtualTimeEventLoop


        @pytest.mark.asyncio
        async def test_flow(zenhire_client, zenhire_emulator):
            await flow(zenhire_client, zenhire_emulator)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_flow_on_a_module_loop(zenhire_client, zenhire_emulator):
            await flow(zenhire_client, zenhire_emulator)


        @pytest.mark.asyncio(loop_factories=["virtual"])
        async def test_flow_on_virtual_time(zenhire_client, zenhire_emulator):
            loop = asyncio.get_running_loop()
            assert isinstance(loop, VirtualTimeEventLoop)
            start = loop.time()
            await flow(zenhire_client, zenhire_emulator)
            await asyncio.sleep(7 * 86_400)
            assert loop.time() - start >= 7 * 86_400
        """,
        conftest="""
        import asyncio

        from zenhire_async.testing import virtual_time_loop_factory


        def pytest_asyncio_loop_factories(config, item):
            return {"default": asyncio.new_event_loop, "virtual": virtual_time_loop_factory}
        """,
    )
    result = _run(pytester)
    result.assert_outcomes(passed=5)  # the unmarked-factory tests run once per factory


def test_beside_pytest_asyncio_in_auto_mode(pytester: pytest.Pytester) -> None:
    # Regression: with asyncio_mode = auto the README's @pytest.mark.anyio example hung
    # 30 s and ended in APITimeoutError (the fixtures landed on pytest-asyncio's loop).
    _project(
        pytester,
        "asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function",
        """
        import pytest
        from flow import flow


        async def test_unmarked(zenhire_client, zenhire_emulator):
            await flow(zenhire_client, zenhire_emulator)


        @pytest.fixture
        def anyio_backend():
            return "asyncio"


        @pytest.mark.anyio
        async def test_anyio_marked(zenhire_client, zenhire_emulator):
            await flow(zenhire_client, zenhire_emulator)
        """,
    )
    result = _run(pytester)
    result.assert_outcomes(passed=2)


def test_with_the_anyio_plugin_alone(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        "",
        """
        import asyncio

        import pytest
        from flow import flow

        from zenhire_async.testing import VirtualTimeEventLoop, virtual_time_loop_factory

        pytestmark = pytest.mark.anyio


        @pytest.fixture(params=["real", "virtual"])
        def anyio_backend(request):
            if request.param == "virtual":
                return ("asyncio", {"loop_factory": virtual_time_loop_factory})
            return "asyncio"


        async def test_flow(zenhire_client, zenhire_emulator, anyio_backend):
            await flow(zenhire_client, zenhire_emulator)
            virtual = isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
            assert virtual == isinstance(anyio_backend, tuple)
        """,
    )
    result = _run(pytester, "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_a_sync_test_is_told_what_the_fixtures_need(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        "",
        """
        def test_sync(zenhire_emulator):
            pass
        """,
    )
    result = _run(pytester, "-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*zenhire_emulator needs an async test run by the anyio*"])
