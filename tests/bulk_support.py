"""Checks shared by the bulk-invite tests: the invariants a finished job must satisfy."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from zenhire_async import CreatedRecord, JobRecord, OrphanRecord, read_journal
from zenhire_async.testing import Emulator

ALL_FAULTS = (
    "lost_response",
    "truncated",
    "reset",
    "500",
    "502_html",
    "503",
    "429",
    "empty",
    "slow",
    "redirect",
    "stale_read",
    "stall_headers",
    "stall_body",
    "trickle",
    "gzip",
    "gzip_always",
    "bad_status_line",
    "bad_content_length",
    "bad_chunk_size",
    "too_many_headers",
    "long_header",
    "ssh_banner",
    "patched_answer",
)
"""Every fault kind a job can get past with retries (the others are in ``NOT_IN_A_JOB``)."""
NOT_IN_A_JOB = {
    "other_id": "an answer naming another session is a DecodeError by design (test_wait_ids)",
    "huge_body": "every attempt's body is over the cap: the call must fail (test_transport)",
    "endless_body": "every attempt's body is over the cap: the call must fail (test_transport)",
    "gzip_bomb": "every attempt's body is over the cap: the call must fail (test_transport)",
    "storage_redirect": "needs an https storage origin the client trusts (test_recording)",
    "storage_url": "needs an https storage origin the client trusts (test_recording)",
}


def add_every_fault(emu: Emulator, total_rate: float) -> None:
    """Inject every fault kind so that about ``total_rate`` of requests get one."""
    for kind in ALL_FAULTS:
        emu.faults.add(kind, rate=total_rate / len(ALL_FAULTS))  # type: ignore[arg-type]


@dataclass(frozen=True)
class JournalOutcome:
    """What a bulk-invite journal says: the job, created records by ref, orphan ids."""

    job: JobRecord
    created: dict[str, list[CreatedRecord]]
    orphans: set[str]


def journal_outcome(journal: Path) -> JournalOutcome:
    """Read ``journal`` back (its first record must be the job record)."""
    records = list(read_journal(journal))
    job = records[0]
    assert isinstance(job, JobRecord)
    created: dict[str, list[CreatedRecord]] = defaultdict(list)
    orphans: set[str] = set()
    for record in records:
        if isinstance(record, CreatedRecord):
            created[record.candidate_ref].append(record)
        elif isinstance(record, OrphanRecord):
            orphans.add(record.session_id)
    return JournalOutcome(job, dict(created), orphans)


def check_job_invariants(emu: Emulator, journal: Path, refs: list[str]) -> dict[str, int]:
    """Assert the guarantees of a finished bulk invite; return a few counts for messages.

    * every ref has exactly one ``created`` record, whose link is the one the emulator minted
      and delivered for that session;
    * every session the emulator created for the job is either a ref's recorded session or
      journaled as an orphan (and every orphan is such a session); every undelivered
      session is an orphan;
    * no ref has two sessions besides its orphans, and no orphan was ever started.
    """
    outcome = journal_outcome(journal)
    job, created, orphans = outcome.job, outcome.created, outcome.orphans
    assert sorted(created) == sorted(refs)
    recorded: dict[str, str] = {}
    for ref, rows in created.items():
        assert len(rows) == 1, f"{ref} has {len(rows)} created records"
        row = rows[0]
        assert emu.links[row.session_id] == row.candidate_link
        assert row.session_id in emu.delivered_session_ids
        recorded[row.session_id] = ref
    job_sessions = [
        s for s in emu.sessions_of() if (s["metadata"] or {}).get("zh_job") == job.job_id
    ]
    live_per_ref: Counter[str] = Counter()
    unkept: set[str] = set()
    for session in job_sessions:
        if session["id"] in recorded:
            assert session["candidate_ref"] == recorded[session["id"]]
            live_per_ref[session["candidate_ref"]] += 1
        else:
            unkept.add(session["id"])
            assert session["status"] == "initiated", f"orphan {session['id']} was started"
    assert unkept == orphans, "orphans missed or wrongly reported"
    assert all(count == 1 for count in live_per_ref.values())
    assert emu.undelivered_session_ids <= orphans
    assert orphans.isdisjoint(recorded)
    return {"sessions": len(job_sessions), "orphans": len(orphans)}
