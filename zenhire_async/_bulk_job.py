"""``sessions.bulk_invite``: one link per candidate, never lost, never doubled, resumable.

Theory of operation
-------------------
The API has no idempotency key and returns a candidate link once, so the only copy of a link
is the one we write down, and a create whose answer is lost leaves a session we cannot see
the link of. Three things make a bulk invite safe anyway:

1. **The journal** (``_bulk_journal``; its records in ``_bulk_records``): before a create
   is sent, an ``attempt`` record is fsync'd; the link is fsync'd in a ``created`` record
   before the row counts as done. A re-run on the same journal skips rows with a
   ``created`` record and knows exactly which rows may have a session it never saw (an
   attempt with no ``created`` after it).
2. **The marker**: every create carries metadata ``zh_job`` (the job id from the journal's
   first line) and ``zh_row`` (a hash of ``candidate_ref``; see ``_bulk_rowkeys``), counted
   against the contract's metadata limits. Listing sessions by that marker finds every
   session the job ever created for a row, whether or not its answer arrived.
3. **Reconciling**: after an ambiguous failure (timeout, reset or 5xx after the request was
   sent), and on resume for every row with an unanswered attempt, the row's sessions are
   listed by marker. As we hold no link for the row, each one found is an *orphan*: it is
   journaled as such (it stays ``initiated``, is never started, never charged) and a fresh
   session is created. Rows that went through this are listed once more when the job ends,
   to catch a create the server carried out after we looked. A 2xx answer we cannot read
   is different: the server acted, and a retry would make one more session, so the row's
   session is journaled as an orphan and the row fails.

Flow (this module): the caller's task reads the input (an iterable or async iterable, never
materialised), checks each row (limits, duplicate refs, already created) and sends the ones
to invite into a memory object stream of ``concurrency`` slots; ``concurrency`` workers take
rows from it and run each through the per-row state machine (``_bulk_row.RowInviter``).
Every request goes through the client, hence its pacer: a 429 pauses every worker. A fatal
error (401, 403, 402, 404 persona) sets the stop flag: the reader stops, workers drop rows not
yet started, rows in flight finish and are journaled, and :class:`BulkInviteError` carries
the partial report. Per row, the whole job keeps only a 13-byte slot (``RowKeyTable``);
failures and orphans are kept as lists because the report returns them.

Across jobs and workers (``_bulk_fleet``): with ``shard=(index, count)`` rows of other
shards are counted (``report.other_shard``) and left alone before any other check, so each
worker keeps state only for its own rows. With ``skip_existing=True`` the job first lists
the persona's sessions once (``ceil(sessions / 100)`` requests, paced as batch) and keeps a
map of row key to session id of those holding a live link, made by any other job; their
rows go to ``report.existing``. A failing list stops the job as a fatal error does (without
it the job could give a candidate a second link). With a coordinator each row is also
claimed before its create (``_bulk_row``), for jobs running at the same time.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sized,
)
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import anyio
import anyio.lowlevel
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from . import _bulk_rules as rules
from . import _validation as v
from ._bulk_fleet import check_shard, holds_live_link, shard_of
from ._bulk_journal import CREATED, JournalWriter
from ._bulk_records import JobRecord
from ._bulk_row import BulkSessions, Ledger, OnRow, Row, RowInviter
from ._bulk_rowkeys import MARKER_JOB, row_key, row_marker
from ._clock import LoopWallClock
from ._coordination import RowClaims
from .errors import BulkInviteError, ZenHireError
from .models import BulkInviteReport, BulkProgress, Candidate, ConsentModeName

__all__ = ["CandidateInput", "OnProgress", "bulk_invite"]

CandidateInput: TypeAlias = Candidate | Mapping[str, object]
"""One input row: a :class:`Candidate` or a mapping with ``candidate_ref``, ``tags``,
``metadata``."""

OnProgress = Callable[[BulkProgress], Awaitable[None] | None]
"""Called (sync or async) with the counts at least once a second and once at the end."""

LinkExpiry = Callable[[str], datetime | None]
"""The ``expires_at`` this client received for a session id, if it made it (else None)."""

MAX_CONCURRENCY = 100
PROGRESS_INTERVAL = 1.0
_SEEN = 1  # row-table flag: the row appeared in this run's input


@dataclass(frozen=True, slots=True)
class Fleet:
    """How a job shares its persona with other jobs and workers (see the module)."""

    shard: tuple[int, int] | None = None
    skip_existing: bool = True
    link_expiry: LinkExpiry | None = None


class _BulkJob:
    """One run of a bulk invite over an open journal."""

    def __init__(
        self,
        inviter: RowInviter,
        ledger: Ledger,
        concurrency: int,
        on_progress: OnProgress | None,
        total: int | None,
        fleet: Fleet,
        sessions: BulkSessions,
    ) -> None:
        self._fleet = fleet
        self._sessions = sessions
        self._existing: dict[bytes, str] = {}
        self._inviter = inviter
        self._ledger = ledger
        self._journal = ledger.journal
        self._state = ledger.state
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._total = total
        self._disk: OSError | None = None  # a journal write failed (full disk): stop

    # -- the run --------------------------------------------------------------------------

    async def run(
        self, candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput]
    ) -> BulkInviteReport:
        started = anyio.current_time()
        ledger = self._ledger
        try:
            async with anyio.create_task_group() as outer:
                await outer.start(self._journal.run)  # group commit: rows share fsyncs
                outer.start_soon(self._tick)
                if self._fleet.skip_existing:
                    await self._list_existing()  # a failure stops the job: no row is fed
                # Made after the await above, so a cancellation there leaves no stream open.
                send, receive = anyio.create_memory_object_stream[Row](self._concurrency)
                async with anyio.create_task_group() as workers:
                    for _ in range(self._concurrency):
                        workers.start_soon(self._work, receive.clone())
                    receive.close()
                    async with send:
                        await self._journaling(self._feed(candidates, send))
                if not ledger.stop.is_set():
                    await self._journaling(self._inviter.sweep())
                outer.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            failure = self._journal.failure  # ENOSPC…: raised as itself, not as a group
            if failure is None or group.split(lambda e: e is failure)[1] is not None:
                raise
            raise failure from None
        await self._notify()
        report = BulkInviteReport(
            job_id=self._state.job_id,
            created=ledger.created,
            skipped=ledger.skipped,
            failed=ledger.failed,
            orphans=ledger.orphans,
            elapsed=anyio.current_time() - started,
            existing=ledger.existing,
            other_shard=ledger.other_shard,
        )
        if self._disk is not None:
            raise BulkInviteError(
                f"bulk invite stopped: the journal could not be written ({self._disk}); "
                f"{report.created} created, {len(report.failed)} failed in this run. Every "
                "record before the failure is whole: free space and run again with the same "
                "journal to go on",
                report=report,
            ) from self._disk
        if ledger.fatal is not None:
            raise BulkInviteError(
                f"bulk invite stopped: {ledger.fatal}; {report.created} created, "
                f"{len(report.failed)} failed in this run. The journal is complete: fix the "
                "cause and run again with the same journal to go on",
                report=report,
            ) from ledger.fatal
        return report

    async def _list_existing(self) -> None:
        """Map the row key of every candidate with a live session of this persona (made by
        another job) to its session id: one walk over the persona's sessions."""
        ledger, fleet = self._ledger, self._fleet
        job_id, now = self._state.job_id, ledger.clock.now()
        found = self._sessions.iter(persona_id=self._inviter.persona_id, page_size=100)
        try:
            async for session in found:
                ref = session.candidate_ref
                if ref is None or (session.metadata or {}).get(MARKER_JOB) == job_id:
                    continue  # this job's own sessions are its journal's business
                if (shard := fleet.shard) and shard_of(ref, shard[1]) != shard[0]:
                    continue
                known = fleet.link_expiry(session.id) if fleet.link_expiry else None
                if holds_live_link(session, now, known):
                    self._existing.setdefault(row_key(ref), session.id)
        except ZenHireError as error:
            ledger.halt(error)

    async def _feed(
        self,
        candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput],
        send: ObjectSendStream[Row],
    ) -> None:
        index = 0
        async with aclosing(_aiterate(candidates)) as items:
            async for item in items:
                if self._ledger.stop.is_set():
                    return
                row = await self._admit(index, item)
                if row is not None:
                    await send.send(row)
                elif index % 256 == 255:
                    await anyio.lowlevel.checkpoint()  # skipped rows never wait on anything
                index += 1

    async def _admit(self, index: int, item: object) -> Row | None:
        """Check one input row; return it when it should be invited."""
        ref: str | None = None
        try:
            ref = rules.candidate_ref_of(item)
            shard = self._fleet.shard
            if shard is not None and shard_of(ref, shard[1]) != shard[0]:
                self._ledger.other_shard += 1  # another worker's row: no state kept here
                return None
            key = row_key(ref)
            before = self._state.rows.add_flags(key, _SEEN)
            if before & _SEEN:
                await self._ledger.fail(
                    ref, "DUPLICATE_REF", "candidate_ref appeared earlier", index
                )
                return None
            if before & CREATED:
                self._ledger.skipped += 1
                self._ledger.finished("skipped")
                return None
            existing = self._existing.get(key)
            if existing is not None:
                self._ledger.exists(ref, existing)
                return None
            fields = rules.read_row(item, ref, rules.marker(self._state.job_id, row_marker(key)))
        except (TypeError, ValueError) as exc:
            await self._ledger.fail(ref, "INVALID_ROW", str(exc), index)
            return None
        return Row(index, key, fields, reconcile=key in self._state.pending)

    async def _work(self, receive: ObjectReceiveStream[Row]) -> None:
        ledger = self._ledger
        async with receive:
            async for row in receive:
                if ledger.stop.is_set():
                    continue  # not started: a re-run will pick it up
                ledger.in_flight += 1
                try:
                    await self._journaling(self._inviter.invite(row))
                finally:
                    ledger.in_flight -= 1

    async def _journaling(self, step: Awaitable[None]) -> None:
        """Run ``step``; a journal write that fails (``OSError``: a full disk) stops the job
        like a fatal error, so that it ends with the partial report, not a task group's
        ``ExceptionGroup``. Rows in flight finish; their links are journaled if the disk
        takes them, else their sessions are found as orphans by the next run."""
        try:
            await step
        except OSError as exc:
            if self._disk is None:
                self._disk = exc
            self._ledger.stop.set()

    # -- progress -------------------------------------------------------------------------

    async def _notify(self) -> None:
        if self._on_progress is not None:
            result = self._on_progress(self._ledger.progress(self._total))
            if inspect.isawaitable(result):
                await result

    async def _tick(self) -> None:
        due = anyio.current_time()
        while True:
            due += PROGRESS_INTERVAL  # on a fixed grid: a slow callback does not drift it
            await anyio.sleep_until(due)
            await self._notify()


async def _aiterate(
    candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput],
) -> AsyncGenerator[object, None]:
    if isinstance(candidates, AsyncIterable):
        async for item in candidates:
            yield item
    else:
        for item in candidates:
            yield item


async def bulk_invite(
    sessions: BulkSessions,
    clock: LoopWallClock,
    persona_id: str,
    candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput],
    *,
    consent_mode: ConsentModeName,
    journal: str | os.PathLike[str],
    concurrency: int = 8,
    on_progress: OnProgress | None = None,
    journal_source: Mapping[str, str] | None = None,
    on_row: OnRow | None = None,
    shard: tuple[int, int] | None = None,
    skip_existing: bool = True,
    claims_for: Callable[[str], RowClaims] | None = None,
    link_expiry: LinkExpiry | None = None,
) -> BulkInviteReport:
    """Invite every candidate once, journaling each link; see the module docstring."""
    v.require_id("persona_id", persona_id)
    v.check_consent_mode(consent_mode)
    checked_shard = check_shard(shard)
    if not isinstance(skip_existing, bool):
        raise TypeError(f"skip_existing must be True or False, got {skip_existing!r}")
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Iterable | AsyncIterable):
        raise TypeError("candidates must be an iterable or async iterable of rows")
    if (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise ValueError(
            f"concurrency must be an integer from 1 to {MAX_CONCURRENCY}, got {concurrency!r}"
        )
    total = len(candidates) if isinstance(candidates, Sized) else None
    # Reading back a long journal is file work: off the loop, like every journal write;
    # no cancellation (anyio's or asyncio's own) can leave the file open and locked.
    writer, state, is_new = await JournalWriter.open_async(
        journal, persona_id, secrets.token_hex(8)
    )
    try:
        if is_new:
            await writer.append(
                JobRecord(
                    job_id=state.job_id,
                    persona_id=persona_id,
                    at=clock.now(),
                    source=dict(journal_source) if journal_source is not None else None,
                )
            )
        ledger = Ledger(writer, state, clock, on_row)
        claims = None if claims_for is None else claims_for(persona_id)
        inviter = RowInviter(sessions, ledger, persona_id, consent_mode, claims)
        fleet = Fleet(checked_shard, skip_existing, link_expiry)
        job = _BulkJob(inviter, ledger, concurrency, on_progress, total, fleet, sessions)
        return await job.run(candidates)
    finally:
        writer.close()
