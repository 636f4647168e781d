"""Files that hold the only copy of the links: never truncated, never reached through a link.

``export_links_csv`` writes beside its output and renames into place, and refuses an output
that is (or resolves to) a journal; journal and link-file paths that are symbolic links are
refused with nothing touched; a cancellation while the journal opens leaves it neither open
nor locked; a full disk ends the job with its partial report and a journal that resumes.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from bulk_support import check_job_invariants
from fuzz_support import CANCELLATION_POINTS, Stepped

from zenhire_async import (
    BulkInviteError,
    CreatedRecord,
    UnsafePathError,
    ZenHireClient,
    export_links_csv,
    read_journal,
)
from zenhire_async import _bulk_records as records_module
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def persona_id(zh: ZenHireClient) -> str:
    return (await zh.personas.create("Engineer", "en")).id


def refs(n: int) -> list[dict[str, object]]:
    return [{"candidate_ref": f"ats-{i}"} for i in range(n)]


@pytest.fixture
async def journal(zh: ZenHireClient, persona_id: str, tmp_path: Path) -> Path:
    path = tmp_path / "invites.jsonl"
    await zh.sessions.bulk_invite(persona_id, refs(5), consent_mode="explicit", journal=path)
    return path


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def _created(path: Path) -> int:
    return sum(isinstance(r, CreatedRecord) for r in read_journal(path))


# -- export ------------------------------------------------------------------------------


async def test_exporting_a_journal_onto_itself_is_refused(journal: Path) -> None:
    """Before: the journal was truncated to a CSV header, 0 returned, every link gone."""
    before = _bytes(journal)
    with pytest.raises(UnsafePathError, match="journal"):
        export_links_csv(journal, journal)
    with pytest.raises(UnsafePathError, match="journal"):
        export_links_csv(journal, journal.parent / "." / journal.name)
    assert _bytes(journal) == before


async def test_exporting_onto_a_symlink_to_the_journal_is_refused(journal: Path) -> None:
    before = _bytes(journal)
    out = journal.parent / "links.csv"
    out.symlink_to(journal)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        export_links_csv(journal, out)
    assert _bytes(journal) == before
    assert out.is_symlink()


async def test_exporting_onto_a_hard_link_or_another_journal_is_refused(
    zh: ZenHireClient, persona_id: str, journal: Path
) -> None:
    hard = journal.parent / "hard.csv"
    os.link(journal, hard)
    with pytest.raises(UnsafePathError):
        export_links_csv(journal, hard)
    other = journal.parent / "other.jsonl"
    await zh.sessions.bulk_invite(persona_id, refs(2), consent_mode="explicit", journal=other)
    before = _bytes(other)
    with pytest.raises(UnsafePathError, match="bulk-invite journal"):
        export_links_csv(journal, other)
    assert _bytes(other) == before
    assert _created(journal) == 5


async def test_a_failing_export_leaves_the_old_file_and_no_temporary(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = journal.parent / "links.csv"
    out.write_text("the previous export\n")

    def boom(records: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records_module, "read_journal", boom)
    with pytest.raises(OSError, match="No space"):
        export_links_csv(journal, out)
    assert out.read_text() == "the previous export\n"
    assert sorted(p.name for p in journal.parent.iterdir()) == ["invites.jsonl", "links.csv"]


async def test_an_export_is_renamed_into_place_with_mode_0600(journal: Path) -> None:
    out = journal.parent / "links.csv"
    out.write_text("old\n")
    out.chmod(0o644)
    inode = out.stat().st_ino
    assert export_links_csv(journal, out) == 5
    assert out.stat().st_ino != inode  # a new file renamed over the old one, not rewritten
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in journal.parent.iterdir()) == ["invites.jsonl", "links.csv"]


# -- symbolic links at the journal path --------------------------------------------------------


async def test_a_journal_path_that_is_a_symlink_is_refused_and_its_target_untouched(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    """Before: refused, but the target was chmodded to 0600 first."""
    target = tmp_path / "notes.txt"
    target.write_text("someone's notes\n")
    target.chmod(0o644)
    link = tmp_path / "invites.jsonl"
    link.symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        await zh.sessions.bulk_invite(persona_id, refs(2), consent_mode="explicit", journal=link)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "someone's notes\n"
    assert emu.request_counts["POST /personas/{id}/sessions"] == 0


async def test_a_dangling_symlink_journal_is_refused_and_nothing_created(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    """Before: followed, and the journal created at the link's target."""
    target = tmp_path / "elsewhere.jsonl"
    link = tmp_path / "invites.jsonl"
    link.symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        await zh.sessions.bulk_invite(persona_id, refs(2), consent_mode="explicit", journal=link)
    assert not target.exists()
    assert emu.request_counts["POST /personas/{id}/sessions"] == 0


async def test_an_export_to_a_dangling_symlink_is_refused(journal: Path) -> None:
    target = journal.parent / "elsewhere.csv"
    out = journal.parent / "links.csv"
    out.symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        export_links_csv(journal, out)
    assert not target.exists()


# -- cancellation while the journal opens --------------------------------------------------------


class _CutAt:
    """Calls ``cut`` at the k-th suspension it is told of (``tick``)."""

    def __init__(self, k: int, cut: Callable[[], None]) -> None:
        self._k, self._cut = k, cut
        self.points = 0

    def tick(self) -> None:
        self.points += 1
        if self.points == self._k:
            self._cut()


def _expire_now(deadline: asyncio.Timeout, loop: asyncio.AbstractEventLoop) -> None:
    deadline.reschedule(loop.time())


async def test_asyncio_timeout_at_every_await_point_leaves_the_journal_free(
    zh: ZenHireClient, emu: Emulator, persona_id: str, tmp_path: Path
) -> None:
    """Before: a timeout while the journal opened leaked its descriptor and its flock, and
    every later run in the process raised JournalInUseError.

    ``asyncio.timeout``'s own cancellation (rescheduled to fire now) reaches the job at its
    k-th suspension, for k = 1, 2, … until the job ends first. Each next run is the check:
    it must open the journal.
    """
    path = tmp_path / "invites.jsonl"
    rows = refs(2)
    loop = asyncio.get_running_loop()
    for k in range(1, 2_000):
        job = zh.sessions.bulk_invite(persona_id, rows, consent_mode="explicit", journal=path)
        try:
            async with asyncio.timeout(None) as deadline:
                driver = _CutAt(k, functools.partial(_expire_now, deadline, loop))
                await Stepped(job, driver.tick)
        except TimeoutError:
            continue
        if driver.points < k:
            break  # it ran out of await points before the k-th: every one was cut
    else:
        raise AssertionError("the job never finished")
    assert k > 3, f"only {k} await points: not counted?"
    CANCELLATION_POINTS["bulk_invite under asyncio.timeout"] = k
    check_job_invariants(emu, path, [str(r["candidate_ref"]) for r in rows])
    assert _open_descriptors_of(path) == []


def _open_descriptors_of(path: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:
            continue
    return found


# -- a full disk -----------------------------------------------------------------------------

DISK_CHILD = Path(__file__).with_name("bulk_disk_child.py")


@pytest.mark.real_time
async def test_a_journal_hitting_a_real_file_size_limit_ends_typed_and_resumes(
    emu: Emulator, zh: ZenHireClient, persona_id: str, tmp_path: Path
) -> None:
    """Real ``EFBIG``: a child process whose RLIMIT_FSIZE the journal outgrows.

    Before: the child's bulk_invite ended with a bare nested ``ExceptionGroup``.
    """
    path = tmp_path / "invites.jsonl"
    rows = 30
    argv = [sys.executable, str(DISK_CHILD), emu.base_url, emu.api_key, persona_id, str(path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = await anyio.run_process([*argv, str(rows), "4000"], env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    outcome = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert outcome["raised"] == "BulkInviteError", outcome
    assert (outcome["cause"], outcome["errno"]) == ("OSError", errno.EFBIG), outcome
    assert 0 < outcome["created"] < rows
    assert outcome["size"] <= 4000
    assert _bytes(path).endswith(b"\n")  # the partial record was taken back
    # Resume in this process (no limit): every row once, every other session an orphan.
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": f"ats-{i}"} for i in range(rows)],
        consent_mode="explicit",
        journal=path,
    )
    assert report.skipped == outcome["created"]
    check_job_invariants(emu, path, [f"ats-{i}" for i in range(rows)])


@pytest.mark.parametrize("fail_at", [2, 3, 6, 11, 17])
async def test_a_full_disk_stops_the_job_with_its_partial_report_and_resumes_clean(
    zh: ZenHireClient,
    emu: Emulator,
    persona_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail_at: int,
) -> None:
    """``ENOSPC`` at the journal's own boundary: the ``fail_at``-th write to the journal is
    short (half the record reaches the disk), and every write after it fails."""
    path = tmp_path / "invites.jsonl"
    real_write = os.write
    calls = 0

    def full_disk(fd: int, data: Any) -> int:
        nonlocal calls
        if not (path.exists() and os.fstat(fd).st_ino == path.stat().st_ino):
            return real_write(fd, data)
        calls += 1
        if calls < fail_at:
            return real_write(fd, data)
        if calls == fail_at:
            return real_write(fd, bytes(data)[: max(1, len(data) // 2)])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    wanted = refs(12)
    with pytest.raises(BulkInviteError) as caught:
        # One row at a time: one write per record, so that the fail_at-th write is reached
        # (rows in flight together share a write; test_journal_commit covers that case).
        await zh.sessions.bulk_invite(
            persona_id, wanted, consent_mode="explicit", journal=path, concurrency=1
        )
    cause = caught.value.__cause__
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC
    partial = caught.value.report
    assert partial.created < len(wanted)
    assert "No space left" in str(caught.value)
    monkeypatch.setattr(os, "write", real_write)
    report = await zh.sessions.bulk_invite(
        persona_id, wanted, consent_mode="explicit", journal=path
    )
    assert report.skipped == partial.created
    check_job_invariants(emu, path, [str(r["candidate_ref"]) for r in wanted])


async def test_a_full_disk_before_the_job_record_is_the_oserror_itself(
    zh: ZenHireClient,
    emu: Emulator,
    persona_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "invites.jsonl"

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left") as caught:
        await zh.sessions.bulk_invite(persona_id, refs(3), consent_mode="explicit", journal=path)
    assert caught.value.errno == errno.ENOSPC
    assert emu.request_counts["POST /personas/{id}/sessions"] == 0
    assert _bytes(path) == b""  # nothing half-written
    monkeypatch.undo()
    report = await zh.sessions.bulk_invite(
        persona_id, refs(3), consent_mode="explicit", journal=path
    )
    assert report.created == 3
