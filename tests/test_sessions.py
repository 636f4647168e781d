"""Sessions against the emulator: create, get, list/iter with filters and every envelope."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
import pytest

from zenhire_async import (
    ArtifactNotReadyError,
    NotFoundError,
    SessionStatus,
    ZenHireClient,
)
from zenhire_async.testing import Emulator, Envelope

pytestmark = pytest.mark.anyio


async def test_create_returns_the_link_once_and_hides_it_in_repr(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(
        persona.id,
        consent_mode="explicit",
        candidate_ref="ats-1",
        tags=["q3"],
        metadata={"req": 7, "remote": True},
    )
    assert invite.candidate_link == emu.links[invite.id]
    assert invite.candidate_link.startswith("https://interview.zenhire.ai/#t=")
    token = invite.candidate_link.split("#t=", 1)[1]
    assert token not in repr(invite) and token not in str(invite)
    assert invite.expires_in == 604800
    assert timedelta(days=6.99) < invite.expires_at - emu.clock_now() <= timedelta(days=7)
    session = await zh.sessions.get(invite.id)
    assert session.status == SessionStatus.INITIATED
    assert session.status == "initiated"
    assert (session.candidate_ref, session.tags, session.metadata) == (
        "ats-1",
        ["q3"],
        {"req": 7, "remote": True},
    )
    assert session.source == "requests" and session.consent_mode == "explicit"
    assert session.persona is not None and session.persona.role_name == "Engineer"
    assert session.feedback is None


async def test_optional_fields_are_null_when_not_given(zh: ZenHireClient) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="integrator")
    session = await zh.sessions.get(invite.id)
    assert session.tags is None and session.metadata is None and session.candidate_ref is None


async def test_completed_session_carries_results_and_feedback(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    emu.start_session(invite.id)
    assert (await zh.sessions.get(invite.id)).status == "active"
    emu.complete_session(invite.id, duration_sec=125, rating=2, comment="meh")
    done = await zh.sessions.get(invite.id)
    assert done.status == "completed" and done.is_terminal
    assert done.duration_sec == 125 and done.credit_charged == 3
    assert done.completed_at is not None and done.started_at is not None
    assert done.feedback is not None
    assert (done.feedback.rating, done.feedback.comment, done.feedback.flagged) == (2, "meh", True)


async def test_deleted_persona_shows_as_null(zh: ZenHireClient, emu: Emulator) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    emu.delete_persona(persona.id)
    assert (await zh.sessions.get(invite.id)).persona is None
    row = (await zh.sessions.list()).data[0]
    assert row.id == invite.id and row.role_name is None and row.language is None


async def test_unknown_and_foreign_sessions_are_not_found(zh: ZenHireClient, emu: Emulator) -> None:
    with pytest.raises(NotFoundError):
        await zh.sessions.get("nope")
    other = emu.add_tenant()
    async with ZenHireClient(api_key=other.api_key, base_url=emu.base_url) as theirs:
        persona = await theirs.personas.create("Theirs", "en")
        invite = await theirs.sessions.create(persona.id, consent_mode="explicit")
    with pytest.raises(NotFoundError):
        await zh.sessions.get(invite.id)
    with pytest.raises(NotFoundError):
        await zh.sessions.create(persona.id, consent_mode="explicit")


async def test_list_filters(zh: ZenHireClient, emu: Emulator) -> None:
    p1 = await zh.personas.create("One", "en")
    p2 = await zh.personas.create("Two", "en")
    a = await zh.sessions.create(
        p1.id,
        consent_mode="explicit",
        candidate_ref="a",
        tags=["q3", "eu"],
        metadata={"req": 7, "remote": True},
    )
    b = await zh.sessions.create(
        p1.id, consent_mode="explicit", candidate_ref="b", tags=["q3"], metadata={"req": 8}
    )
    await anyio.sleep(1)
    c = await zh.sessions.create(p2.id, consent_mode="integrator", candidate_ref="c")
    emu.start_session(b.id)

    async def ids(**filters: object) -> list[str]:
        return [row.id async for row in zh.sessions.iter(**filters)]  # type: ignore[arg-type]

    assert await ids() == [c.id, b.id, a.id]  # newest first
    assert await ids(persona_id=p1.id) == [b.id, a.id]
    assert await ids(status="active") == [b.id]
    assert await ids(candidate_ref="c") == [c.id]
    assert await ids(tags=["q3"]) == [b.id, a.id]
    assert await ids(tags=["q3", "eu"]) == [a.id]
    assert await ids(metadata={"req": 7}) == [a.id]
    assert await ids(metadata={"req": 7, "remote": True}) == [a.id]
    assert await ids(metadata={"req": 8, "remote": True}) == []
    created_c = (await zh.sessions.get(c.id)).created_at
    assert await ids(created_after=created_c) == [c.id]
    assert await ids(created_before=created_c) == [b.id, a.id]
    page = await zh.sessions.list(persona_id=p1.id, limit=1)
    assert [r.id for r in page.data] == [b.id] and page.has_more is True and page.total == 2


@pytest.mark.parametrize("envelope", ["pinned", "data_only", "has_more", "cursor", "nested"])
async def test_iter_walks_every_envelope_form(envelope: Envelope) -> None:
    async with (
        Emulator(envelope=envelope) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        persona = await zh.personas.create("Engineer", "en")
        created = {
            (await zh.sessions.create(persona.id, consent_mode="explicit")).id for _ in range(25)
        }
        for page_size in (1, 7, 25, 100):
            seen = [row.id async for row in zh.sessions.iter(page_size=page_size)]
            assert len(seen) == len(set(seen)) == 25
            assert set(seen) == created
        personas = [p.id async for p in zh.personas.iter(page_size=1)]
        assert personas == [persona.id]


async def test_iter_yields_no_duplicates_while_the_list_grows(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = await zh.personas.create("Engineer", "en")
    first = {(await zh.sessions.create(persona.id, consent_mode="explicit")).id for _ in range(30)}
    seen: list[str] = []
    async for row in zh.sessions.iter(page_size=10):
        seen.append(row.id)
        if len(seen) % 5 == 0:  # new sessions push older rows down the offset pages
            await zh.sessions.create(persona.id, consent_mode="explicit")
    assert len(seen) == len(set(seen))
    assert first <= set(seen)


async def test_list_validation_before_any_request(zh: ZenHireClient, emu: Emulator) -> None:
    with pytest.raises(ValueError, match="limit"):
        await zh.sessions.list(limit=101)
    with pytest.raises(ValueError, match="tag"):
        zh.sessions.iter(tags=["x" * 41])
    with pytest.raises(ValueError, match="timezone"):
        await zh.sessions.list(created_after=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="consent_mode"):
        await zh.sessions.create("p", consent_mode="verbal")  # type: ignore[arg-type]
    assert emu.total_requests == 0


async def test_transcript_before_and_after_completion(zh: ZenHireClient, emu: Emulator) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    with pytest.raises(ArtifactNotReadyError) as info:
        await zh.sessions.transcript(invite.id)
    assert info.value.session_status == "initiated" and info.value.code == "ARTIFACT_NOT_READY"
    emu.start_session(invite.id)
    emu.complete_session(invite.id)
    transcript = await zh.sessions.transcript(invite.id)
    assert isinstance(transcript.raw, list) and transcript.turns
    assert {t.speaker for t in transcript.turns} <= {"interviewer", "candidate"}
    assert all(t.text for t in transcript.turns)
