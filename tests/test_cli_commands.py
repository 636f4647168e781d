"""The ``zenhire`` commands end to end against the emulator, in process (``cli.run``).

Output goes to pytest's captured (non-terminal) streams: plain text, no colours, no bars.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import wave
from pathlib import Path

import pytest
from cli_support import Captured, auth_args, zenhire

from zenhire_async.cli import run
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


def _completed_session(emu: Emulator, persona_id: str, ref: str, **kwargs: object) -> str:
    session_id = emu.create_session(persona_id, candidate_ref=ref, **kwargs)  # type: ignore[arg-type]
    emu.start_session(session_id)
    emu.complete_session(session_id, duration_sec=754, rating=2, comment="Audio lagged.")
    return session_id


# -- personas ---------------------------------------------------------------------------


async def test_personas_create_prints_the_id_and_list_get_show_it(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    code, out, err = await zenhire(
        emu, capsys, "personas", "create", "--role", "Data Engineer", "--language", "de"
    )
    assert code == 0
    persona_id = out.strip()
    assert len(out.splitlines()) == 1 and len(persona_id) == 36
    assert f"Created persona {persona_id} (Data Engineer, de)" in err

    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Ask about Spark.\nThen about Kafka.", encoding="utf-8")
    code, out, _ = await zenhire(
        emu, capsys, "personas", "create", "--role", "SRE", "--language", "en",
        "--system-prompt-file", str(prompt),
    )  # fmt: skip
    assert code == 0
    sre_id = out.strip()

    code, out, _ = await zenhire(emu, capsys, "personas", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "role_name", "language", "status", "created_at"]
    assert {line.split()[0] for line in lines[1:]} == {persona_id, sre_id}

    code, out, _ = await zenhire(emu, capsys, "personas", "get", sre_id)
    assert code == 0
    assert "role_name             SRE" in out
    assert out.endswith("system_prompt:\nAsk about Spark.\nThen about Kafka.\n")

    code, out, _ = await zenhire(emu, capsys, "personas", "get", persona_id, "--json")
    assert json.loads(out)["language"] == "de"


async def test_personas_list_all_walks_every_page(emu: Emulator, capsys: Captured) -> None:
    ids = {emu.create_persona(f"Role {n}", "en") for n in range(7)}
    code, out, err = await zenhire(emu, capsys, "personas", "list", "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 4  # header + one page of 3
    assert err == "3 of 7 shown; more match: add --all, or --offset 3\n"
    code, out, _ = await zenhire(emu, capsys, "personas", "list", "--all", "--format", "json")
    assert code == 0
    assert {p["id"] for p in json.loads(out)} == ids


async def test_persona_limits_are_checked_before_any_request(
    emu: Emulator, capsys: Captured
) -> None:
    emu.reset_counts()
    code, out, err = await zenhire(
        emu, capsys, "personas", "create", "--role", "x" * 201, "--language", "en"
    )
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and "role_name" in err and len(err.splitlines()) == 1
    assert emu.total_requests == 0


# -- sessions ---------------------------------------------------------------------------


async def test_sessions_list_filters_and_table(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    done = _completed_session(emu, persona, "ats-1", tags=["q3"], metadata={"req": "7"})
    waiting = emu.create_session(persona, candidate_ref="ats-2", tags=["q3"])
    emu.create_session(persona, candidate_ref="ats-3", tags=["q4"])

    code, out, _ = await zenhire(emu, capsys, "sessions", "list", "--tag", "q3")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [row[0] for row in rows] == [waiting, done]  # newest first
    assert rows[1][1:3] == ["ats-1", "completed"] and "12m" in out and "34s" in out

    code, out, _ = await zenhire(
        emu, capsys, "sessions", "list", "--status", "completed", "--metadata", "req=7"
    )
    assert [line.split()[0] for line in out.splitlines()[1:]] == [done]

    code, out, _ = await zenhire(
        emu, capsys, "sessions", "list", "--created-after", "2000-01-01", "--candidate-ref", "ats-3"
    )
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["ats-3"]


async def test_sessions_list_csv_and_json_are_lossless(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    sid = _completed_session(emu, persona, "ats-1", tags=["a", "b"], metadata={"req": 7})

    code, out, _ = await zenhire(emu, capsys, "sessions", "list", "--format", "csv")
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["id"] == sid and row["status"] == "completed" and row["tags"] == "a;b"
    assert json.loads(row["metadata"]) == {"req": 7}
    assert row["duration_sec"] == "754" and row["started_at"].endswith("+00:00")

    code, out, _ = await zenhire(emu, capsys, "--json", "sessions", "list")
    (item,) = json.loads(out)
    assert item["id"] == sid and item["metadata"] == {"req": 7} and item["tags"] == ["a", "b"]


async def test_sessions_list_says_when_more_rows_match(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    ids = {emu.create_session(persona, candidate_ref=f"c{n}") for n in range(5)}
    code, out, err = await zenhire(emu, capsys, "sessions", "list", "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 3
    assert err == "2 of 5 shown; more match: add --all, or --offset 2\n"

    code, out, err = await zenhire(emu, capsys, "sessions", "list", "--all", "--format", "csv")
    assert {row["id"] for row in csv.DictReader(io.StringIO(out))} == ids
    assert err == ""


async def test_sessions_get_shows_persona_and_feedback(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    sid = _completed_session(emu, persona, "ats-9")
    code, out, _ = await zenhire(emu, capsys, "sessions", "get", sid)
    assert code == 0
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["status"] == "completed"
    assert fields["persona"] == f"Backend (en) {persona}"
    assert fields["feedback"] == "2/5 (flagged) — Audio lagged."
    assert fields["duration"] == "12m 34s"

    code, out, _ = await zenhire(emu, capsys, "sessions", "get", sid, "--json")
    assert json.loads(out)["feedback"]["rating"] == 2


async def test_bad_filters_are_usage_errors(emu: Emulator, capsys: Captured) -> None:
    emu.reset_counts()
    for argv in (
        ["--metadata", "novalue"],
        ["--created-after", "yesterday"],
        ["--limit", "101"],
    ):
        code, out, err = await zenhire(emu, capsys, "sessions", "list", *argv)
        assert (code, out) == (2, ""), argv
        assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert emu.total_requests == 0


# -- results ----------------------------------------------------------------------------


async def test_results_saves_transcript_and_recording_privately(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    sid = _completed_session(emu, persona, "ats-1")
    out_dir = tmp_path / "new" / "dir"
    code, out, err = await zenhire(emu, capsys, "results", sid, "--out", str(out_dir))
    assert code == 0
    transcript, recording = out_dir / f"{sid}.transcript.json", out_dir / f"{sid}.wav"
    assert out.splitlines() == [str(transcript), str(recording)]
    assert f"Saved the transcript and a {emu.recording_bytes:,}-byte recording" in err
    assert json.loads(transcript.read_text()) == emu.transcript(sid)
    with wave.open(str(recording)) as wav:
        assert wav.getnframes() > 0
    assert recording.stat().st_size == emu.recording_bytes
    for path in (transcript, recording):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(out_dir.stat().st_mode) == 0o700
    assert sorted(os.listdir(out_dir)) == sorted([transcript.name, recording.name])

    code, out, _ = await zenhire(emu, capsys, "--json", "results", sid, "--out", str(out_dir))
    assert json.loads(out)["recording_bytes"] == emu.recording_bytes


async def test_results_before_completion_write_nothing(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    sid = emu.create_session(persona)
    emu.start_session(sid)
    code, out, err = await zenhire(emu, capsys, "results", sid, "--out", str(tmp_path / "r"))
    assert (code, out) == (1, "")
    assert err.startswith("error: ARTIFACT_NOT_READY: ")
    assert "request id req_" in err and "the session is active" in err
    assert not (tmp_path / "r").exists()


# -- errors and global options -----------------------------------------------------------


async def test_api_errors_are_one_line_with_code_and_request_id(
    emu: Emulator, capsys: Captured
) -> None:
    code, out, err = await zenhire(emu, capsys, "sessions", "get", "no-such-session")
    assert (code, out) == (1, "")
    assert err.startswith("error: NOT_FOUND: ") and "(HTTP 404, request id req_" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err

    code, out, err = await zenhire(emu, capsys, "--json", "sessions", "get", "no-such-session")
    body = json.loads(err)["error"]
    assert body["code"] == "NOT_FOUND" and body["status"] == 404 and body["exit_code"] == 1
    assert body["request_id"].startswith("req_") and out == ""


async def test_refused_key_exits_4_and_never_shows_the_key(emu: Emulator, capsys: Captured) -> None:
    expired = emu.add_key(expired=True)
    capsys.readouterr()
    code = await run(["--api-key", expired, "--base-url", emu.base_url, "personas", "list"])
    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err.startswith("error: API_KEY_EXPIRED: ") and "--api-key" in err
    assert expired not in err


async def test_missing_key_is_a_usage_error(
    emu: Emulator, capsys: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZENHIRE_API_KEY", raising=False)
    code = await run(["--base-url", emu.base_url, "personas", "list"])
    assert code == 2
    assert capsys.readouterr().err == "error: no API key: pass --api-key or set ZENHIRE_API_KEY\n"


async def test_unreachable_api_exits_5(capsys: Captured) -> None:
    code = await run(["--api-key", "zh_api_0123456789", "--base-url", "http://127.0.0.1:9",
                      "personas", "list"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 5
    assert err.startswith("error: CONNECTION: cannot reach http://127.0.0.1:9: ")


async def test_server_failure_after_retries_is_reported(emu: Emulator, capsys: Captured) -> None:
    emu.faults.add("500", rate=1.0)
    code, _, err = await zenhire(emu, capsys, "personas", "list")
    assert code == 1
    assert err.startswith("error: INTERNAL_ERROR: ") and "(HTTP 500" in err
    assert emu.request_counts["GET /personas"] == 4  # the first attempt and 3 retries


async def test_verbose_logs_every_request_redacted(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    _completed_session(emu, persona, "ats-1")
    code, out, err = await zenhire(emu, capsys, "sessions", "list", "-v")
    assert code == 0 and "ats-1" in out
    (line,) = [
        line
        for line in err.splitlines()
        if "GET /api/v1/interview/sessions" in line and "DEBUG" in line
    ]
    assert "DEBUG zenhire_async" in line and "-> 200" in line and "request_id=req_" in line
    assert emu.api_key not in err
    code, _, err = await zenhire(emu, capsys, "sessions", "list")
    assert err == ""  # the handler is gone again without -v


async def test_global_options_work_before_and_after_the_command(
    emu: Emulator, capsys: Captured
) -> None:
    emu.create_persona("Backend", "en")
    capsys.readouterr()
    before = await run(["--json", *auth_args(emu), "personas", "list"])
    out_before = capsys.readouterr().out
    after = await run(["personas", "list", *auth_args(emu), "--json"])
    out_after = capsys.readouterr().out
    assert before == after == 0
    assert json.loads(out_before) == json.loads(out_after)


async def test_argparse_usage_errors_exit_2(capsys: Captured) -> None:
    with pytest.raises(SystemExit) as exc:
        await run(["sessions", "list", "--format", "xml"])
    assert exc.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


async def test_cursor_pages_hint_at_all_and_all_follows_the_cursor(capsys: Captured) -> None:
    async with Emulator(envelope="cursor") as emu:
        persona = emu.create_persona("Backend", "en")
        ids = {emu.create_session(persona, candidate_ref=f"c{n}") for n in range(5)}
        code, out, err = await zenhire(emu, capsys, "sessions", "list", "--limit", "2")
        assert code == 0 and len(out.splitlines()) == 3
        assert err == "2 shown; more match: add --all\n"
        code, out, err = await zenhire(emu, capsys, "sessions", "list", "--all", "--json")
        assert {row["id"] for row in json.loads(out)} == ids
