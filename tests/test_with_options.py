"""``zh.with_options(...)``: a derived client over the same pool, pacing and watcher."""

from __future__ import annotations

import anyio
import pytest

from zenhire_async import APITimeoutError, ServerError, ZenHireClient, events
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def test_timeout_and_max_retries_apply_to_the_derived_client_only(
    zh: ZenHireClient, emu: Emulator
) -> None:
    fast = zh.with_options(timeout=1.0, max_retries=0)
    emu.faults.add("slow", count=1, delay=5.0, route="GET /personas")
    with pytest.raises(APITimeoutError):
        await fast.personas.list()
    assert emu.request_counts["GET /personas"] == 1  # no retry
    emu.faults.add("slow", count=1, delay=5.0, route="GET /personas")
    assert (await zh.personas.list()).data == []  # the parent's 30 s outlasts the fault
    emu.faults.add("500", count=1, route="GET /personas")
    with pytest.raises(ServerError):
        await fast.personas.list()
    emu.faults.add("500", count=1, route="GET /personas")
    await zh.personas.list()  # the parent retries
    assert emu.request_counts["GET /personas"] == 5  # 1 + 1 + 1 + (1 + a retry)


async def test_a_derived_client_shares_the_connection_pool(emu: Emulator) -> None:
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        await zh.personas.list()
        for _ in range(20):
            await zh.with_options(timeout=10.0).personas.list()
        assert emu.peak_connections == 1  # one kept-alive connection for all of them
    assert emu.open_connections == 0


async def test_a_derived_client_shares_the_pacing(emu: Emulator) -> None:
    async with ZenHireClient(
        api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=60
    ) as zh:
        fast = zh.with_options(max_retries=0)
        started = anyio.current_time()
        await zh.personas.list()  # takes the bucket's one token
        await fast.personas.list()  # waits for the refill of the parent's bucket
        assert anyio.current_time() - started >= 0.9  # virtual time: exact, ~1.02 s


async def test_closing_a_derived_client_closes_nothing(zh: ZenHireClient, emu: Emulator) -> None:
    async with zh.with_options(timeout=5.0) as fast:
        await fast.personas.list()
    assert fast.closed
    assert not zh.closed
    assert emu.open_connections == 1  # the parent's kept-alive connection is still there
    with pytest.raises(RuntimeError, match="closed"):
        await fast.personas.list()
    await zh.personas.list()
    assert "derived" in repr(fast) and "closed" in repr(fast)


async def test_closing_the_parent_makes_derived_clients_unusable(emu: Emulator) -> None:
    zh = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
    child = zh.with_options(timeout=5.0)
    grandchild = child.with_options(max_retries=1)
    await grandchild.personas.list()
    await child.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await grandchild.personas.list()
    await zh.personas.list()
    other = zh.with_options()
    await zh.aclose()
    assert other.closed
    with pytest.raises(RuntimeError, match="closed"):
        await other.sessions.get("s1")
    with pytest.raises(RuntimeError, match="closed"):
        async with other:
            pass


async def test_a_derived_wait_joins_the_parent_watcher(zh: ZenHireClient, emu: Emulator) -> None:
    persona = await zh.personas.create("Engineer", "en")
    fast = zh.with_options(timeout=5.0)
    a = await fast.sessions.create(persona.id, consent_mode="explicit")
    b = await zh.sessions.create(persona.id, consent_mode="explicit")
    failures: list[BaseException] = []

    async def wait(client: ZenHireClient, sid: str) -> None:
        try:
            await client.sessions.await_completion(sid)
        except RuntimeError as exc:
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, fast, a.id)
        tg.start_soon(wait, zh, b.id)
        await anyio.sleep(30)
        assert fast.sessions._waiting.shared is zh.sessions._waiting.shared is not None
        await zh.aclose()  # wakes every waiter of the shared watcher, the derived one too
    assert len(failures) == 2


async def test_derived_options_are_checked(zh: ZenHireClient, emu: Emulator) -> None:
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="timeout"):
            zh.with_options(timeout=bad)
    with pytest.raises(ValueError, match="max_retries"):
        zh.with_options(max_retries=-1)
    with pytest.raises(ValueError, match="X-Api-Key"):
        zh.with_options(headers={"X-Api-Key": "zh_api_other_key"})
    with pytest.raises(TypeError, match="on_event"):
        zh.with_options(on_event=[print, "not callable"])  # type: ignore[list-item]
    assert emu.total_requests == 0


async def test_on_event_hooks_are_kept_and_added_to(emu: Emulator) -> None:
    """A derived client's events go to the parent's hooks and its own; the parent's own
    calls never reach the hooks added by ``with_options``."""
    first: list[str] = []
    second: list[str] = []

    def on_first(event: events.Event) -> None:
        if isinstance(event, events.CallEnded):
            first.append(event.call)

    def on_second(event: events.Event) -> None:
        if isinstance(event, events.CallEnded):
            second.append(event.call)

    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, on_event=on_first) as zh:
        derived = zh.with_options(on_event=[on_second])
        persona = await zh.personas.create("Engineer", "en")
        await derived.personas.get(persona.id)
    assert first == ["personas.create", "personas.get"]
    assert second == ["personas.get"]
    with pytest.raises(TypeError):
        ZenHireClient(api_key=emu.api_key, on_event=[on_first, 42])  # type: ignore[list-item]
