"""The bulk-invite journal's writer: an append-only JSON-lines file that never loses a link.

The records and how they are read back are :mod:`._bulk_records`'. Every record is written
with one ``write`` on an ``O_APPEND`` descriptor and ``fsync``'d before the caller goes on,
so a record the job acted upon is on disk. A running job commits in groups: one writer task
(:meth:`JournalWriter.run`) writes every record appended while the previous write was in
progress with one ``write`` and one fsync, and each appender still waits for the fsync of
its own record. The file is created with mode 0600 (links are secrets) and locked
(``flock``) while a job runs, so that two processes never run the same job at once. A crash
can only tear the *last* line (no newline yet): readers ignore it and a resuming job cuts it
off before appending.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import msgspec
from anyio.abc import TaskStatus

from ._bulk_records import (
    AttemptRecord,
    CreatedRecord,
    JobRecord,
    JournalRecord,
    OrphanRecord,
    numbered_records,
)
from ._bulk_rowkeys import RowKeyTable, row_key
from .errors import JournalInUseError, UnsafePathError

try:  # POSIX; elsewhere the journal is simply not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["CREATED", "JournalWriter", "ResumeState"]

CREATED = 2
"""Row-table flag: the journal holds a ``created`` record for the row."""

_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_encoder = msgspec.json.Encoder()


def _open_private(path: str | os.PathLike[str], flags: int) -> int:
    """Open ``path`` for a file that holds candidate links: mode 0600, even if it existed.

    A symbolic link at ``path`` is refused (``O_NOFOLLOW``: not followed, not created through
    when dangling, its target untouched), and so is anything but a regular file.
    ``os.open``'s mode applies only to a file it creates; a file that was already there (an
    old export, an empty file the user made) is tightened before anything is written to it.
    """
    try:
        fd = os.open(path, flags | _NOFOLLOW, _FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise UnsafePathError(
                f"{os.fsdecode(path)} is a symbolic link; a file holding candidate links is "
                "only opened at its real path"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePathError(f"{os.fsdecode(path)} is not a regular file")
        if info.st_mode & 0o777 != _FILE_MODE:
            os.fchmod(fd, _FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass(slots=True)
class ResumeState:
    """What a journal tells a job that (re)starts on it."""

    job_id: str
    rows: RowKeyTable = field(default_factory=RowKeyTable)
    """Row key -> ``CREATED`` for every row with a link on record."""
    pending: set[bytes] = field(default_factory=set)
    """Rows with an attempt and no ``created`` record: their session may exist."""
    orphans: set[str] = field(default_factory=set)
    """Sessions already recorded as orphans."""


def _resume_state(
    path: Path, persona_id: str, fd: int | None = None
) -> tuple[ResumeState | None, int]:
    """Read an existing journal: its state, and the offset where its last good line ends."""
    state: ResumeState | None = None
    end = 0
    for number, offset, record in numbered_records(path, fd):
        end = offset
        if state is None:
            if not isinstance(record, JobRecord):
                raise ValueError(f"{path}: line {number} should be the job record")
            if record.persona_id != persona_id:
                raise ValueError(
                    f"{path} is the journal of a job for persona {record.persona_id}, "
                    f"not {persona_id}: use another journal file"
                )
            state = ResumeState(job_id=record.job_id)
        elif isinstance(record, AttemptRecord):
            state.pending.add(row_key(record.candidate_ref))
        elif isinstance(record, CreatedRecord):
            key = row_key(record.candidate_ref)
            state.pending.discard(key)
            state.rows.add_flags(key, CREATED)
        elif isinstance(record, OrphanRecord):
            state.orphans.add(record.session_id)
    return state, end


class _Batch:
    """Records appended while the previous batch was being written: one write, one fsync."""

    __slots__ = ("data", "done", "error")

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.done = anyio.Event()
        self.error: OSError | None = None

    def fail(self, error: OSError) -> None:
        self.error = error
        self.done.set()


# fdatasync is enough for an append-only file (it flushes the size change with the data).
_sync = getattr(os, "fdatasync", os.fsync)


class JournalWriter:
    """The open, locked journal of one running job."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._running = False  # a writer task (run) is taking batches
        self._open = _Batch()  # records waiting for the next write
        self._wake = anyio.Event()
        self.failure: OSError | None = None
        """The write error that stopped the journal, if any."""

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], persona_id: str, new_job_id: str
    ) -> tuple[JournalWriter, ResumeState, bool]:
        """Open (or create) the journal, lock it and read it back.

        Returns the writer, the resume state and whether the job is new (its job record still
        has to be written with :meth:`append`). Raises :class:`JournalInUseError` when another
        process holds the journal.
        """
        target = Path(path)
        fd = _open_private(target, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise JournalInUseError(
                        f"the journal {target} is in use by another running job"
                    ) from None
            state, end = _resume_state(target, persona_id, fd)
            if os.fstat(fd).st_size > end:
                os.ftruncate(fd, end)  # cut a torn last line (or a stray empty header)
            if state is None:
                return cls(fd), ResumeState(job_id=new_job_id), True
            return cls(fd), state, False
        except BaseException:
            os.close(fd)
            raise

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd < 0:
                raise RuntimeError("the journal is closed")
            start = os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError:
                # A full disk (ENOSPC, EFBIG): take back the part of the record that got
                # written, so that the journal still ends on a whole line.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                raise
            _sync(self._fd)

    async def _write_off_loop(self, data: bytes) -> None:
        # Off the event loop (visible to loops that track executor work, as the testing
        # package's virtual-time loop does); shielded: a batch is either wholly written or,
        # after a crash, a torn tail.
        with anyio.CancelScope(shield=True):
            await asyncio.get_running_loop().run_in_executor(None, self._write, data)

    async def append(self, record: JournalRecord) -> None:
        """Append ``record`` and return once it is on disk (fsync'd).

        While :meth:`run` runs (the job's writer task), records appended meanwhile share one
        write and one fsync; otherwise the record is written alone. Either way it returns
        only once its record is on disk, and it is shielded from cancellation. After a write
        failed (``ENOSPC``…), every append raises that ``OSError``.
        """
        if self.failure is not None:
            raise self.failure
        data = _encoder.encode(record) + b"\n"
        if not self._running:
            await self._write_off_loop(data)
            return
        batch = self._open
        batch.data.append(data)
        self._wake.set()
        with anyio.CancelScope(shield=True):
            await batch.done.wait()
        if batch.error is not None:
            raise batch.error

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer task (group commit): write each batch of appended records with one
        ``write`` and one fsync, until cancelled.

        Run it in the job's task group (``await tg.start(journal.run)``). When cancelled, it
        first writes what is queued, so no appender is left waiting. A failed write fails
        its batch and every later append with the ``OSError``; the task then ends without
        raising (the appenders raise it where the job can act on it).
        """
        self._running = True
        task_status.started()
        try:
            while self.failure is None:
                await self._wake.wait()
                await self._flush()
        finally:
            with anyio.CancelScope(shield=True):
                while self._open.data and self.failure is None:
                    await self._flush()
            self._running = False
            if self.failure is not None:
                self._open.fail(self.failure)

    async def _flush(self) -> None:
        self._wake = anyio.Event()
        batch, self._open = self._open, _Batch()
        if not batch.data:
            return
        try:
            await self._write_off_loop(b"".join(batch.data))
        except OSError as error:
            self.failure = error
            batch.fail(error)
            self._open.fail(error)
        finally:
            batch.done.set()

    @classmethod
    async def open_async(
        cls, path: str | os.PathLike[str], persona_id: str, new_job_id: str
    ) -> tuple[JournalWriter, ResumeState, bool]:
        """:meth:`open` in the loop's executor, safe under any cancellation.

        A cancellation (anyio's, or asyncio's own such as ``asyncio.timeout``, which anyio's
        shield does not hold back) that arrives while the file is being opened waits for
        the open to end, closes what it opened (releasing the lock) and is then re-raised.
        """
        loop = asyncio.get_running_loop()
        opening = loop.run_in_executor(None, cls.open, path, persona_id, new_job_id)
        cancelled: BaseException | None = None
        with anyio.CancelScope(shield=True):
            while True:
                try:
                    opened = await asyncio.shield(opening)
                    break
                except asyncio.CancelledError as exc:
                    if opening.cancelled():
                        raise
                    cancelled = cancelled or exc  # the open goes on: wait for its outcome
                    if opening.done() and opening.exception() is not None:
                        raise exc from None
        if cancelled is not None:
            opened[0].close()
            raise cancelled
        return opened

    def close(self) -> None:
        """Release the lock and close the file (idempotent)."""
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
