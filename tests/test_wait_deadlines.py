"""A wait's ``timeout`` is a deadline whatever the server does (issue 12), on virtual time.

Every poll stalls before its headers, or answers 429 with a long ``Retry-After``: the wait
still raises :class:`WaitTimeout` within ``timeout + 1`` seconds, with the last state, and
the shared watcher goes on serving the waiters that have time left.
"""

from __future__ import annotations

import anyio
import pytest

from zenhire_async import SessionDetail, WaitTimeout, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

TIMEOUT = 3.0
FAULTS = {
    "stall before headers": {"kind": "slow", "delay": 25.0},
    "429 Retry-After 100": {"kind": "429", "retry_after": 100.0},
}


def _hostile(emu: Emulator, fault: str, count: int | None = None) -> None:
    spec = dict(FAULTS[fault])
    kind = spec.pop("kind")
    emu.faults.add(kind, method="GET", count=count, **spec)  # type: ignore[arg-type]


async def _invite(zh: ZenHireClient) -> str:
    persona = await zh.personas.create("Engineer", "en")
    return (await zh.sessions.create(persona.id, consent_mode="explicit")).id


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_await_completion_times_out_on_time(
    zh: ZenHireClient, emu: Emulator, fault: str
) -> None:
    session_id = await _invite(zh)
    _hostile(emu, fault)
    started = anyio.current_time()
    with pytest.raises(WaitTimeout) as info:
        await zh.sessions.await_completion(session_id, timeout=TIMEOUT)
    assert anyio.current_time() - started <= TIMEOUT + 1
    assert info.value.pending.keys() == {session_id}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_watch_times_out_on_time(zh: ZenHireClient, emu: Emulator, fault: str) -> None:
    ids = [await _invite(zh) for _ in range(3)]
    _hostile(emu, fault)
    started = anyio.current_time()
    with pytest.raises(WaitTimeout) as info:
        async for _ in zh.sessions.watch(ids, timeout=TIMEOUT):
            pass
    assert anyio.current_time() - started <= TIMEOUT + 1
    assert info.value.pending.keys() == set(ids)


async def test_timeout_once_seen_carries_the_last_state(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    emu.start_session(session_id)
    seen: list[str] = []
    async with anyio.create_task_group() as tg:

        async def stall_later() -> None:
            await anyio.sleep(30)  # after the first look, every poll stalls
            _hostile(emu, "stall before headers")

        tg.start_soon(stall_later)
        started = anyio.current_time()
        with pytest.raises(WaitTimeout) as info:
            await zh.sessions.await_completion(
                session_id, timeout=40, on_status=lambda s: seen.append(s.status)
            )
    assert anyio.current_time() - started <= 41
    assert seen == ["active"]
    assert info.value.last is not None and info.value.last.status == "active"


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_timed_out_driver_leaves_the_others_served(
    zh: ZenHireClient, emu: Emulator, fault: str
) -> None:
    hurried, patient = await _invite(zh), await _invite(zh)
    _hostile(emu, fault, count=4)
    outcome: dict[str, object] = {}

    async def wait_patiently() -> None:
        outcome["patient"] = await zh.sessions.await_completion(patient, timeout=600)

    async with anyio.create_task_group() as tg:
        started = anyio.current_time()
        tg.start_soon(wait_patiently)
        with pytest.raises(WaitTimeout):
            await zh.sessions.await_completion(hurried, timeout=TIMEOUT)
        assert anyio.current_time() - started <= TIMEOUT + 1
        emu.start_session(patient)
        emu.complete_session(patient, rating=4)
    done = outcome["patient"]
    assert isinstance(done, SessionDetail) and done.status == "completed"
    assert done.feedback is not None and done.feedback.rating == 4


async def test_the_final_detail_fetch_keeps_the_deadline(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    emu.start_session(session_id)
    emu.complete_session(session_id)
    # The list says completed; the detail GET then stalls.
    emu.faults.add("slow", route="GET /sessions/{id}", delay=25.0)
    started = anyio.current_time()
    with pytest.raises(WaitTimeout) as info:
        await zh.sessions.await_completion(session_id, timeout=TIMEOUT)
    assert anyio.current_time() - started <= TIMEOUT + 1
    assert info.value.last is None or info.value.last.status == "completed"
