"""Every endpoint's happy path and exact JSON field names, plus the lifecycle controls."""

from __future__ import annotations

import math
import re

import aiohttp
import anyio
import pytest
from emulator_support import Api, assert_envelope

from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SUMMARY_FIELDS = {
    "id",
    "client_id",
    "persona_id",
    "candidate_ref",
    "status",
    "consent_mode",
    "source",
    "project_id",
    "tags",
    "metadata",
    "started_at",
    "completed_at",
    "duration_sec",
    "credit_charged",
    "recording_s3_key",
    "transcript_s3_key",
    "interview_svc_session_id",
    "created_at",
    "role_name",
    "language",
}


async def test_health_needs_no_key(api: Api) -> None:
    reply = await api.call("GET", "/api/v1/health", key=None, root=True)
    assert reply.status == 200
    assert reply.json == {"status": "ok"}


async def test_credits(api: Api, emu: Emulator) -> None:
    reply = await api.call("GET", "/api/v1/credits", root=True)
    assert reply.json == {"balance": 1_000_000, "currency": "credits"}
    assert emu.credits() == 1_000_000


async def test_create_persona_fields(api: Api, emu: Emulator) -> None:
    reply = await api.call(
        "POST", "/personas", json={"role_name": "Data Engineer", "language": "de"}
    )
    assert reply.status == 201
    body = reply.json
    assert set(body) == {
        "id",
        "client_id",
        "role_name",
        "language",
        "status",
        "created_at",
        "base_prompt_override",
    }
    assert UUID.match(body["id"])
    assert body["client_id"] == emu.client_id
    assert (body["role_name"], body["language"], body["status"]) == (
        "Data Engineer",
        "de",
        "active",
    )
    assert body["base_prompt_override"] is None
    assert TS.match(body["created_at"])
    assert reply.headers["X-Request-Id"].startswith("req_")


async def test_get_persona_detail_generates_prompt(api: Api) -> None:
    pid = await api.persona("Site Reliability Engineer", "en")
    body = (await api.call("GET", f"/personas/{pid}")).json
    assert body["id"] == pid
    assert "Site Reliability Engineer" in body["system_prompt"]
    assert body["updated_at"] is None
    assert body["base_prompt_override"] is None


async def test_persona_keeps_given_prompt_and_override(api: Api) -> None:
    reply = await api.call(
        "POST",
        "/personas",
        json={
            "role_name": "QA",
            "language": "fr",
            "system_prompt": "Be terse.",
            "base_prompt_override": "base",
        },
    )
    assert reply.json["base_prompt_override"] == "base"
    detail = (await api.call("GET", f"/personas/{reply.json['id']}")).json
    assert detail["system_prompt"] == "Be terse."


async def test_list_personas_rows_omit_override(api: Api) -> None:
    first = await api.persona("A")
    second = await api.persona("B")
    body = (await api.call("GET", "/personas")).json
    assert [row["id"] for row in body["data"]] == [second, first]
    assert all("base_prompt_override" not in row for row in body["data"])
    assert body["total"] == 2


async def test_create_session_response(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    created = await api.session(pid)
    assert set(created) == {"id", "candidate_link", "expires_in"}
    assert created["expires_in"] == 604_800
    assert re.match(
        r"^https://interview\.zenhire\.ai/#t=[A-Za-z0-9_-]{43}$", created["candidate_link"]
    )
    assert emu.links[created["id"]] == created["candidate_link"]
    assert created["id"] in emu.delivered_session_ids
    assert not emu.undelivered_session_ids


async def test_session_detail_fields(api: Api, emu: Emulator) -> None:
    pid = await api.persona("Backend", "en")
    sid = (await api.session(pid, candidate_ref="ats-1"))["id"]
    body = (await api.call("GET", f"/sessions/{sid}")).json
    assert set(body) == SUMMARY_FIELDS | {"persona", "feedback"}
    assert body["status"] == "initiated"
    assert body["source"] == "requests"
    assert body["project_id"] == emu.tenant.project_id
    assert body["candidate_ref"] == "ats-1"
    assert body["tags"] is None
    assert body["metadata"] is None
    assert body["role_name"] is None
    assert body["language"] is None
    assert body["persona"] == {
        "id": pid,
        "role_name": "Backend",
        "language": "en",
        "system_prompt": body["persona"]["system_prompt"],
        "base_prompt_override": None,
    }
    assert body["feedback"] is None
    for name in ("started_at", "completed_at", "duration_sec", "credit_charged"):
        assert body[name] is None


async def test_list_row_fields(api: Api) -> None:
    pid = await api.persona("Backend", "en")
    await api.session(pid, tags=["q3"], metadata={"req": 7})
    row = (await api.call("GET", "/sessions")).json["data"][0]
    assert set(row) == SUMMARY_FIELDS
    assert (row["role_name"], row["language"]) == ("Backend", "en")
    assert row["tags"] == ["q3"]
    assert row["metadata"] == {"req": 7}


async def test_lifecycle_complete_charges_and_feedback(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    sid = (await api.session(pid))["id"]
    emu.start_session(sid)
    active = (await api.call("GET", f"/sessions/{sid}")).json
    assert active["status"] == "active"
    assert TS.match(active["started_at"])
    emu.complete_session(sid, duration_sec=61, rating=2, comment="meh")
    body = (await api.call("GET", f"/sessions/{sid}")).json
    assert body["status"] == "completed"
    assert body["duration_sec"] == 61
    assert body["credit_charged"] == math.ceil(61 / 60)
    assert body["recording_s3_key"]
    assert body["transcript_s3_key"]
    assert not body["recording_s3_key"].startswith("http")
    assert body["interview_svc_session_id"]
    assert TS.match(body["completed_at"])
    assert body["feedback"]["rating"] == 2
    assert body["feedback"]["comment"] == "meh"
    assert body["feedback"]["flagged"] is True
    assert TS.match(body["feedback"]["submitted_at"])
    assert emu.credits() == 1_000_000 - 2
    assert emu.session(sid)["status"] == "completed"


async def test_failed_session_is_not_charged(api: Api, emu: Emulator) -> None:
    sid = (await api.session(await api.persona()))["id"]
    emu.start_session(sid)
    emu.fail_session(sid)
    body = (await api.call("GET", f"/sessions/{sid}")).json
    assert body["status"] == "failed"
    assert body["credit_charged"] is None
    assert emu.credits() == 1_000_000
    with pytest.raises(ValueError, match="failed"):
        emu.complete_session(sid)


async def test_unknown_ids_raise_key_error(emu: Emulator) -> None:
    with pytest.raises(KeyError):
        emu.start_session("nope")
    with pytest.raises(KeyError):
        emu.session("nope")


async def test_artifacts_not_ready_then_served(api: Api, emu: Emulator) -> None:
    sid = (await api.session(await api.persona()))["id"]
    for path in ("recording", "transcript"):
        err = assert_envelope(
            await api.call("GET", f"/sessions/{sid}/{path}"), 409, "ARTIFACT_NOT_READY"
        )
        assert err["details"] == {"status": "initiated"}
    emu.start_session(sid)
    err = assert_envelope(
        await api.call("GET", f"/sessions/{sid}/recording"), 409, "ARTIFACT_NOT_READY"
    )
    assert err["details"]["status"] == "active"
    emu.complete_session(sid, duration_sec=300)
    rec = await api.call("GET", f"/sessions/{sid}/recording")
    assert rec.status == 200
    assert rec.headers["Content-Type"] == "audio/wav"
    assert int(rec.headers["Content-Length"]) == len(rec.raw) == 32_044
    transcript = await api.call("GET", f"/sessions/{sid}/transcript")
    turns = transcript.json
    assert isinstance(turns, list)
    assert len(turns) >= 2
    assert {t["speaker"] for t in turns} == {"interviewer", "candidate"}
    assert all(isinstance(t["text"], str) and isinstance(t["start_ms"], int) for t in turns)


async def test_deleted_persona(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    sid = (await api.session(pid))["id"]
    emu.delete_persona(pid)
    row = (await api.call("GET", "/sessions")).json["data"][0]
    assert row["role_name"] is None
    assert row["language"] is None
    detail = (await api.call("GET", f"/sessions/{sid}")).json
    assert detail["persona"] is None
    assert_envelope(await api.call("GET", f"/personas/{pid}"), 404, "NOT_FOUND")


async def test_request_counts(api: Api, emu: Emulator) -> None:
    pid = await api.persona()
    sid = (await api.session(pid))["id"]
    await api.call("GET", f"/sessions/{sid}")
    await api.call("GET", f"/sessions/{sid}")
    await api.call("GET", "/sessions")
    await api.call("GET", f"/sessions/{sid}/recording")
    assert emu.request_counts["GET /sessions/{id}"] == 2
    assert emu.request_counts["POST /personas/{id}/sessions"] == 1
    assert emu.request_counts["GET /sessions"] == 1
    assert emu.request_counts["GET /sessions/{id}/recording"] == 1
    assert emu.total_requests == 6
    emu.reset_counts()
    assert emu.total_requests == 0


async def test_direct_seeding_and_sessions_of(emu: Emulator) -> None:
    pid = emu.create_persona("Ops", "en")
    first = emu.create_session(pid, candidate_ref="a")
    second = emu.create_session(pid, candidate_ref="b", tags=["x"])
    rows = emu.sessions_of()
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["role_name"] == "Ops"
    assert emu.clock_now().tzinfo is not None


async def test_session_copy_is_detached(emu: Emulator) -> None:
    sid = emu.create_session(emu.create_persona(), tags=["a"])
    emu.complete_session(sid, rating=5)
    copy = emu.session(sid)
    copy["tags"].append("b")
    copy["feedback"]["rating"] = 1
    fresh = emu.session(sid)
    assert fresh["tags"] == ["a"]
    assert fresh["feedback"]["rating"] == 5
    assert fresh["feedback"]["flagged"] is False


async def test_plugin_fixture(zenhire_emulator: Emulator) -> None:
    assert zenhire_emulator.base_url.startswith("http://127.0.0.1:")
    assert zenhire_emulator.api_key.startswith("zh_api_")


async def test_connections_are_counted_as_they_open_and_close(emu: Emulator) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=3)) as session:

        async def health() -> None:
            async with session.get(emu.base_url + "/api/v1/health") as resp:
                assert resp.status == 200

        async with anyio.create_task_group() as tg:
            for _ in range(30):
                tg.start_soon(health)
        assert emu.open_connections == emu.peak_connections == 3
    await anyio.sleep(0.01)  # the server sees the connections go on its next turns
    assert emu.open_connections == 0
    emu.reset_counts()
    assert emu.peak_connections == 0
