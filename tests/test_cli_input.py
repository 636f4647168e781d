"""What ``zenhire invite`` reads and which journal it goes on with, and ``zenhire links``.

In process (``cli.run``) against the emulator on the virtual-time loop: the CSV's delimiter
and physical line numbers, the input identity a journal records (a journal of another CSV is
refused, one of the same CSV with rows appended is not), a persona typo that leaves nothing
behind, and the links file written from a journal after an interruption.
"""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import msgspec
import pytest
from cli_support import Captured, zenhire

from zenhire_async import AttemptRecord, JobRecord, ZenHireClient, read_journal
from zenhire_async.cli._candidates import read_layout
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.main_thread]  # the command listens for Ctrl-C


def _csv(path: Path, refs: list[str], header: str = "candidate_ref,tags\n") -> Path:
    path.write_text(header + "".join(f"{ref},t\n" for ref in refs), encoding="utf-8")
    return path


def _links(path: Path) -> list[str]:
    """The candidate_refs of a links file, in its order."""
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["candidate_ref"] for row in csv.DictReader(fh)]


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _job(journal: Path) -> JobRecord:
    record = next(iter(read_journal(journal)))
    assert isinstance(record, JobRecord)
    return record


def _invite(persona: str, source: Path, *extra: str) -> list[str]:
    return ["invite", "--persona", persona, "--csv", str(source), "--consent", "explicit", *extra]


# -- which journal ------------------------------------------------------------------------


async def test_a_journal_of_another_csv_is_refused_unless_reused_and_links_hold_this_csv_only(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    big = _csv(tmp_path / "big.csv", [f"ats-{n}" for n in range(2000, 2030)])
    journal = tmp_path / "big.journal.jsonl"
    code, _, err = await zenhire(emu, capsys, *_invite(persona, big))
    assert code == 0, err
    source = _job(journal).source
    assert source is not None
    assert source["path"] == str(big.resolve())
    assert source["size"] == str(big.stat().st_size) and len(source["sha256"]) == 64

    small = _csv(tmp_path / "candidates.csv", ["ats-1003", "ats-1001", "ats-1002"])
    argv = _invite(persona, small, "--journal", str(journal))
    emu.reset_counts()
    code, out, err = await zenhire(emu, capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {journal} is the journal of another input: it was made for ")
    assert "--journal-reuse" in err and "give a new --journal" in err.lower()
    assert sum(emu.request_counts.values()) == 0  # nothing sent
    assert len(emu.sessions_of()) == 30
    assert not (tmp_path / "candidates.links.csv").exists()

    code, _, err = await zenhire(emu, capsys, *argv, "--journal-reuse")
    assert code == 0, err
    assert f"Reusing {journal} (--journal-reuse): it was made for {big.resolve()}" in err
    assert len(emu.sessions_of()) == 33
    links = tmp_path / "candidates.links.csv"
    assert _links(links) == ["ats-1003", "ats-1001", "ats-1002"]  # this CSV's, in its order
    assert "30 other link(s) of the journal, of rows not in" in err


async def test_rows_appended_to_the_csv_keep_its_journal_and_an_edit_does_not(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = _csv(tmp_path / "c.csv", ["ats-1", "ats-2"])
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 0, err

    with source.open("a", encoding="utf-8") as fh:  # the export grew
        fh.write("ats-3,t\nats-4,t\n")
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 0, err
    assert "Invited: 2 created, 2 skipped" in err
    assert _links(tmp_path / "c.links.csv") == ["ats-1", "ats-2", "ats-3", "ats-4"]

    source.write_text(source.read_text().replace("ats-1,t", "ats-9,t"), encoding="utf-8")
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 2
    assert "has changed since it was made" in err and "--journal-reuse" in err
    assert len(emu.sessions_of()) == 4


async def test_a_journal_made_before_inputs_were_recorded_still_resumes(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = _csv(tmp_path / "c.csv", ["ats-1", "ats-2", "ats-3"])
    journal = tmp_path / "c.journal.jsonl"
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        await zh.sessions.bulk_invite(
            persona, [{"candidate_ref": "ats-1"}], consent_mode="explicit", journal=journal
        )
    assert _job(journal).source is None

    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 0, err
    assert "records no input (an older journal)" in err
    assert "Invited: 2 created, 1 skipped" in err
    assert len(emu.sessions_of()) == 3


async def test_a_persona_typo_leaves_no_journal_so_the_fixed_command_works(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = _csv(tmp_path / "c.csv", ["ats-1", "ats-2"])
    journal = tmp_path / "np.jsonl"

    code, _, err = await zenhire(emu, capsys, *_invite("no-such-persona", source,
                                                       "--journal", str(journal)))  # fmt: skip
    assert code == 1
    line = err.splitlines()[-1]
    assert line.startswith("error: NOT_FOUND: ")
    assert "check --persona" in line and "the command with the right --persona works" in line
    assert "run the same command again" not in line
    assert not journal.exists()
    assert emu.sessions_of() == []

    code, _, err = await zenhire(emu, capsys, *_invite(persona, source, "--journal", str(journal)))
    assert code == 0, err
    assert len(emu.sessions_of()) == 2

    # A journal of a job for another persona says what to do instead.
    other = emu.create_persona("Frontend", "en")
    code, _, err = await zenhire(emu, capsys, *_invite(other, source, "--journal", str(journal)))
    assert code == 2
    assert err.strip() == (
        f"error: {journal} is the journal of a job for persona {persona}, not {other}: for a "
        f"new job, give a new --journal file (or --persona {persona} to go on with that one)"
    )


async def test_a_persona_deleted_mid_job_says_the_links_so_far_are_kept(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = _csv(tmp_path / "c.csv", ["ats-1", "ats-2"])
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 0, err
    with source.open("a", encoding="utf-8") as fh:
        fh.write("ats-3,t\n")
    emu.delete_persona(persona)
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source, "--concurrency", "1"))
    assert code == 1
    journal = tmp_path / "c.journal.jsonl"
    # The row in flight is reported once with its code, not "NOT_FOUND: HTTP 404 NOT_FOUND: …".
    assert "  line 4 (ats-3): NOT_FOUND: " in err and "(HTTP 404, request id req_" in err
    assert "NOT_FOUND: HTTP 404" not in err
    assert err.splitlines()[-1].endswith(
        f"there is no persona {persona} any more; the 2 link(s) so far stay in {journal} "
        f"(`zenhire links --journal {journal}` writes them); to invite the rest for another "
        "persona, give it with a new --journal"
    )


# -- reading the CSV ----------------------------------------------------------------------


async def test_failures_name_the_physical_line_past_blank_lines_and_quoted_line_breaks(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = tmp_path / "c.csv"
    source.write_text(
        "candidate_ref,tags,metadata.note\n"  # 1
        "ats-1,q3,plain\n"  # 2
        "\n"  # 3
        'ats-2,q3,"two\n'  # 4
        'lines"\n'  # 5
        "\n"  # 6
        "ats-3,q3,\n"  # 7
        ",q3,no ref here\n"  # 8
        'ats-1,q3,"again\n'  # 9
        'later"\n',  # 10
        encoding="utf-8",
    )
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 3
    assert "  line 8: INVALID_ROW: candidate_ref is empty" in err
    assert "  lines 9-10 (ats-1): DUPLICATE_REF: " in err
    notes = {s["candidate_ref"]: s["metadata"].get("note") for s in emu.sessions_of()}
    assert notes == {"ats-1": "plain", "ats-2": "two\nlines", "ats-3": None}


@pytest.mark.parametrize(
    ("delimiter", "given"),
    [(";", None), ("\t", None), ("|", None), (";", ";"), ("\t", "tab")],
)
async def test_a_csv_separated_by_another_delimiter_is_sniffed_or_given(
    emu: Emulator, capsys: Captured, tmp_path: Path, delimiter: str, given: str | None
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = tmp_path / "export.csv"
    rows = [["candidate_ref", "tags", "metadata.req"], ["ats-1", "q3;backend", "REQ-7"],
            ["ats-2", "q3", "REQ, 9"]]  # fmt: skip
    with source.open("w", newline="", encoding="utf-8-sig") as fh:  # with a BOM, as Excel does
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    extra = ["--delimiter", given] if given else []
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source, *extra))
    assert code == 0, err
    assert ("sniffed on the header" in err) == (given is None)
    sessions = {s["candidate_ref"]: s for s in emu.sessions_of()}
    assert sessions["ats-1"]["tags"] == ["q3", "backend"]
    assert sessions["ats-2"]["metadata"]["req"] == "REQ, 9"
    assert _job(tmp_path / "export.journal.jsonl").source["delimiter"] == delimiter  # type: ignore[index]


async def test_a_wrong_delimiter_is_named_in_the_error_before_anything_is_sent(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = tmp_path / "c.csv"
    source.write_text("candidate_ref;tags;metadata.req\nats-1;q3;7\n", encoding="utf-8")
    emu.reset_counts()
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source, "--delimiter", ","))
    assert code == 2
    assert err.strip() == (
        f"error: {source} has no candidate_ref column (columns, ','-separated as given: "
        "candidate_ref;tags;metadata.req); expected candidate_ref, optionally tags and "
        "metadata.<key> (--delimiter says which delimiter the file uses)"
    )
    assert sum(emu.request_counts.values()) == 0
    with pytest.raises(SystemExit) as exited:
        await zenhire(emu, capsys, *_invite(persona, source, "--delimiter", "::"))
    assert exited.value.code == 2
    assert "one of , ; | tab" in capsys.readouterr().err


# -- zenhire links ------------------------------------------------------------------------


async def test_links_writes_a_journals_links_after_a_stop_in_csv_order(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    refs = ["ats-5", "ats-3", "ats-1", "ats-4", "ats-2"]
    source = _csv(tmp_path / "c.csv", refs[:3])
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source, "--concurrency", "3"))
    assert code == 0, err
    (tmp_path / "c.links.csv").unlink()
    with source.open("a", encoding="utf-8") as fh:
        fh.write("ats-4,t\nats-2,t\n")
    emu.set_credits(0)  # the rest stops on a fatal error: no links file
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 1 and not (tmp_path / "c.links.csv").exists()
    journal = tmp_path / "c.journal.jsonl"
    # A row left in flight by a hard stop: an attempt with no link after it.
    with journal.open("ab") as fh:
        fh.write(msgspec.json.encode(AttemptRecord(candidate_ref="ats-2")) + b"\n")

    emu.reset_counts()
    code, out, err = await zenhire(emu, capsys, "links", "--journal", str(journal))
    assert code == 0, err
    assert out == ""
    links = tmp_path / "c.links.csv"
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    assert _links(links) == ["ats-5", "ats-3", "ats-1"]
    assert f"Links of 3 candidate(s) written to {links} (mode 0600), in the order of " in err
    assert "1 row(s) were in flight when the run stopped" in err
    assert sum(emu.request_counts.values()) == 0  # a journal is read, nothing is sent
    assert "#t=" not in err

    # --csv: only that CSV's rows, in its order; --json reports it.
    subset = _csv(tmp_path / "subset.csv", ["ats-1", "ats-9", "ats-5"])
    out_file = tmp_path / "subset.links.csv"
    code, out, err = await zenhire(emu, capsys, "links", "--journal", str(journal), "--csv",
                                   str(subset), "--out", str(out_file), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["links_written"] == 2
    assert _links(out_file) == ["ats-1", "ats-5"]

    # The recorded CSV edited: all links, in journal order, and it says why.
    source.write_text("candidate_ref\nats-0\n", encoding="utf-8")
    code, _, err = await zenhire(emu, capsys, "links", "--journal", str(journal))
    assert code == 0, err
    assert "in journal order" in err and "has changed since it was made" in err
    assert sorted(_links(links)) == ["ats-1", "ats-3", "ats-5"]


async def test_links_refuses_to_overwrite_the_journal_or_its_csv(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = _csv(tmp_path / "c.csv", ["ats-1"])
    code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
    assert code == 0, err
    journal = tmp_path / "c.journal.jsonl"
    before = journal.read_bytes(), source.read_bytes()
    for target, name in ((journal, "journal"), (source, "CSV")):
        code, _, err = await zenhire(emu, capsys, "links", "--journal", str(journal),
                                     "--out", str(target))  # fmt: skip
        assert code == 2
        assert err.strip() == (
            f"error: the links file {target} would overwrite the {name}: choose another --out"
        )
    assert (journal.read_bytes(), source.read_bytes()) == before
    assert _names(tmp_path) == ["c.csv", "c.journal.jsonl", "c.links.csv"]

    code, _, err = await zenhire(emu, capsys, "links", "--journal", str(source))
    assert code == 2
    assert "is not a bulk-invite journal" in err


def test_a_delimiter_that_yields_candidate_ref_wins_over_the_sniffers_guess(
    tmp_path: Path,
) -> None:
    source = tmp_path / "c.csv"
    # Commas outnumber semicolons, so the sniffer says ","; only ";" gives candidate_ref.
    source.write_text("candidate_ref;metadata.a,b,c\nats-1;x\n", encoding="utf-8")
    layout = read_layout(source, None)
    assert layout.delimiter == ";" and layout.rows == 1
    assert layout.header == ["candidate_ref", "metadata.a,b,c"]


async def test_links_refuse_a_symlink_or_another_journal_as_out(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    first = _csv(tmp_path / "a.csv", ["ats-1"])
    second = _csv(tmp_path / "b.csv", ["ats-2"])
    for source in (first, second):
        code, _, err = await zenhire(emu, capsys, *_invite(persona, source))
        assert code == 0, err
    journal, other = tmp_path / "a.journal.jsonl", tmp_path / "b.journal.jsonl"
    link = tmp_path / "to-b.csv"
    link.symlink_to(other)
    before = other.read_bytes()
    for target in (other, link):
        code, _, err = await zenhire(emu, capsys, "links", "--journal", str(journal),
                                     "--out", str(target))  # fmt: skip
        assert code == 2, err
        assert "choose another --out" in err
    assert other.read_bytes() == before and link.is_symlink()
