"""The batch commands (``invite``, ``watch``, ``results --all-completed``) in process.

They run through ``cli.run`` against the emulator on the virtual-time loop, so a watch over
a week of link lifetime takes a moment. Output goes to pytest's captured streams: plain
text, no bars. The same commands as a separate process (and Ctrl-C) are in
``test_cli_jobs_process``.
"""

from __future__ import annotations

import csv
import json
import stat
import wave
from pathlib import Path

import pytest
from cli_support import Captured, zenhire

from zenhire_async import AttemptRecord, CreatedRecord, FailedRecord, read_journal
from zenhire_async._bulk_fleet import shard_of
from zenhire_async.cli import run
from zenhire_async.testing import Emulator, Simulation

pytestmark = [pytest.mark.anyio, pytest.mark.main_thread]  # the command listens for Ctrl-C

HEADER = "candidate_ref,tags,metadata.req,metadata.team,email\n"


def _write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _links(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(set(row) == {"candidate_ref", "candidate_link", "expires_at"} for row in rows)
    return {row["candidate_ref"]: row["candidate_link"] for row in rows}


async def _invite(emu: Emulator, capsys: Captured, csv_path: Path, *extra: str) -> str:
    """Invite every row of ``csv_path`` for a new persona; return the persona id."""
    persona_id = emu.create_persona("Backend", "en")
    code, _, err = await zenhire(
        emu, capsys, "invite", "--persona", persona_id, "--csv", str(csv_path),
        "--consent", "explicit", *extra,
    )  # fmt: skip
    assert code == 0, err
    return persona_id


# -- invite -----------------------------------------------------------------------------


async def test_invite_journals_every_link_and_writes_a_private_links_file(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    source = _write_csv(
        tmp_path / "candidates.csv",
        ["ats-1,q3;backend,7,core,a@example.com", "ats-2,,,,", ",q3,,,", "ats-3,q3,,data,"],
    )
    argv = ["invite", "--persona", persona_id, "--csv", str(source), "--consent", "explicit"]

    code, out, err = await zenhire(emu, capsys, *argv)
    assert code == 3  # one row got no link
    assert out == ""
    assert "Ignoring the column(s) email" in err
    assert "Invited: 3 created, 0 skipped (already invited), 1 failed, 0 orphans" in err
    assert "line 4: INVALID_ROW: candidate_ref is empty" in err
    journal = tmp_path / "candidates.journal.jsonl"
    links_file = tmp_path / "candidates.links.csv"
    assert f"Links of 3 candidate(s) written to {links_file} (mode 0600)" in err
    assert _mode(journal) == 0o600 and _mode(links_file) == 0o600
    links = _links(links_file)
    assert sorted(links) == ["ats-1", "ats-2", "ats-3"]
    assert all(link not in err for link in links.values())  # links are never printed

    sessions = {s["candidate_ref"]: s for s in emu.sessions_of()}
    assert sorted(sessions) == ["ats-1", "ats-2", "ats-3"]
    for ref, session in sessions.items():
        assert emu.links[session["id"]] == links[ref]
    assert sessions["ats-1"]["tags"] == ["q3", "backend"]
    assert {k: v for k, v in sessions["ats-1"]["metadata"].items() if not k.startswith("zh_")} == {
        "req": "7",
        "team": "core",
    }
    assert sessions["ats-2"]["tags"] is None
    records = list(read_journal(journal))
    assert sum(isinstance(r, CreatedRecord) for r in records) == 3
    assert sum(isinstance(r, FailedRecord) for r in records) == 1

    # The same command again: rows with a link are skipped, the bad row is reported again.
    links_file.chmod(0o644)
    code, out, err = await zenhire(emu, capsys, *argv, "--json")
    assert code == 3
    assert err == ""
    body = json.loads(out)
    assert body["report"]["created"] == 0 and body["report"]["skipped"] == 3
    assert [f["code"] for f in body["report"]["failed"]] == ["INVALID_ROW"]
    assert body["links_written"] == 3 and body["interrupted"] is False
    assert len(emu.sessions_of()) == 3  # nobody was invited twice
    assert _links(links_file) == links and _mode(links_file) == 0o600


async def test_invite_with_explicit_paths_exits_zero_when_every_row_has_a_link(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    source = _write_csv(tmp_path / "in.csv", [f"ref-{n},,,," for n in range(25)])
    journal, links = tmp_path / "j" / "job.jsonl", tmp_path / "links.csv"
    journal.parent.mkdir()
    await _invite(emu, capsys, source, "--journal", str(journal), "--out", str(links),
                  "--concurrency", "3")  # fmt: skip
    assert len(_links(links)) == 25
    assert not (tmp_path / "in.journal.jsonl").exists()
    attempts = [r for r in read_journal(journal) if isinstance(r, AttemptRecord)]
    assert len(attempts) == 25


async def test_invite_without_candidate_ref_column_is_a_usage_error(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    source = _write_csv(tmp_path / "bad.csv", ["ats-1,x"], header="ref,tags\n")
    code, out, err = await zenhire(
        emu, capsys, "invite", "--persona", persona_id, "--csv", str(source),
        "--consent", "explicit",
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {source} has no candidate_ref column (columns, ','-separated sniffed on "
        "this line: ref, tags); expected candidate_ref, optionally tags and metadata.<key> "
        "(--delimiter says which delimiter the file uses)"
    ]
    assert not (tmp_path / "bad.journal.jsonl").exists()
    assert emu.sessions_of() == []


async def test_invite_shards_over_workers_then_lists_every_candidate_as_existing(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    source = _write_csv(tmp_path / "in.csv", [f"ref-{n},,,," for n in range(30)])
    base = ["invite", "--persona", persona_id, "--csv", str(source), "--consent", "explicit"]
    created = 0
    for index in range(2):
        journal = tmp_path / f"w{index}.jsonl"
        code, _, err = await zenhire(emu, capsys, *base, "--journal", str(journal),
                                     "--shard", f"{index}/2")  # fmt: skip
        assert code == 0, err
        mine = sum(1 for n in range(30) if shard_of(f"ref-{n}", 2) == index)
        assert f"Invited: {mine} created," in err
        assert f", {30 - mine} rows of other shards in" in err
        created += mine
    assert created == 30 and len(emu.sessions_of()) == 30
    code, _, err = await zenhire(emu, capsys, *base, "--journal", str(tmp_path / "new.jsonl"))
    assert code == 0, err
    assert "Invited: 0 created," in err and ", 30 existing (a session from another job)" in err
    assert "Not invited, already with a session for the persona (30):" in err
    first = next(s for s in emu.sessions_of() if s["candidate_ref"] == "ref-0")
    assert f"  ref-0: session {first['id']}" in err
    assert "… and 10 more" in err  # the first 20 are listed
    assert len(emu.sessions_of()) == 30


@pytest.mark.parametrize("shard", ["2/2", "-1/2", "0/0", "1", "a/b", "1.5/3"])
async def test_invite_refuses_a_bad_shard_before_anything(
    emu: Emulator, capsys: Captured, tmp_path: Path, shard: str
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    source = _write_csv(tmp_path / "in.csv", ["ref-1,,,,"])
    emu.reset_counts()
    with pytest.raises(SystemExit) as exited:
        await zenhire(
            emu, capsys, "invite", "--persona", persona_id, "--csv", str(source),
            "--consent", "explicit", f"--shard={shard}",
        )  # fmt: skip
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --shard: {shard!r}: give the shard as I/N, with 0 <= I < N" in err
    assert emu.total_requests == 0 and not (tmp_path / "in.journal.jsonl").exists()


async def test_invite_stops_on_a_fatal_error_and_says_progress_is_journaled(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona_id = emu.create_persona("Backend", "en")
    source = _write_csv(tmp_path / "c.csv", [f"ats-{n},,,," for n in range(5)])
    emu.set_credits(0)
    argv = ["invite", "--persona", persona_id, "--csv", str(source), "--consent", "explicit"]
    code, out, err = await zenhire(emu, capsys, *argv)
    assert code == 1
    assert out == ""
    line = err.splitlines()[-1]
    assert line.startswith("error: INSUFFICIENT_CREDITS: ") and "HTTP 402" in line
    assert f"partial progress is journaled in {tmp_path / 'c.journal.jsonl'}" in line
    assert not (tmp_path / "c.links.csv").exists()

    emu.set_credits(1_000_000)  # fixed: the same command goes on
    code, _, err = await zenhire(emu, capsys, *argv)
    assert code == 0, err
    assert len(_links(tmp_path / "c.links.csv")) == 5 == len(emu.sessions_of())

    refused = emu.add_tenant(permissions=frozenset())
    other = _write_csv(tmp_path / "d.csv", ["ats-1,,,,"])
    capsys.readouterr()
    code = await run(
        ["--api-key", refused.api_key, "--base-url", emu.base_url, "invite",
         "--persona", persona_id, "--csv", str(other), "--consent", "explicit"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 4
    assert err.splitlines()[-1].startswith("error: MISSING_PERMISSION: ")
    assert refused.api_key not in err


# -- watch ------------------------------------------------------------------------------


async def test_watch_a_journal_until_all_completed_exits_zero(
    capsys: Captured, tmp_path: Path
) -> None:
    simulation = Simulation(fail_probability=0.0, open_delay=(30, 600), duration=(60, 900))
    async with Emulator(simulation=simulation, seed=5) as emu:
        source = _write_csv(tmp_path / "c.csv", [f"ats-{n},,,," for n in range(6)])
        await _invite(emu, capsys, source)
        journal = tmp_path / "c.journal.jsonl"
        code, out, err = await zenhire(emu, capsys, "watch", "--journal", str(journal))
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].split() == ["id", "candidate_ref", "status"]
        assert sorted(line.split()[1] for line in lines[1:]) == [f"ats-{n}" for n in range(6)]
        assert all(line.split()[2] == "completed" for line in lines[1:])
        assert "6 session(s): completed 6" in err
        assert all(s["status"] == "completed" for s in emu.sessions_of())


async def test_watch_exits_3_when_some_failed_or_expired(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    source = _write_csv(tmp_path / "c.csv", ["done,,,,", "broke,,,,", "never,,,,"])
    await _invite(emu, capsys, source)
    ids = {s["candidate_ref"]: s["id"] for s in emu.sessions_of()}
    emu.start_session(ids["done"])
    emu.complete_session(ids["done"])
    emu.fail_session(ids["broke"])  # "never" keeps its link unused until it expires

    journal = tmp_path / "c.journal.jsonl"
    code, out, err = await zenhire(emu, capsys, "watch", "--journal", str(journal), "--json")
    assert code == 3, err
    statuses = {row["candidate_ref"]: row["status"] for row in json.loads(out)}
    assert statuses == {"done": "completed", "broke": "failed", "never": "expired"}
    assert {row["session_id"] for row in json.loads(out)} == set(ids.values())


async def test_watch_ids_with_a_timeout(emu: Emulator, capsys: Captured) -> None:
    persona_id = emu.create_persona("Backend", "en")
    waiting = emu.create_session(persona_id, candidate_ref="slow")
    finished = emu.create_session(persona_id, candidate_ref="quick")
    emu.start_session(finished)
    emu.complete_session(finished)
    code, out, err = await zenhire(emu, capsys, "watch", waiting, finished, "--timeout", "600")
    assert code == 6  # its own code: not an API failure (1)
    rows = {line.split()[1]: line.split()[2] for line in out.splitlines()[1:]}
    assert rows == {"slow": "initiated", "quick": "completed"}
    assert err.splitlines()[-1] == "error: TIMEOUT: 1 session(s) still unfinished after 600s"

    code, _, err = await zenhire(emu, capsys, "watch")
    assert code == 2
    assert err.strip() == "error: give --journal PATH or one or more session ids"


# -- results --all-completed ------------------------------------------------------------


async def test_results_all_completed_saves_each_completed_session_once(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    source = _write_csv(tmp_path / "c.csv", [f"ats-{n},,,," for n in range(4)])
    persona_id = await _invite(emu, capsys, source)
    other = emu.create_session(persona_id, candidate_ref="not-in-the-job")
    emu.start_session(other)
    emu.complete_session(other)
    ids = {s["candidate_ref"]: s["id"] for s in emu.sessions_of()}
    for ref in ("ats-0", "ats-2", "ats-3"):
        emu.start_session(ids[ref])
        emu.complete_session(ids[ref], duration_sec=300)
    emu.fail_session(ids["ats-1"])

    journal = str(tmp_path / "c.journal.jsonl")
    argv = ["results", "--all-completed", "--journal", journal, "--out", str(tmp_path / "res")]
    code, out, err = await zenhire(emu, capsys, *argv, "--concurrency", "2")
    assert code == 0, err
    assert "3 of 4 session(s) completed: 3 saved, 0 already present, 0 failed" in err
    res = tmp_path / "res"
    expected = sorted(
        name
        for ref in ("ats-0", "ats-2", "ats-3")
        for name in (f"{ids[ref]}.wav", f"{ids[ref]}.transcript.json")
    )
    assert sorted(p.name for p in res.iterdir()) == expected
    assert sorted(out.splitlines()) == sorted(str(p) for p in res.glob("*.wav"))
    for ref in ("ats-0", "ats-2", "ats-3"):
        wav = res / f"{ids[ref]}.wav"
        assert _mode(wav) == 0o600 and wav.stat().st_size == emu.recording_bytes
        with wave.open(str(wav), "rb") as fh:  # a valid WAV header
            assert fh.getnframes() > 0 and fh.getframerate() > 0
        transcript = json.loads((res / f"{ids[ref]}.transcript.json").read_text())
        assert transcript == emu.transcript(ids[ref])

    before = {p.name: p.stat().st_mtime_ns for p in res.iterdir()}
    emu.reset_counts()
    code, out, err = await zenhire(emu, capsys, *argv, "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["completed"] == 3
    assert all(entry["already_present"] for entry in body["saved"])
    assert {p.name: p.stat().st_mtime_ns for p in res.iterdir()} == before
    assert not any("recording" in route or "transcript" in route for route in emu.request_counts)


async def test_results_needs_an_id_or_all_completed_with_a_journal(
    emu: Emulator, capsys: Captured
) -> None:
    code, _, err = await zenhire(emu, capsys, "results", "--all-completed")
    assert code == 2
    assert err.strip() == "error: --all-completed needs --journal PATH (of `zenhire invite`)"
    code, _, err = await zenhire(emu, capsys, "results", "x", "--all-completed", "--journal", "j")
    assert code == 2
    assert err.strip() == "error: give a session id or --all-completed, not both"
