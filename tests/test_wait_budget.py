"""Every request a wait makes counts against ``polling_share`` (issue 12 and 14).

Many ``await_completion`` calls whose sessions finished together: the detail fetch of each
is planned and paced by the sweep machinery, so waiting stays within its share of the rate
and a ``sessions.create`` issued meanwhile is not queued behind hundreds of GETs.
"""

from __future__ import annotations

import anyio
import pytest

from zenhire_async import SessionDetail, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

WAITERS = 300
RATE = 600  # requests/min; the polling share is half of it: 5 requests/s
SHARE_PER_SECOND = RATE * 0.5 / 60


@pytest.mark.slow
async def test_concurrent_waits_stay_within_the_polling_share() -> None:
    async with Emulator() as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(WAITERS)]
        for session_id in ids:
            emu.start_session(session_id)
            emu.complete_session(session_id, rating=3)
        emu.reset_counts()
        done: list[SessionDetail] = []
        create_wait: list[float] = []
        async with ZenHireClient(
            api_key=emu.api_key, base_url=emu.base_url, rate_limit_per_minute=RATE
        ) as zh:

            async def wait(session_id: str) -> None:
                done.append(await zh.sessions.await_completion(session_id))

            async def invite_meanwhile() -> None:
                await anyio.sleep(5)
                started = anyio.current_time()
                await zh.sessions.create(persona, consent_mode="explicit")
                create_wait.append(anyio.current_time() - started)

            started = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for session_id in ids:
                    tg.start_soon(wait, session_id)
                tg.start_soon(invite_meanwhile)
            elapsed = anyio.current_time() - started
        assert sorted(d.id for d in done) == sorted(ids)
        assert all(d.feedback is not None for d in done)
        polls = emu.request_counts["GET /sessions"] + emu.request_counts["GET /sessions/{id}"]
        assert polls >= WAITERS  # one detail each
        assert polls <= SHARE_PER_SECOND * elapsed + 10  # + one sweep's burst
        assert create_wait[0] < 3.0


async def test_a_ramp_of_waiters_does_not_replan_once_per_waiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zenhire_async._poll_sweep import Sweeper

    plans = 0
    next_wake = Sweeper.next_wake

    def counted(self: Sweeper, book: object) -> float | None:
        nonlocal plans
        plans += 1
        return next_wake(self, book)  # type: ignore[arg-type]

    monkeypatch.setattr(Sweeper, "next_wake", counted)
    async with Emulator() as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(WAITERS)]
        async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
            async with anyio.create_task_group() as tg:
                for session_id in ids:  # one new waiter every 50 ms
                    tg.start_soon(zh.sessions.await_completion, session_id)
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
    # Each plan scans every pending session; the ramp lasted 15 s and a sweep costs at
    # least one request of the 250/min share (0.24 s): far fewer plans than waiters.
    assert plans < WAITERS / 3


async def test_a_stale_detail_answer_is_fetched_again_later(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(120)]
    for session_id in ids:
        emu.start_session(session_id)
    await anyio.sleep(1)
    for session_id in ids:
        emu.complete_session(session_id, rating=5)
    # The list says completed; the first detail answers come from a lagging replica.
    emu.faults.add("stale_read", route="GET /sessions/{id}", count=10)
    done: list[SessionDetail] = []

    async def wait(session_id: str) -> None:
        done.append(await zh.sessions.await_completion(session_id, timeout=600))

    async with anyio.create_task_group() as tg:
        for session_id in ids:
            tg.start_soon(wait, session_id)
    assert sorted(d.id for d in done) == sorted(ids)
    assert all(d.status == "completed" and d.feedback is not None for d in done)
    assert emu.faults.injected["stale_read"] == 10
