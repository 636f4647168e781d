"""Ids and answers the waits cannot trust blindly (issue 12), against the emulator.

A server that matches ids case-insensitively, and one that answers a ``GET`` with another
session's id (a mixed-up cache): UUIDs compare in canonical form, and an answer naming
another session is a ``DecodeError``, never returned as the one asked for.
"""

from __future__ import annotations

import pytest

from zenhire_async import DecodeError, SessionDetail, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


def _polls(emu: Emulator) -> int:
    return emu.request_counts["GET /sessions"] + emu.request_counts["GET /sessions/{id}"]


async def _finished(emu: Emulator) -> str:
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    emu.start_session(session_id)
    emu.complete_session(session_id, rating=5)
    emu.reset_counts()
    return session_id


async def test_an_upper_case_uuid_is_matched_to_its_rows() -> None:
    async with Emulator(case_insensitive_ids=True) as emu:
        session_id = await _finished(emu)
        async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
            done = await zh.sessions.await_completion(session_id.upper(), timeout=60)
            assert isinstance(done, SessionDetail) and done.status == "completed"
            assert done.id == session_id
            assert _polls(emu) <= 3
            seen = [row.status async for row in zh.sessions.watch([session_id.upper()], timeout=60)]
            assert seen == ["completed"]


async def test_many_upper_case_waits_end_without_a_tight_loop() -> None:
    async with Emulator(case_insensitive_ids=True) as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(150)]
        for session_id in ids:
            emu.start_session(session_id)
            emu.complete_session(session_id)
        emu.reset_counts()
        async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
            rows = [row async for row in zh.sessions.watch([i.upper() for i in ids], timeout=600)]
        assert {row.id for row in rows} == set(ids)
        assert _polls(emu) <= 10  # a discovery walk of 2 pages, not a GET per row per sweep


async def test_a_get_answered_for_another_session_is_a_decode_error(
    zh: ZenHireClient, emu: Emulator
) -> None:
    session_id = await _finished(emu)
    emu.create_session(emu.create_persona("Other", "en"), consent_mode="explicit")
    emu.faults.add("other_id")
    with pytest.raises(DecodeError, match="the answer names"):
        await zh.sessions.get(session_id)


async def test_await_completion_never_returns_another_session(
    zh: ZenHireClient, emu: Emulator
) -> None:
    session_id = await _finished(emu)
    emu.create_session(emu.create_persona("Other", "en"), consent_mode="explicit")
    emu.faults.add("other_id")
    with pytest.raises(DecodeError):
        await zh.sessions.await_completion(session_id, timeout=60)
