"""A bulk-invite journal as the batch commands (``watch``, ``results``) read it back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from .. import CreatedRecord, JobRecord, read_journal
from ._errors import UsageError

__all__ = ["JournaledJob", "read_job"]


@dataclass(frozen=True, slots=True)
class JournaledJob:
    """The job record of a journal and the ``created`` record of every row with a link."""

    job: JobRecord
    created: dict[str, CreatedRecord]
    """By session id, in journal order."""

    def refs(self) -> dict[str, str]:
        """Session id → candidate_ref of every row with a link."""
        return {session_id: r.candidate_ref for session_id, r in self.created.items()}


def _read(journal: Path) -> JournaledJob:
    job: JobRecord | None = None
    created: dict[str, CreatedRecord] = {}
    for record in read_journal(journal):
        if isinstance(record, JobRecord) and job is None:
            job = record
        elif isinstance(record, CreatedRecord):
            created[record.session_id] = record
    if job is None:
        raise UsageError(f"{journal} is not a bulk-invite journal (it has no job record)")
    return JournaledJob(job, created)


async def read_job(journal: Path) -> JournaledJob:
    """Read ``journal`` in the loop's executor (``UsageError`` if it is not a journal)."""
    return await asyncio.get_running_loop().run_in_executor(None, _read, journal)
