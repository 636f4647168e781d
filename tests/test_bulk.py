"""``sessions.bulk_invite`` against the emulator: links kept, orphans found, jobs resumed."""

from __future__ import annotations

import csv
import itertools
import os
import stat
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import anyio
import pytest
from bulk_support import add_every_fault, check_job_invariants

from zenhire_async import (
    AttemptRecord,
    BulkInviteError,
    BulkProgress,
    Candidate,
    CreatedRecord,
    FailedRecord,
    JobRecord,
    JournalInUseError,
    OrphanRecord,
    ZenHireClient,
    export_links_csv,
    read_journal,
)
from zenhire_async._bulk_rowkeys import row_key, row_marker
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

CREATE_ROUTE = "POST /personas/{id}/sessions"


@pytest.fixture
async def persona_id(zh: ZenHireClient) -> str:
    return (await zh.personas.create("Engineer", "en")).id


def refs(n: int, prefix: str = "ats") -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


async def test_every_row_gets_one_journaled_link(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    rows: list[Candidate | Mapping[str, object]] = [
        Candidate(candidate_ref="ats-0", tags=["q3"], metadata={"req": 7}),
        {"candidate_ref": "ats-1", "tags": ["q3", "backend"]},
        *({"candidate_ref": ref} for ref in refs(40)[2:]),
    ]
    seen: list[BulkProgress] = []
    report = await zh.sessions.bulk_invite(
        persona_id,
        rows,
        consent_mode="explicit",
        journal=journal,
        concurrency=4,
        on_progress=seen.append,
    )
    assert (report.created, report.skipped, report.failed, report.orphans) == (40, 0, [], [])
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600
    check_job_invariants(emu, journal, refs(40))
    first = next(s for s in emu.sessions_of() if s["candidate_ref"] == "ats-0")
    job = next(iter(read_journal(journal)))
    assert isinstance(job, JobRecord)
    assert first["tags"] == ["q3"]
    assert first["metadata"] == {
        "req": 7,
        "zh_job": job.job_id,
        "zh_row": row_marker(row_key("ats-0")),
    }
    assert seen[-1] == BulkProgress(
        done=40, created=40, skipped=0, failed=0, orphans=0, in_flight=0, total=40
    )
    assert max(p.in_flight for p in seen) <= 4


async def test_rerun_on_the_same_journal_invites_nobody_twice(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    first = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(30)],
        consent_mode="explicit",
        journal=journal,
    )
    emu.reset_counts()
    again = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(35)],
        consent_mode="explicit",
        journal=journal,
    )
    assert (first.created, again.created, again.skipped) == (30, 5, 30)
    assert again.job_id == first.job_id
    assert emu.request_counts[CREATE_ROUTE] == 5
    check_job_invariants(emu, journal, refs(35))


async def test_bad_rows_and_duplicates_are_reported_not_fatal(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    full = {f"k{i}": i for i in range(49)}  # 49 keys + 2 marker keys > 50
    room = {f"k{i}": i for i in range(48)}
    rows: list[object] = [
        {"candidate_ref": "a"},
        {"candidate_ref": "a"},  # duplicate
        {"candidate_ref": "x" * 257},  # ref too long
        {"tags": ["q3"]},  # no ref
        {"candidate_ref": ""},  # empty ref
        {"candidate_ref": "b", "metadata": full},
        {"candidate_ref": "c", "metadata": room},
        {"candidate_ref": "d", "metadata": {"zh_job": "mine"}},
        {"candidate_ref": "e", "email": "e@example.com"},  # unknown field: not silently lost
        {"candidate_ref": "f", "tags": "q3"},
        {"candidate_ref": "g", "tags": ["x" * 41]},
        42,
    ]
    report = await zh.sessions.bulk_invite(
        persona_id,
        rows,  # type: ignore[arg-type]
        consent_mode="explicit",
        journal=journal,
    )
    assert report.created == 2  # a and c
    codes = [(f.candidate_ref, f.code, f.index) for f in report.failed]
    assert codes == [
        ("a", "DUPLICATE_REF", 1),
        (None, "INVALID_ROW", 2),
        (None, "INVALID_ROW", 3),
        (None, "INVALID_ROW", 4),
        ("b", "INVALID_ROW", 5),
        ("d", "INVALID_ROW", 7),
        ("e", "INVALID_ROW", 8),
        ("f", "INVALID_ROW", 9),
        ("g", "INVALID_ROW", 10),
        (None, "INVALID_ROW", 11),
    ]
    messages = {f.index: f.message for f in report.failed}
    assert "zh_job, zh_row" in messages[5] and "reserved" in messages[7]
    assert "email" in messages[8]
    assert emu.request_counts[CREATE_ROUTE] == 2
    failed = [r for r in read_journal(journal) if isinstance(r, FailedRecord)]
    assert [(r.candidate_ref, r.code, r.index) for r in failed] == codes


@pytest.mark.slow
async def test_ten_percent_faults_of_every_kind_lose_no_link(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    add_every_fault(emu, 0.10)
    wanted = refs(2000)
    report = await zh.sessions.bulk_invite(
        persona_id,
        ({"candidate_ref": r} for r in wanted),
        consent_mode="explicit",
        journal=journal,
        concurrency=16,
    )
    assert emu.faults.injected["lost_response"] > 0 and emu.faults.injected["truncated"] > 0
    assert emu.undelivered_session_ids, "the faults should have lost some answers"
    assert (report.created, report.failed) == (2000, [])
    counts = check_job_invariants(emu, journal, wanted)
    assert sorted(report.orphans) == sorted(emu.undelivered_session_ids)
    assert counts["orphans"] == len(report.orphans)


async def test_a_session_created_by_a_dead_run_is_reported_as_orphan(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    await zh.sessions.bulk_invite(
        persona_id, [{"candidate_ref": "a"}], consent_mode="explicit", journal=journal
    )
    job = next(iter(read_journal(journal)))
    assert isinstance(job, JobRecord)
    # A run that died between sending the create for "b" and journaling its answer:
    with journal.open("ab") as fh:
        fh.write(b'{"type":"attempt","candidate_ref":"b"}\n')
    lost = emu.create_session(
        persona_id,
        candidate_ref="b",
        metadata={"zh_job": job.job_id, "zh_row": row_marker(row_key("b"))},
    )
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": "a"}, {"candidate_ref": "b"}],
        consent_mode="explicit",
        journal=journal,
    )
    assert (report.created, report.skipped, report.orphans) == (1, 1, [lost])
    records = list(read_journal(journal))
    assert OrphanRecord(candidate_ref="b", session_id=lost) in [
        OrphanRecord(candidate_ref=r.candidate_ref, session_id=r.session_id)
        for r in records
        if isinstance(r, OrphanRecord)
    ]
    kept = [r for r in records if isinstance(r, CreatedRecord) and r.candidate_ref == "b"]
    assert len(kept) == 1 and kept[0].session_id != lost


async def test_a_torn_last_line_is_ignored_and_cut_on_resume(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(3)],
        consent_mode="explicit",
        journal=journal,
    )
    with journal.open("ab") as fh:
        fh.write(b'{"type":"created","candidate_ref":"ats-3","session_id":"abc","candid')
    assert sum(isinstance(r, CreatedRecord) for r in read_journal(journal)) == 3
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(4)],
        consent_mode="explicit",
        journal=journal,
    )
    assert (report.created, report.skipped) == (1, 3)
    assert b'"session_id":"abc"' not in journal.read_bytes()
    assert journal.read_bytes().endswith(b"\n")
    check_job_invariants(emu, journal, refs(4))


async def test_a_corrupt_middle_line_is_an_error(
    zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    header = b'{"type":"job","job_id":"j","persona_id":"%s"}\n' % persona_id.encode()
    journal.write_bytes(header + b"not json\n" + b'{"type":"attempt","candidate_ref":"a"}\n')
    with pytest.raises(ValueError, match="line 2"):
        list(read_journal(journal))
    with pytest.raises(ValueError, match="line 2"):
        await zh.sessions.bulk_invite(
            persona_id, [{"candidate_ref": "a"}], consent_mode="explicit", journal=journal
        )


async def test_fatal_402_stops_cleanly_with_a_partial_report(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    wanted = refs(200)
    pulled = 0

    async def candidates() -> AsyncIterator[dict[str, object]]:
        nonlocal pulled
        for ref in wanted:
            if pulled == 60:
                emu.set_credits(0)
            pulled += 1
            yield {"candidate_ref": ref}

    with pytest.raises(BulkInviteError) as caught:
        await zh.sessions.bulk_invite(
            persona_id, candidates(), consent_mode="explicit", journal=journal, concurrency=8
        )
    report = caught.value.report
    assert caught.value.__cause__ is not None
    assert "INSUFFICIENT_CREDITS" in str(caught.value)
    assert 40 <= report.created < 60 + 8 and pulled < 60 + 3 * 8
    assert report.failed and {f.code for f in report.failed} == {"INSUFFICIENT_CREDITS"}
    # The journal is complete: every attempted row has an outcome.
    attempted, outcome = set(), set()
    for record in read_journal(journal):
        if isinstance(record, AttemptRecord):
            attempted.add(record.candidate_ref)
        elif isinstance(record, CreatedRecord | FailedRecord):
            outcome.add(record.candidate_ref)
    assert attempted == outcome
    assert len(outcome) == report.created + len(report.failed)
    # Credits are back: the re-run finishes the job, nobody invited twice.
    emu.set_credits(1_000_000)
    again = await zh.sessions.bulk_invite(
        persona_id, [{"candidate_ref": r} for r in wanted], consent_mode="explicit", journal=journal
    )
    assert again.skipped == report.created and again.created == 200 - report.created
    check_job_invariants(emu, journal, wanted)


@pytest.mark.slow
async def test_a_cancelled_job_resumes_without_loss(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    emu.faults.add("lost_response", rate=0.1)
    wanted = refs(300)
    with anyio.move_on_after(10):  # about 80 rows at 500 requests/minute
        await zh.sessions.bulk_invite(
            persona_id,
            [{"candidate_ref": r} for r in wanted],
            consent_mode="explicit",
            journal=journal,
        )
    done = sum(isinstance(r, CreatedRecord) for r in read_journal(journal))
    assert 0 < done < 300
    report = await zh.sessions.bulk_invite(
        persona_id, [{"candidate_ref": r} for r in wanted], consent_mode="explicit", journal=journal
    )
    assert report.skipped == done and report.created == 300 - done
    check_job_invariants(emu, journal, wanted)


async def test_input_is_streamed_not_materialised(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    lead = 0

    async def candidates() -> AsyncIterator[Candidate]:
        nonlocal lead
        for i in range(300):
            lead = max(lead, i + 1 - len(emu.links))  # rows read but not yet created
            yield Candidate(candidate_ref=f"ats-{i}")

    report = await zh.sessions.bulk_invite(
        persona_id,
        candidates(),
        consent_mode="explicit",
        journal=tmp_path / "j.jsonl",
        concurrency=5,
    )
    assert report.created == 300
    # Read ahead: at most the stream's 5 slots, the 5 workers' rows and the one being sent.
    assert 5 < lead <= 5 + 5 + 1


async def test_progress_arrives_every_second_and_at_the_end(
    zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    times: list[float] = []

    async def on_progress(progress: BulkProgress) -> None:
        times.append(anyio.current_time())

    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(50)],  # ~6 s at 500/minute
        consent_mode="explicit",
        journal=tmp_path / "j.jsonl",
        on_progress=on_progress,
    )
    assert report.elapsed > 3
    assert len(times) >= int(report.elapsed)
    assert all(b - a <= 1.02 for a, b in itertools.pairwise(times))


async def test_the_journal_is_locked_while_a_job_runs(
    zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    rows = [{"candidate_ref": r} for r in refs(20)]
    first: list[int] = []

    async def run_first() -> None:
        report = await zh.sessions.bulk_invite(
            persona_id, rows, consent_mode="explicit", journal=journal
        )
        first.append(report.created)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_first)
        await anyio.sleep(0.5)  # the first job runs for about 2 s at 500 requests/minute
        with pytest.raises(JournalInUseError, match="in use by another running job"):
            await zh.sessions.bulk_invite(
                persona_id, rows, consent_mode="explicit", journal=journal
            )
    assert first == [20]


async def test_arguments_are_checked_before_any_request(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    rows = [{"candidate_ref": "a"}]
    with pytest.raises(ValueError, match="consent_mode"):
        await zh.sessions.bulk_invite(
            persona_id,
            rows,
            consent_mode="maybe",  # type: ignore[arg-type]
            journal=journal,
        )
    with pytest.raises(ValueError, match="concurrency"):
        await zh.sessions.bulk_invite(
            persona_id, rows, consent_mode="explicit", journal=journal, concurrency=0
        )
    with pytest.raises(TypeError, match="iterable"):
        await zh.sessions.bulk_invite(
            persona_id,
            "ats-1",  # type: ignore[arg-type]
            consent_mode="explicit",
            journal=journal,
        )
    assert not journal.exists()
    await zh.sessions.bulk_invite(persona_id, rows, consent_mode="explicit", journal=journal)
    other = (await zh.personas.create("Designer", "en")).id
    emu.reset_counts()
    with pytest.raises(ValueError, match="journal of a job for persona"):
        await zh.sessions.bulk_invite(other, rows, consent_mode="explicit", journal=journal)
    assert emu.total_requests == 0


async def test_export_links_csv_for_the_mailer(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(5)],
        consent_mode="explicit",
        journal=journal,
    )
    out = tmp_path / "links.csv"
    out.write_text("an older export, readable by all\n")
    out.chmod(0o644)
    assert export_links_csv(journal, out) == 5
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # tightened, not just left as found
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["candidate_ref"] for r in rows) == refs(5)
    by_link = set(emu.links.values())
    assert all(r["candidate_link"] in by_link and r["expires_at"] for r in rows)
    created = next(r for r in read_journal(journal) if isinstance(r, CreatedRecord))
    token = created.candidate_link.split("#t=")[1]
    assert token not in repr(created)


async def test_a_journal_left_readable_by_others_is_tightened_when_a_job_resumes_on_it(
    zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    rows = [{"candidate_ref": r} for r in refs(3)]
    await zh.sessions.bulk_invite(persona_id, rows, consent_mode="explicit", journal=journal)
    journal.chmod(0o644)  # e.g. copied around with a permissive umask
    report = await zh.sessions.bulk_invite(
        persona_id, rows, consent_mode="explicit", journal=journal
    )
    assert report.skipped == 3
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600


async def test_job_record_marker_lists_exactly_the_jobs_sessions(
    zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "invites.jsonl"
    await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(4)],
        consent_mode="explicit",
        journal=journal,
    )
    await zh.sessions.create(persona_id, consent_mode="explicit", candidate_ref="not-in-the-job")
    job = next(iter(read_journal(journal)))
    assert isinstance(job, JobRecord)
    listed = [s.candidate_ref async for s in zh.sessions.iter(metadata=job.marker)]
    assert sorted(listed, key=str) == refs(4)
