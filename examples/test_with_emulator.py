"""Testing your own ZenHire integration with the emulator and its pytest fixtures.

Installing ``zenhire-async`` registers a pytest plugin with two fixtures:

* ``zenhire_emulator`` — a started :class:`~zenhire_async.testing.Emulator` on 127.0.0.1;
* ``zenhire_client`` — a ``ZenHireClient`` pointed at it, closed after the test.

They are async fixtures for the anyio pytest plugin (installed with anyio). Copy the
``anyio_backend`` fixture below into your ``conftest.py``: it runs tests on a virtual-time
loop, so an interview that takes 20 minutes of polling finishes in milliseconds.

Run: ``pytest examples/test_with_emulator.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator, Simulation, virtual_time_loop_factory

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    """asyncio on a virtual clock: sleeps and polling intervals cost no real time."""
    return ("asyncio", {"loop_factory": virtual_time_loop_factory})


# -- the code under test: a piece of your ATS -----------------------------------------------


async def invite_and_grade(zh: ZenHireClient, persona_id: str, candidate_ref: str) -> str:
    """Invite a candidate, wait for the interview, and grade it (your business logic)."""
    invite = await zh.sessions.create(
        persona_id, consent_mode="integrator", candidate_ref=candidate_ref
    )
    session = await zh.sessions.await_completion(invite.id, timeout=24 * 3600)
    if session.status != "completed":
        return "retry-later"
    transcript = await zh.sessions.transcript(invite.id)
    return "review" if len(transcript.turns) >= 2 else "incomplete"


# -- tests with the plugin's fixtures: you drive the candidate ------------------------------


async def test_a_completed_interview_is_sent_to_review(
    zenhire_client: ZenHireClient, zenhire_emulator: Emulator
) -> None:
    persona_id = zenhire_emulator.create_persona("Backend Engineer", "en")

    async def candidate() -> None:
        # Act as the candidate: two minutes after the invite, open the link; then finish.
        await anyio.sleep(120)
        (session_id,) = zenhire_emulator.links
        zenhire_emulator.start_session(session_id)
        await anyio.sleep(600)  # ten minutes of virtual time
        zenhire_emulator.complete_session(session_id, duration_sec=600, rating=5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(candidate)
        grade = await invite_and_grade(zenhire_client, persona_id, "ats-1")
    assert grade == "review"


async def test_a_failed_interview_is_retried_later(
    zenhire_client: ZenHireClient, zenhire_emulator: Emulator
) -> None:
    persona_id = zenhire_emulator.create_persona()

    async def candidate() -> None:
        await anyio.sleep(120)
        (session_id,) = zenhire_emulator.links
        zenhire_emulator.start_session(session_id)
        zenhire_emulator.fail_session(session_id)

    async with anyio.create_task_group() as tg:
        tg.start_soon(candidate)
        assert await invite_and_grade(zenhire_client, persona_id, "ats-2") == "retry-later"


async def test_invalid_refs_are_rejected_before_any_request(
    zenhire_client: ZenHireClient, zenhire_emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="candidate_ref"):
        await invite_and_grade(zenhire_client, "any-persona", "x" * 300)
    assert zenhire_emulator.total_requests == 0


# -- your own emulator: simulated candidates and injected faults ----------------------------


@pytest.fixture
async def busy_emulator() -> AsyncIterator[Emulator]:
    """Candidates who open their links and interview by themselves; a flaky network."""
    simulation = Simulation(open_delay=(60, 3600), duration=(300, 1800), fail_probability=0.0)
    async with Emulator(simulation=simulation, seed=1) as emu:
        emu.faults.add("503", rate=0.2, retry_after=2)  # a fifth of requests: 503 + Retry-After
        yield emu


async def test_grading_survives_a_flaky_api(busy_emulator: Emulator) -> None:
    persona_id = busy_emulator.create_persona()
    async with ZenHireClient(api_key=busy_emulator.api_key, base_url=busy_emulator.base_url) as zh:
        grades = []
        async with anyio.create_task_group() as tg:

            async def grade(ref: str) -> None:
                grades.append(await invite_and_grade(zh, persona_id, ref))

            for n in range(10):
                tg.start_soon(grade, f"ats-{n}")
    assert grades == ["review"] * 10
    assert busy_emulator.faults.injected["503"] > 0  # the faults happened, and were absorbed
