"""The journal's group commit: rows in flight share fsyncs, a full disk stops the job with
its ``OSError``, and a cancelled writer leaves no appender waiting and no record unwritten."""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from bulk_support import check_job_invariants

from zenhire_async import (
    AttemptRecord,
    BulkInviteError,
    CreatedRecord,
    ZenHireClient,
    _bulk_journal,
    read_journal,
)
from zenhire_async._bulk_journal import JournalWriter
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def persona_id(zh: ZenHireClient) -> str:
    return (await zh.personas.create("Engineer", "en")).id


def counting_sync(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[int]:
    """Count the journal's fsyncs; from call ``fail_after`` on, fail them with ENOSPC."""
    calls: list[int] = []
    real: Callable[[int], None] = _bulk_journal._sync

    def sync(fd: int) -> None:
        calls.append(fd)
        if fail_after is not None and len(calls) > fail_after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(_bulk_journal, "_sync", sync)
    return calls


async def test_rows_in_flight_share_an_fsync_and_each_waits_for_its_own(
    zh: ZenHireClient,
    emu: Emulator,
    persona_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    syncs = counting_sync(monkeypatch)
    journal = tmp_path / "invites.jsonl"
    wanted = [f"ats-{i}" for i in range(60)]
    report = await zh.sessions.bulk_invite(
        persona_id,
        ({"candidate_ref": r} for r in wanted),
        consent_mode="explicit",
        journal=journal,
        concurrency=8,
    )
    assert report.created == 60
    records = sum(1 for _ in read_journal(journal))
    assert records == 1 + 2 * 60  # job, then an attempt and a created record per row
    assert len(syncs) < records  # one per record before group commit
    check_job_invariants(emu, journal, wanted)


async def test_a_full_disk_at_a_shared_fsync_stops_the_job_typed_and_a_rerun_finishes(
    zh: ZenHireClient,
    emu: Emulator,
    persona_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = tmp_path / "invites.jsonl"
    wanted = [f"ats-{i}" for i in range(80)]
    counting_sync(monkeypatch, fail_after=6)
    with pytest.raises(BulkInviteError) as caught:  # not an ExceptionGroup
        await zh.sessions.bulk_invite(
            persona_id,
            ({"candidate_ref": r} for r in wanted),
            consent_mode="explicit",
            journal=journal,
            concurrency=8,
        )
    cause = caught.value.__cause__
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC
    assert caught.value.report.created < 80  # the partial report
    monkeypatch.undo()
    # What reached the disk is whole lines; the rows whose links were lost with the failed
    # write are found again as orphans, so the re-run ends with one link per ref.
    report = await zh.sessions.bulk_invite(
        persona_id,
        ({"candidate_ref": r} for r in wanted),
        consent_mode="explicit",
        journal=journal,
        concurrency=8,
    )
    assert report.created + report.skipped == 80 and not report.failed
    check_job_invariants(emu, journal, wanted)


async def test_a_cancelled_writer_writes_every_record_whose_append_returned(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    writer, _, _ = JournalWriter.open(path, "p", "job")
    returned: list[str] = []
    counter = itertools.count()

    async def append() -> None:
        ref = f"r{next(counter)}"
        await writer.append(AttemptRecord(candidate_ref=ref))
        returned.append(ref)

    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                await tg.start(writer.run)
                for _ in range(30):
                    tg.start_soon(append)
                await anyio.lowlevel.checkpoint()
                scope.cancel()  # appends in flight finish; the writer flushes, then ends
        assert returned  # some were in flight when the writer was cancelled
        await writer.append(AttemptRecord(candidate_ref="after"))  # written alone now
    finally:
        writer.close()
    on_disk = [r.candidate_ref for r in read_journal(path) if isinstance(r, AttemptRecord)]
    assert set(returned) <= set(on_disk) and on_disk[-1] == "after"
    assert not any(isinstance(r, CreatedRecord) for r in read_journal(path))
