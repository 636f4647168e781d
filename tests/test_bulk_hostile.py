"""Create answers we cannot trust blindly: odd numbers, lost fields, links that are not links.

Each test patches the emulator's create answer (the ``patched_answer`` fault) the way a
server written by someone else does, and checks that the link is kept when the answer says
it unambiguously, and that otherwise the session is reported (an orphan) and never doubled.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from bulk_support import journal_outcome

from zenhire_async import (
    DecodeError,
    FailedRecord,
    OrphanRecord,
    ZenHireClient,
    read_journal,
)
from zenhire_async.testing import DROP, Emulator

pytestmark = pytest.mark.anyio

CREATE = "POST /personas/{id}/sessions"
ROWS = [{"candidate_ref": f"ats-{i}"} for i in range(5)]


@pytest.fixture
async def persona_id(zh: ZenHireClient) -> str:
    return (await zh.personas.create("Engineer", "en")).id


def _job_sessions(emu: Emulator) -> list[dict[str, Any]]:
    return [s for s in emu.sessions_of() if (s["metadata"] or {}).get("zh_job")]


@pytest.mark.parametrize(
    "expires_in", [604800.0, "604800", " 604800.0 ", "6.048e5"], ids=["float", "str", "strf", "exp"]
)
async def test_an_unambiguous_expires_in_keeps_the_link(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path, expires_in: object
) -> None:
    emu.faults.add("patched_answer", route=CREATE, patch={"expires_in": expires_in})
    invite = await zh.sessions.create(persona_id, consent_mode="explicit")
    assert invite.expires_in == 604800
    assert emu.links[invite.id] == invite.candidate_link
    journal = tmp_path / "j.jsonl"
    report = await zh.sessions.bulk_invite(
        persona_id, ROWS, consent_mode="explicit", journal=journal
    )
    assert (report.created, report.failed, report.orphans) == (5, [], [])
    assert len(_job_sessions(emu)) == 5


@pytest.mark.parametrize("expires_in", ["soon", -5, True, {"s": 1}, "NaN", None])
async def test_an_unreadable_expires_in_still_delivers_the_link(
    zh: ZenHireClient,
    emu: Emulator,
    persona_id: str,
    tmp_path: Path,
    expires_in: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu.faults.add("patched_answer", route=CREATE, patch={"expires_in": expires_in})
    journal = tmp_path / "j.jsonl"
    with caplog.at_level(logging.DEBUG, logger="zenhire_async"):
        report = await zh.sessions.bulk_invite(
            persona_id, ROWS, consent_mode="explicit", journal=journal
        )
    # Before: 25 sessions made, 0 created, 5 live sessions never reported.
    assert (report.created, report.failed, report.orphans) == (5, [], [])
    assert len(_job_sessions(emu)) == 5
    outcome = journal_outcome(journal)
    for ref, rows in outcome.created.items():
        assert emu.links[rows[0].session_id] == rows[0].candidate_link, ref
    for link in emu.links.values():
        assert link.split("#t=")[1] not in caplog.text


async def test_the_id_under_session_id_is_accepted(
    zh: ZenHireClient, emu: Emulator, persona_id: str
) -> None:
    def rename(obj: dict[str, Any]) -> dict[str, Any]:
        obj["session_id"] = obj.pop("id")
        return obj

    emu.faults.add("patched_answer", route=CREATE, patch=rename)
    invite = await zh.sessions.create(persona_id, consent_mode="explicit")
    assert emu.links[invite.id] == invite.candidate_link


@pytest.mark.parametrize(
    "link",
    [
        DROP,
        "",
        None,
        42,
        "javascript:alert(1)",
        "http://interview.zenhire.ai/#t=abc",
        "https:///#t=abc",
        "https://interview.zenhire.ai/",
        "https://interview.zenhire.ai/#t=",
        "https://interview.zenhire.ai/#x=abc",
        "https://interview.zenhire.ai/ #t=abc",
    ],
)
async def test_a_create_answer_without_a_usable_link_is_a_decode_error_naming_the_session(
    zh: ZenHireClient, emu: Emulator, persona_id: str, link: object
) -> None:
    emu.faults.add("patched_answer", route=CREATE, patch={"candidate_link": link}, count=1)
    with pytest.raises(DecodeError) as caught:
        await zh.sessions.create(persona_id, consent_mode="explicit")
    (session,) = emu.sessions_of()
    assert caught.value.session_id == session["id"]
    text = str(caught.value) + repr(caught.value)
    if isinstance(link, str) and link:
        assert link not in text
    assert "abc" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_bulk_never_multiplies_sessions_when_answers_hold_no_link(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    emu.faults.add("patched_answer", route=CREATE, patch={"candidate_link": "javascript:x"})
    journal = tmp_path / "j.jsonl"
    report = await zh.sessions.bulk_invite(
        persona_id, ROWS, consent_mode="explicit", journal=journal
    )
    made = _job_sessions(emu)
    # Before: 25 sessions made for 5 rows, 5 of them never reported.
    assert len(made) == 5
    assert report.created == 0
    assert sorted(report.orphans) == sorted(s["id"] for s in made)
    assert [f.code for f in report.failed] == ["DECODE_ERROR"] * 5
    records = list(read_journal(journal))
    orphans = {r.session_id for r in records if isinstance(r, OrphanRecord)}
    assert orphans == {s["id"] for s in made}
    failed = [r for r in records if isinstance(r, FailedRecord)]
    assert all("javascript" not in r.message for r in failed)
    # A re-run on a sane server invites each row once more and keeps the orphans reported.
    emu.faults.clear()
    again = await zh.sessions.bulk_invite(
        persona_id, ROWS, consent_mode="explicit", journal=journal
    )
    assert (again.created, again.failed, again.orphans) == (5, [], [])
    assert len(_job_sessions(emu)) == 10


async def test_an_unreadable_create_answer_is_reconciled_not_retried(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    emu.faults.add("patched_answer", route=CREATE, patch=lambda obj: {"ok": True})
    journal = tmp_path / "j.jsonl"
    report = await zh.sessions.bulk_invite(
        persona_id, ROWS, consent_mode="explicit", journal=journal
    )
    made = _job_sessions(emu)
    assert len(made) == 5
    assert sorted(report.orphans) == sorted(s["id"] for s in made)
    assert [f.code for f in report.failed] == ["DECODE_ERROR"] * 5


async def test_a_link_on_another_host_is_kept_with_a_debug_note(
    zh: ZenHireClient, emu: Emulator, persona_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    link = "https://eu.interview.example.com/start#t=OTHERHOSTTOKEN"
    emu.faults.add("patched_answer", route=CREATE, patch={"candidate_link": link})
    with caplog.at_level(logging.DEBUG, logger="zenhire_async"):
        invite = await zh.sessions.create(persona_id, consent_mode="explicit")
    assert invite.candidate_link == link
    notes = [r for r in caplog.records if "eu.interview.example.com" in r.getMessage()]
    assert notes and all(r.levelno == logging.DEBUG for r in notes)
    assert "OTHERHOSTTOKEN" not in caplog.text


async def test_the_patched_answer_fault_itself(emu: Emulator, persona_id: str) -> None:
    """Raw HTTP: rows of a list page are patched one by one, an error answer is left alone,
    and a create answer whose link the patch removed counts as undelivered."""
    import aiohttp

    headers = {"X-API-Key": emu.api_key}
    api = f"{emu.base_url}/api/v1/interview"
    emu.create_session(persona_id, candidate_ref="a")
    emu.faults.add("patched_answer", route="GET /sessions", patch={"status": "weird"})
    emu.faults.add("patched_answer", route="GET /sessions/{id}")
    emu.faults.add("patched_answer", route=CREATE, patch={"candidate_link": DROP}, count=1)
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{api}/sessions") as resp:
            page = await resp.json()
        assert [row["status"] for row in page["data"]] == ["weird"]
        async with http.get(f"{api}/sessions/nope") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "NOT_FOUND"
        async with http.get(f"{api}/sessions/{page['data'][0]['id']}") as resp:
            detail = await resp.json()
        assert not detail["created_at"].endswith("Z")  # the default patch: naive timestamps
        async with http.post(
            f"{api}/personas/{persona_id}/sessions", json={"consent_mode": "explicit"}
        ) as resp:
            created = await resp.json()
    assert resp.status == 201 and "candidate_link" not in created
    assert created["id"] in emu.undelivered_session_ids
    assert created["id"] not in emu.delivered_session_ids
    assert emu.faults.injected["patched_answer"] == 4  # drawn on the 404 too, left as it was
