"""DESIGN §4: ids are one path segment, statuses and consent modes are Literal types.

Every refusal happens before any request: the emulator must have received nothing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast, get_args

import pytest

import zenhire_async
from zenhire_async import ConsentModeName, SessionStatusName, ZenHireClient
from zenhire_async._validation import require_id
from zenhire_async.models import SessionSummary
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

BAD_IDS = ["", ".", "..", "a/b", "/", "a b", " a", "a\t", "a\nb", "a\x00b", "a\x7fb", "a\u2028b"]

IdCall = Callable[[ZenHireClient, str], Awaitable[object]]


async def _watch_one(zh: ZenHireClient, sid: str) -> object:
    async for row in zh.sessions.watch(["fine-id", sid]):
        return row
    return None


async def _iter_one(zh: ZenHireClient, pid: str) -> object:
    async for row in zh.sessions.iter(persona_id=pid):
        return row
    return None


async def _bulk(zh: ZenHireClient, pid: str, tmp: Path) -> object:
    return await zh.sessions.bulk_invite(
        pid, [{"candidate_ref": "r1"}], consent_mode="explicit", journal=tmp / "j.jsonl"
    )


async def _stream(zh: ZenHireClient, sid: str) -> object:
    async with zh.sessions.stream_recording(sid) as chunks:
        return chunks


CALLS: dict[str, IdCall] = {
    "personas.get": lambda zh, i: zh.personas.get(i),
    "sessions.create": lambda zh, i: zh.sessions.create(i, consent_mode="explicit"),
    "sessions.get": lambda zh, i: zh.sessions.get(i),
    "sessions.transcript": lambda zh, i: zh.sessions.transcript(i),
    "sessions.stream_recording": _stream,
    "sessions.await_completion": lambda zh, i: zh.sessions.await_completion(i, timeout=1),
    "sessions.watch": _watch_one,
    "sessions.list(persona_id)": lambda zh, i: zh.sessions.list(persona_id=i),
    "sessions.iter(persona_id)": _iter_one,
}


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_bad_id_is_refused_before_any_request(
    zh: ZenHireClient, emu: Emulator, call: str, bad: str
) -> None:
    with pytest.raises(ValueError, match="path segment"):
        await CALLS[call](zh, bad)
    assert emu.total_requests == 0


@pytest.mark.parametrize("bad", ["..", "a b", "x/y"], ids=repr)
async def test_bulk_invite_and_download_refuse_a_bad_id(
    zh: ZenHireClient, emu: Emulator, bad: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="path segment"):
        await _bulk(zh, bad, tmp_path)
    with pytest.raises(ValueError, match="path segment"):
        await zh.sessions.download_recording(bad, tmp_path / "r.wav")
    assert emu.total_requests == 0
    assert not (tmp_path / "j.jsonl").exists()


async def test_create_with_dotdot_no_longer_posts_to_sessions(
    zh: ZenHireClient, emu: Emulator
) -> None:
    """The case that was found: ``create("..")`` resolved to ``POST /sessions``."""
    with pytest.raises(ValueError, match="path segment"):
        await zh.sessions.create("..", consent_mode="explicit")
    assert "POST /sessions" not in emu.request_counts


@pytest.mark.parametrize("good", ["abc", "a.b", "...", "a-b_c~d", "ümlaut", "a%2Fb", "a?b#c"])
async def test_odd_but_single_segment_ids_are_sent_quoted(
    zh: ZenHireClient, emu: Emulator, good: str
) -> None:
    assert require_id("session_id", good) == good
    with pytest.raises(zenhire_async.NotFoundError):
        await zh.sessions.get(good)
    assert emu.request_counts["GET /sessions/{id}"] == 1


async def test_status_filter_outside_the_literal_is_refused(
    zh: ZenHireClient, emu: Emulator
) -> None:
    for bad in ["done", "Completed", ""]:
        with pytest.raises(ValueError, match="status must be one of"):
            await zh.sessions.list(status=cast(SessionStatusName, bad))
        with pytest.raises(ValueError, match="status must be one of"):
            zh.sessions.iter(status=cast(SessionStatusName, bad))
    with pytest.raises(ValueError, match="consent_mode"):
        await zh.sessions.create("p1", consent_mode=cast(ConsentModeName, "explicitt"))
    assert emu.total_requests == 0
    for status in get_args(SessionStatusName):
        await zh.sessions.list(status=status)
    assert emu.request_counts["GET /sessions"] == 4


def test_models_still_decode_unknown_values_as_strings() -> None:
    from zenhire_async import _protocol as proto

    body = (
        b'{"data":[{"id":"s1","status":"paused","consent_mode":"implied",'
        b'"created_at":"2026-01-01T00:00:00.000Z"}]}'
    )
    page = proto.decode_page(proto.SESSION_PAGE, body, "session list").page
    row = page.data[0]
    assert isinstance(row, SessionSummary)
    assert row.status == "paused"


def test_literal_aliases_are_exported_and_exact() -> None:
    assert get_args(zenhire_async.SessionStatusName) == (
        "initiated",
        "active",
        "completed",
        "failed",
    )
    assert get_args(zenhire_async.ConsentModeName) == ("explicit", "integrator")
    assert {"SessionStatusName", "ConsentModeName"} <= set(zenhire_async.__all__)


USER_PROJECT = """
from zenhire_async import ZenHireClient


async def invite(zh: ZenHireClient, persona_id: str) -> None:
    await zh.sessions.create(persona_id, consent_mode="explicitt")
    await zh.sessions.list(status="done")
    async for _ in zh.sessions.iter(status="completed"):
        pass
"""


def test_a_user_project_type_checks_typos_as_errors(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(USER_PROJECT))
    result = subprocess.run(  # noqa: S603 - our interpreter, on a file we wrote
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "app.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(lines) == 2, result.stdout
    assert "app.py:6:" in lines[0] and "consent_mode" in lines[0]
    assert "app.py:7:" in lines[1] and "status" in lines[1]
