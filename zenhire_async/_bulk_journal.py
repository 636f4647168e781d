"""The bulk-invite journal: an append-only JSON-lines file that never loses a link.

One JSON object per line, each tagged by ``"type"``:

* ``job`` — the first line: the job id (the ``zh_job`` marker) and the persona;
* ``attempt`` — written *before* a create request is sent for ``candidate_ref``;
* ``created`` — the session, its ``candidate_link`` and ``expires_at``: the row is done;
* ``failed`` — the row failed (``code``, ``message``); it is retried on the next run;
* ``orphan`` — a session of the row whose link never reached us (``session_id``).

Every record is written with one ``write`` on an ``O_APPEND`` descriptor and ``fsync``'d
before the caller goes on, so a record the job acted upon is on disk. A running job commits
in groups: one writer task (:meth:`JournalWriter.run`) writes every record appended while
the previous write was in progress with one ``write`` and one fsync, and each appender still
waits for the fsync of its own record. The file is created
with mode 0600 (links are secrets) and locked (``flock``) while a job runs, so that two
processes never run the same job at once. A crash can only tear the *last* line (no newline
yet): readers ignore it and a resuming job cuts it off before appending.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeAlias, Union

import anyio
import msgspec
from anyio.abc import TaskStatus

from ._bulk_rowkeys import MARKER_JOB, RowKeyTable, row_key
from ._redact import hide_link
from .errors import JournalInUseError, UnsafePathError

try:  # POSIX; elsewhere the journal is simply not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CREATED",
    "AttemptRecord",
    "CreatedRecord",
    "FailedRecord",
    "JobRecord",
    "JournalRecord",
    "JournalWriter",
    "OrphanRecord",
    "ResumeState",
    "check_export_target",
    "export_links_csv",
    "read_journal",
]

JOURNAL_VERSION = 1
CREATED = 2
"""Row-table flag: the journal holds a ``created`` record for the row."""

_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_HEADER_PEEK = 64 * 1024  # a job record line is far shorter


class _Record(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Common base of journal records."""


class JobRecord(_Record, frozen=True, kw_only=True, tag="job"):
    """The journal's first line: which job (``job_id`` is the ``zh_job`` marker) and persona."""

    job_id: str
    persona_id: str
    version: int = JOURNAL_VERSION
    at: datetime | None = None
    source: dict[str, str] | None = None
    """What the caller said the input is (``bulk_invite(journal_source=…)``), for its own
    checks on resume: the ``zenhire`` command records the CSV's path and fingerprint."""

    @property
    def marker(self) -> dict[str, str]:
        """The metadata filter that lists this job's sessions: ``sessions.iter(metadata=…)``."""
        return {MARKER_JOB: self.job_id}


class AttemptRecord(_Record, frozen=True, kw_only=True, tag="attempt"):
    """A create request for ``candidate_ref`` is about to be sent."""

    candidate_ref: str
    at: datetime | None = None


class CreatedRecord(_Record, frozen=True, kw_only=True, tag="created"):
    """The row's session and its candidate link (a secret: ``repr`` hides the token)."""

    candidate_ref: str
    session_id: str
    candidate_link: str
    expires_at: datetime
    at: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"CreatedRecord(candidate_ref={self.candidate_ref!r}, session_id={self.session_id!r}, "
            f"candidate_link={hide_link(self.candidate_link)!r}, "
            f"expires_at={self.expires_at!r})"
        )

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, object]]:
        """What ``rich`` shows (msgspec's default would print the whole link)."""
        return [
            ("candidate_ref", self.candidate_ref),
            ("session_id", self.session_id),
            ("candidate_link", hide_link(self.candidate_link)),
            ("expires_at", self.expires_at),
            ("at", self.at),
        ]


class FailedRecord(_Record, frozen=True, kw_only=True, tag="failed"):
    """The row failed with ``code`` (the API's error code, or an SDK code such as
    ``INVALID_ROW`` / ``DUPLICATE_REF``); ``index`` is its 0-based position in the input."""

    candidate_ref: str | None
    code: str
    message: str
    index: int | None = None
    at: datetime | None = None


class OrphanRecord(_Record, frozen=True, kw_only=True, tag="orphan"):
    """A session of the row whose link never reached the SDK. It stays ``initiated``, is
    never started and never charged."""

    candidate_ref: str
    session_id: str
    at: datetime | None = None


JournalRecord: TypeAlias = Union[  # noqa: UP007 - a tagged union for msgspec
    JobRecord, AttemptRecord, CreatedRecord, FailedRecord, OrphanRecord
]
"""Any record of a bulk-invite journal."""

_decoder = msgspec.json.Decoder(JournalRecord)
_encoder = msgspec.json.Encoder()


def _lines(path: Path, fd: int | None = None) -> Iterator[tuple[int, int, JournalRecord]]:
    """(line number, end offset, record) of every complete line; a torn last line is skipped.

    With ``fd``, the file open on it is read (from its start), not whatever ``path`` names now.
    """
    offset = 0
    source = path.open("rb") if fd is None else os.fdopen(os.dup(fd), "rb")
    with source as fh:
        fh.seek(0)
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                return  # torn by a crash mid-write: never acted upon
            offset += len(line)
            if not line.strip():
                continue
            try:
                record = _decoder.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ValueError(
                    f"{path}: line {number} is not a bulk-invite journal record ({exc})"
                ) from None
            yield number, offset, record


def read_journal(path: str | os.PathLike[str]) -> Iterator[JournalRecord]:
    """Every record of a bulk-invite journal, in order (a torn last line is ignored).

    Raises ``ValueError`` when a complete line is not a journal record.
    """
    for _, _, record in _lines(Path(path)):
        yield record


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


def _is_journal(path: Path) -> bool:
    """Whether ``path`` holds a bulk-invite journal (its first line is a job record)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(_HEADER_PEEK)
    except (FileNotFoundError, IsADirectoryError):
        return False
    try:
        return isinstance(_decoder.decode(first), JobRecord)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False


def check_export_target(journal: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Refuse an export ``out`` that would destroy links: raise :class:`UnsafePathError` when
    it is a symbolic link, the journal itself (by name, link or hard link), or any existing
    bulk-invite journal. Opens nothing for writing."""
    target = Path(out)
    if target.is_symlink():
        raise UnsafePathError(
            f"{target} is a symbolic link; a file holding candidate links is only written at "
            "its real path"
        )
    if target.exists() and not target.is_file():
        raise UnsafePathError(f"{target} is not a regular file")
    source = Path(journal)
    if target.exists() and source.exists() and os.path.samefile(target, source):
        raise UnsafePathError(f"{target} is the journal itself: export to another file")
    if _is_journal(target):
        raise UnsafePathError(
            f"{target} is a bulk-invite journal (the only copy of its links): export to "
            "another file"
        )


def export_links_csv(journal: str | os.PathLike[str], out: str | os.PathLike[str]) -> int:
    """Write ``candidate_ref,candidate_link,expires_at`` of every created row to ``out``.

    For the mailer. The CSV holds links: it is written to a temporary file (mode 0600) beside
    ``out``, fsync'd and renamed into place, so ``out`` is whole or as it was. An ``out``
    that is a symbolic link, the journal, or another journal is refused with
    :class:`~zenhire_async.errors.UnsafePathError` before anything is opened. Returns the
    number of rows written.
    """
    check_export_target(journal, out)
    target = Path(out)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["candidate_ref", "candidate_link", "expires_at"])
            for record in read_journal(journal):
                if isinstance(record, CreatedRecord):
                    writer.writerow(
                        [record.candidate_ref, record.candidate_link, record.expires_at.isoformat()]
                    )
                    count += 1
            fh.flush()
            os.fsync(fh.fileno())
        check_export_target(journal, out)  # still true now that the file is complete
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return count


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
    for number, offset, record in _lines(path, fd):
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
