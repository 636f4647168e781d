"""The bulk-invite journal's records: their format, reading them back, exporting links.

One JSON object per line, each tagged by ``"type"``:

* ``job`` — the first line: the job id (the ``zh_job`` marker) and the persona;
* ``attempt`` — written *before* a create request is sent for ``candidate_ref``;
* ``created`` — the session, its ``candidate_link`` and ``expires_at``: the row is done;
* ``failed`` — the row failed (``code``, ``message``); it is retried on the next run;
* ``orphan`` — a session of the row whose link never reached us (``session_id``).

A crash can only tear the *last* line (no newline yet): readers skip it. Writing the file
(durably, locked, in groups) is :mod:`._bulk_journal`'s part; this module only reads it, and
writes the mailer's CSV of links (:func:`export_links_csv`), whole or not at all.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeAlias, Union

import msgspec

from ._bulk_rowkeys import MARKER_JOB
from ._private_files import replacing
from ._redact import hide_link
from .errors import UnsafePathError

__all__ = [
    "AttemptRecord",
    "CreatedRecord",
    "FailedRecord",
    "JobRecord",
    "JournalRecord",
    "OrphanRecord",
    "check_export_target",
    "export_links_csv",
    "numbered_records",
    "read_journal",
]

JOURNAL_VERSION = 1
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


def numbered_records(path: Path, fd: int | None = None) -> Iterator[tuple[int, int, JournalRecord]]:
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
    for _, _, record in numbered_records(Path(path)):
        yield record


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
    count = 0
    with replacing(Path(out)) as (raw, _):
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(fh)
        writer.writerow(["candidate_ref", "candidate_link", "expires_at"])
        for record in read_journal(journal):
            if isinstance(record, CreatedRecord):
                writer.writerow(
                    [record.candidate_ref, record.candidate_link, record.expires_at.isoformat()]
                )
                count += 1
        fh.flush()
        fh.detach()  # ``replacing`` closes the file
        os.fsync(raw.fileno())
        check_export_target(journal, out)  # still true now that the file is complete
    return count
