"""Waiting for one session, on virtual time: outcomes, callbacks, timeouts, expiry, cancel."""

from __future__ import annotations

from datetime import timedelta

import anyio
import anyio.lowlevel
import pytest

from zenhire_async import (
    LinkExpiredError,
    SessionDetail,
    SessionSummary,
    WaitTimeout,
    ZenHireClient,
)
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def _invite(zh: ZenHireClient) -> str:
    persona = await zh.personas.create("Engineer", "en")
    return (await zh.sessions.create(persona.id, consent_mode="explicit")).id


async def test_returns_the_completed_session_and_reports_each_change(
    zh: ZenHireClient, emu: Emulator
) -> None:
    session_id = await _invite(zh)
    seen: list[str] = []

    async def drive() -> None:
        await anyio.sleep(120)
        emu.start_session(session_id)
        await anyio.sleep(600)
        emu.complete_session(session_id, duration_sec=600, rating=5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(drive)
        done = await zh.sessions.await_completion(
            session_id, on_status=lambda s: seen.append(s.status)
        )
    assert done.status == "completed"
    assert isinstance(done, SessionDetail) and done.feedback is not None
    assert seen == ["initiated", "active", "completed"]
    # Status-aware cadence: ~12 min of waiting costs a few dozen GETs, not hundreds.
    assert emu.request_counts["GET /sessions/{id}"] < 80


async def test_failed_is_a_normal_outcome_and_async_callbacks_are_awaited(
    zh: ZenHireClient, emu: Emulator
) -> None:
    session_id = await _invite(zh)
    seen: list[str] = []

    async def on_status(s: SessionSummary) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(s.status)

    emu.start_session(session_id)
    emu.fail_session(session_id)
    done = await zh.sessions.await_completion(session_id, on_status=on_status)
    assert done.status == "failed" and seen == ["failed"]


async def test_timeout_carries_the_last_session(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    emu.start_session(session_id)
    started = anyio.current_time()
    with pytest.raises(WaitTimeout) as info:
        await zh.sessions.await_completion(session_id, timeout=300)
    assert 300 <= anyio.current_time() - started < 330
    assert info.value.last is not None and info.value.last.status == "active"
    assert isinstance(info.value, TimeoutError)


@pytest.mark.slow
async def test_link_expiry_ends_the_wait(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    started = anyio.current_time()
    with pytest.raises(LinkExpiredError) as info:
        await zh.sessions.await_completion(session_id)
    waited = anyio.current_time() - started
    assert timedelta(seconds=waited) >= timedelta(days=7) - timedelta(seconds=1)
    assert timedelta(seconds=waited) < timedelta(days=7, minutes=10)
    assert info.value.session.id == session_id and info.value.session.status == "initiated"
    # A week of waiting for one candidate stays cheap.
    assert emu.request_counts["GET /sessions/{id}"] < 2_100


@pytest.mark.slow
async def test_expiry_of_a_session_this_client_did_not_create(emu: Emulator) -> None:
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as creator:
        session_id = await _invite(creator)
    await anyio.sleep(6 * 86_400)
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as waiter:
        started = anyio.current_time()
        with pytest.raises(LinkExpiredError):
            await waiter.sessions.await_completion(session_id)
        assert anyio.current_time() - started <= 86_400 + 600  # created_at + 7 days


async def test_transient_faults_are_waited_out(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    emu.start_session(session_id)
    emu.faults.add("503", rate=0.5, route="GET /sessions/{id}", retry_after=2)
    emu.faults.add("reset", rate=0.3, route="GET /sessions/{id}")

    async def finish() -> None:
        await anyio.sleep(300)
        emu.complete_session(session_id)

    async with anyio.create_task_group() as tg:
        tg.start_soon(finish)
        done = await zh.sessions.await_completion(session_id)
    assert done.status == "completed"


async def test_cancellation_leaves_nothing_running(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _invite(zh)
    with anyio.move_on_after(50) as scope:
        await zh.sessions.await_completion(session_id)
    assert scope.cancelled_caught
    # The client is still usable after a cancelled wait.
    assert (await zh.sessions.get(session_id)).status == "initiated"


async def test_bad_arguments(zh: ZenHireClient) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await zh.sessions.await_completion("abc", timeout=-1)
    with pytest.raises(ValueError, match="session_id"):
        await zh.sessions.await_completion("a/b")


async def test_a_flaky_detail_fetch_after_completion_is_waited_out(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    # Created by this client: their windows are known, so one list page sees all three.
    ids = [(await zh.sessions.create(persona.id, consent_mode="explicit")).id for _ in range(3)]
    for i in ids:
        emu.start_session(i)
        emu.complete_session(i, rating=4)
    # The detail GETs after the list row fail 14 times: each of the three concurrent fetches
    # runs through all 4 attempts of the transport, and some fail beyond that.
    emu.faults.add("503", count=14, route="GET /sessions/{id}", retry_after=1)
    emu.reset_counts()
    results: list[SessionDetail] = []

    async def one(i: str) -> None:
        results.append(await zh.sessions.await_completion(i))

    async with anyio.create_task_group() as tg:
        for i in ids:
            tg.start_soon(one, i)
    assert [r.status for r in results] == ["completed"] * 3
    assert all(r.feedback is not None for r in results)  # the detail, not the list row
    assert emu.request_counts["GET /sessions"] >= 1
    assert emu.faults.injected["503"] == 14
