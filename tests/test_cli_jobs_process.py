"""The batch commands as users run them: ``python -m zenhire_async`` in a child process.

Real time: the emulator serves from this test's loop while the command runs in the child.
Covers the pipe output of ``invite``, its Ctrl-C (SIGINT) handling and resume, and the
whole invite → watch → results flow.
"""

from __future__ import annotations

import csv
import re
import signal
import stat
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.text import TextReceiveStream
from bulk_support import check_job_invariants
from cli_process_support import child_env, zenhire

from zenhire_async import (
    AttemptRecord,
    CreatedRecord,
    OrphanRecord,
    read_journal,
)
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]


def _csv(path: Path, refs: list[str]) -> Path:
    path.write_text(
        "candidate_ref,tags\n" + "".join(f"{ref},batch\n" for ref in refs), encoding="utf-8"
    )
    return path


Progress = type[AttemptRecord | CreatedRecord]


def _journaled(journal: Path, kind: Progress) -> int:
    if not journal.exists():
        return 0
    return sum(isinstance(r, kind) for r in read_journal(journal))


async def _until_journaled(journal: Path, kind: Progress, count: int) -> None:
    """Wait (30 s at most) until the running job's journal holds ``count`` ``kind`` records."""
    with anyio.fail_after(30):
        while True:  # the journal is the only sign of progress the child process gives
            if _journaled(journal, kind) >= count:
                return
            await anyio.sleep(0.05)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_invite_watch_results_in_a_pipe(emu: Emulator, tmp_path: Path) -> None:
    persona_id = emu.create_persona("Backend", "en")
    refs = [f"ats-{n}" for n in range(5)]
    _csv(tmp_path / "candidates.csv", refs)
    invite = ["invite", "--persona", persona_id, "--csv", "candidates.csv", "--consent", "explicit"]

    result = await zenhire(*invite, emu=emu, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "\x1b[" not in result.stderr and "━" not in result.stderr  # no colours, no bar
    assert "invite: 5/5 " in result.stderr  # the plain progress line
    assert "Invited: 5 created, 0 skipped" in result.stderr
    journal, links = tmp_path / "candidates.journal.jsonl", tmp_path / "candidates.links.csv"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    with links.open(newline="") as fh:
        assert sorted(row["candidate_ref"] for row in csv.DictReader(fh)) == refs
    assert "#t=" not in result.stderr  # no link in the output

    again = await zenhire(*invite, emu=emu, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Invited: 0 created, 5 skipped" in again.stderr
    assert len(emu.sessions_of()) == 5

    ids = {s["candidate_ref"]: s["id"] for s in emu.sessions_of()}
    for ref in refs[:4]:
        emu.start_session(ids[ref])
        emu.complete_session(ids[ref])
    emu.fail_session(ids[refs[4]])
    watched = await zenhire("watch", "--journal", str(journal), emu=emu)
    assert watched.returncode == 3, watched.stderr
    assert "5 session(s): completed 4  failed 1" in watched.stderr
    pace = r"watch: \d/5  (-|\d+\.\d)/min  no ETA: candidates set the pace  "
    assert re.search(pace, watched.stderr), watched.stderr
    assert "\x1b[" not in watched.stdout + watched.stderr

    saved = await zenhire("results", "--all-completed", "--journal", str(journal),
                          "--out", "res", emu=emu, cwd=tmp_path)  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert re.search(r"results: 0/4  -/s  ETA -  saved 0  present 0  failed 0", saved.stderr)
    wavs = sorted((tmp_path / "res").glob("*.wav"))
    assert [w.name for w in wavs] == sorted(f"{ids[ref]}.wav" for ref in refs[:4])
    assert all(w.read_bytes()[:4] == b"RIFF" and w.read_bytes()[8:12] == b"WAVE" for w in wavs)


async def test_missing_candidate_ref_column_exits_2_without_a_traceback(
    emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "c.csv").write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    result = await zenhire("invite", "--persona", "p", "--csv", "c.csv", "--consent",
                           "explicit", emu=emu, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: c.csv has no candidate_ref column (columns, ','-separated sniffed on this "
        "line: name, email); expected candidate_ref, optionally tags and metadata.<key> "
        "(--delimiter says which delimiter the file uses)"
    ]
    assert _names(tmp_path) == ["c.csv"]


async def test_ctrl_c_stops_invite_cleanly_and_the_same_command_resumes(
    emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    refs = [f"ats-{n:02d}" for n in range(40)]
    _csv(tmp_path / "c.csv", refs)
    journal = tmp_path / "c.journal.jsonl"
    emu.faults.add("slow", method="POST", route="/personas/{id}/sessions", delay=0.25)
    argv = ["invite", "--persona", persona_id, "--csv", "c.csv", "--consent", "explicit",
            "--concurrency", "2"]  # fmt: skip
    command = [sys.executable, "-m", "zenhire_async", *argv]
    async with await anyio.open_process(command, env=child_env(emu), cwd=tmp_path) as proc:
        await _until_journaled(journal, CreatedRecord, 4)  # a few rows done
        proc.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            code = await proc.wait()
        assert proc.stderr is not None
        err = "".join([text async for text in TextReceiveStream(proc.stderr)])
    assert code == 130, err
    assert "Stopping: finishing the rows in flight" in err
    assert "Traceback" not in err
    assert "To go on, run the same command again:" in err
    assert f"zenhire invite --persona {persona_id} --csv c.csv --consent explicit " in err
    assert "--journal c.journal.jsonl --concurrency 2" in err
    assert not (tmp_path / "c.links.csv").exists()
    assert "(`zenhire links --journal c.journal.jsonl` writes it now)" in err

    # Consistent: every attempt that was sent has its link on record, nothing is orphaned.
    records = list(read_journal(journal))
    attempted = {r.candidate_ref for r in records if isinstance(r, AttemptRecord)}
    created = {r.candidate_ref for r in records if isinstance(r, CreatedRecord)}
    assert attempted == created
    assert 4 <= len(created) < len(refs)
    assert len(emu.sessions_of()) == len(created)

    # The links so far, without resuming: in the CSV's order, private.
    exported = await zenhire("links", "--journal", "c.journal.jsonl", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "c.links.csv").open(newline="") as fh:
        assert [row["candidate_ref"] for row in csv.DictReader(fh)] == sorted(created)
    assert stat.S_IMODE((tmp_path / "c.links.csv").stat().st_mode) == 0o600

    emu.faults.clear()
    result = await zenhire(*argv, emu=emu, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Invited: {len(refs) - len(created)} created, {len(created)} skipped" in result.stderr
    counts = check_job_invariants(emu, journal, refs)
    assert counts == {"sessions": len(refs), "orphans": 0}
    assert not any(isinstance(r, OrphanRecord) for r in read_journal(journal))
    assert stat.S_IMODE((tmp_path / "c.links.csv").stat().st_mode) == 0o600


async def test_a_second_ctrl_c_stops_at_once_and_the_next_run_reconciles(
    emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    refs = [f"ats-{n:02d}" for n in range(12)]
    _csv(tmp_path / "c.csv", refs)
    journal = tmp_path / "c.journal.jsonl"
    # Every create hangs far longer than the test waits: only a hard stop ends the run.
    emu.faults.add("slow", method="POST", route="/personas/{id}/sessions", delay=20)
    argv = ["invite", "--persona", persona_id, "--csv", "c.csv", "--consent", "explicit",
            "--concurrency", "3"]  # fmt: skip
    command = [sys.executable, "-m", "zenhire_async", *argv]
    async with await anyio.open_process(command, env=child_env(emu), cwd=tmp_path) as proc:
        await _until_journaled(journal, AttemptRecord, 3)  # requests hang in flight
        rival = await zenhire(*argv, emu=emu, cwd=tmp_path)  # the same job, meanwhile
        assert rival.returncode == 2
        assert (
            rival.stderr == "error: the journal c.journal.jsonl is in use by another running job\n"
        )
        proc.send_signal(signal.SIGINT)
        await anyio.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        with anyio.fail_after(10):  # not the 20 s the requests in flight would take
            code = await proc.wait()
        assert proc.stderr is not None
        err = "".join([text async for text in TextReceiveStream(proc.stderr)])
    assert code == 130, err
    assert "Traceback" not in err
    assert "rows in flight will be reconciled on the next run" in err
    assert "To go on, run the same command again:" in err

    emu.faults.clear()
    result = await zenhire(*argv, emu=emu, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_job_invariants(emu, journal, refs)
