"""``sessions.bulk_invite``: one link per candidate, never lost, never doubled, resumable.

Theory of operation
-------------------
The API has no idempotency key and returns a candidate link once, so the only copy of a link
is the one we write down, and a create whose answer is lost leaves a session we cannot see
the link of. Three things make a bulk invite safe anyway:

1. **The journal** (``_bulk_journal``): before a create is sent, an ``attempt`` record is
   fsync'd; the link is fsync'd in a ``created`` record before the row counts as done. A
   re-run on the same journal skips rows with a ``created`` record and knows exactly which
   rows may have a session it never saw (an attempt with no ``created`` after it).
2. **The marker**: every create carries metadata ``zh_job`` (the job id from the journal's
   first line) and ``zh_row`` (a hash of ``candidate_ref``; see ``_bulk_rowkeys``), counted
   against the contract's metadata limits. Listing sessions by that marker finds every
   session the job ever created for a row, whether or not its answer arrived.
3. **Reconciling**: after an ambiguous failure (timeout, reset, 5xx or an unreadable answer
   after the request was sent), and on resume for every row with an unanswered attempt, the
   row's sessions are listed by marker. As we hold no link for the row, each one found is an
   *orphan*: it is journaled as such (it stays ``initiated``, is never started, never
   charged) and a fresh session is created. Rows that went through this are listed once more
   when the job ends, to catch a create the server carried out after we looked.

Flow: the caller's task reads the input (an iterable or async iterable, never materialised),
checks each row (limits, duplicate refs, already created) and sends the ones to invite into a
memory object stream of ``concurrency`` slots; ``concurrency`` workers take rows from it.
Every request goes through the client, hence its pacer: a 429 pauses every worker. A fatal
error (401, 403, 402, 404 persona) sets the stop flag: the reader stops, workers drop rows not
yet started, rows in flight finish and are journaled, and :class:`BulkInviteError` carries
the partial report. Per row, the whole job keeps only a 13-byte slot (``RowKeyTable``);
failures and orphans are kept as lists because the report returns them.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
    Sized,
)
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import anyio
import anyio.lowlevel
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from . import _bulk_rules as rules
from . import _validation as v
from ._bulk_journal import CREATED, JournalWriter, ResumeState
from ._bulk_records import AttemptRecord, CreatedRecord, FailedRecord, JobRecord, OrphanRecord
from ._bulk_rowkeys import row_key, row_marker
from ._clock import LoopWallClock
from ._retry import RetryPolicy
from .errors import BulkInviteError, DecodeError, ZenHireError
from .events import BulkOutcome
from .models import (
    BulkFailure,
    BulkInviteReport,
    BulkProgress,
    Candidate,
    ConsentModeName,
    SessionInvite,
    SessionSummary,
)

__all__ = ["BulkSessions", "CandidateInput", "OnProgress", "OnRow", "bulk_invite"]


class BulkSessions(Protocol):
    """What a bulk invite needs of the sessions resource: create one session, and list a
    persona's sessions by metadata (the marker of a row) to reconcile it.

    ``client.sessions`` satisfies it as it is; the inviter never sees the resource's
    transport or private parts.
    """

    async def create(
        self,
        persona_id: str,
        *,
        consent_mode: ConsentModeName,
        candidate_ref: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, v.MetadataValue] | None = None,
    ) -> SessionInvite:
        """Create one session and return its candidate link."""
        ...

    def iter(
        self,
        *,
        persona_id: str | None = None,
        metadata: Mapping[str, v.MetadataValue] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[SessionSummary]:
        """Every session matching the filters, across all pages."""
        ...


CandidateInput: TypeAlias = Candidate | Mapping[str, object]
"""One input row: a :class:`Candidate` or a mapping with ``candidate_ref``, ``tags``,
``metadata``."""

OnProgress = Callable[[BulkProgress], Awaitable[None] | None]
"""Called (sync or async) with the counts at least once a second and once at the end."""

OnRow = Callable[[str, BulkOutcome], None]
"""Called with the job id and the outcome of every row that finishes (the event hooks)."""

MAX_ROUNDS = 5
"""Create attempts per row before it is recorded as failed (each after a reconcile)."""
MAX_CONCURRENCY = 100
PROGRESS_INTERVAL = 1.0
_SEEN = 1  # row-table flag: the row appeared in this run's input


@dataclass(frozen=True, slots=True)
class _Row:
    index: int
    key: bytes
    fields: rules.RowFields
    reconcile: bool


class _BulkJob:
    """One run of a bulk invite over an open journal."""

    def __init__(
        self,
        sessions: BulkSessions,
        clock: LoopWallClock,
        persona_id: str,
        consent_mode: ConsentModeName,
        journal: JournalWriter,
        state: ResumeState,
        concurrency: int,
        on_progress: OnProgress | None,
        on_row: OnRow | None,
        total: int | None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._persona_id = persona_id
        self._consent_mode = consent_mode
        self._journal = journal
        self._state = state
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._on_row = on_row
        self._total = total
        self._retry = RetryPolicy()
        self._stop = anyio.Event()
        self._fatal: ZenHireError | None = None
        self._disk: OSError | None = None  # a journal write failed (full disk): stop
        self._created = 0
        self._skipped = 0
        self._failed: list[BulkFailure] = []
        self._orphans: list[str] = []
        self._in_flight = 0
        # Rows that met an ambiguous failure and then got a link: (ref, key, session id).
        self._suspects: list[tuple[str, bytes, str]] = []

    # -- the run --------------------------------------------------------------------------

    async def run(
        self, candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput]
    ) -> BulkInviteReport:
        started = anyio.current_time()
        try:
            async with anyio.create_task_group() as outer:
                await outer.start(self._journal.run)  # group commit: rows share fsyncs
                outer.start_soon(self._tick)
                # Made after the await above, so a cancellation there leaves no stream open.
                send, receive = anyio.create_memory_object_stream[_Row](self._concurrency)
                async with anyio.create_task_group() as workers:
                    for _ in range(self._concurrency):
                        workers.start_soon(self._work, receive.clone())
                    receive.close()
                    async with send:
                        await self._journaling(self._feed(candidates, send))
                if not self._stop.is_set():
                    await self._journaling(self._sweep())
                outer.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            failure = self._journal.failure  # ENOSPC…: raised as itself, not as a group
            if failure is None or group.split(lambda e: e is failure)[1] is not None:
                raise
            raise failure from None
        await self._notify()
        report = BulkInviteReport(
            job_id=self._state.job_id,
            created=self._created,
            skipped=self._skipped,
            failed=self._failed,
            orphans=self._orphans,
            elapsed=anyio.current_time() - started,
        )
        if self._disk is not None:
            raise BulkInviteError(
                f"bulk invite stopped: the journal could not be written ({self._disk}); "
                f"{report.created} created, {len(report.failed)} failed in this run. Every "
                "record before the failure is whole: free space and run again with the same "
                "journal to go on",
                report=report,
            ) from self._disk
        if self._fatal is not None:
            raise BulkInviteError(
                f"bulk invite stopped: {self._fatal}; {report.created} created, "
                f"{len(report.failed)} failed in this run. The journal is complete: fix the "
                "cause and run again with the same journal to go on",
                report=report,
            ) from self._fatal
        return report

    async def _feed(
        self,
        candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput],
        send: ObjectSendStream[_Row],
    ) -> None:
        index = 0
        async with aclosing(_aiterate(candidates)) as items:
            async for item in items:
                if self._stop.is_set():
                    return
                row = await self._admit(index, item)
                if row is not None:
                    await send.send(row)
                elif index % 256 == 255:
                    await anyio.lowlevel.checkpoint()  # skipped rows never wait on anything
                index += 1

    async def _admit(self, index: int, item: object) -> _Row | None:
        """Check one input row; return it when it should be invited."""
        ref: str | None = None
        try:
            ref = rules.candidate_ref_of(item)
            key = row_key(ref)
            before = self._state.rows.add_flags(key, _SEEN)
            if before & _SEEN:
                await self._fail(ref, "DUPLICATE_REF", "candidate_ref appeared earlier", index)
                return None
            if before & CREATED:
                self._skipped += 1
                self._finished("skipped")
                return None
            fields = rules.read_row(item, ref, rules.marker(self._state.job_id, row_marker(key)))
        except (TypeError, ValueError) as exc:
            await self._fail(ref, "INVALID_ROW", str(exc), index)
            return None
        return _Row(index, key, fields, reconcile=key in self._state.pending)

    async def _work(self, receive: ObjectReceiveStream[_Row]) -> None:
        async with receive:
            async for row in receive:
                if self._stop.is_set():
                    continue  # not started: a re-run will pick it up
                self._in_flight += 1
                try:
                    await self._journaling(self._invite(row))
                finally:
                    self._in_flight -= 1

    # -- one row --------------------------------------------------------------------------

    async def _invite(self, row: _Row) -> None:
        fields = row.fields
        delays = self._retry.delays()
        reconcile, ambiguous = row.reconcile, row.reconcile
        last: ZenHireError | None = None
        for attempt in range(MAX_ROUNDS):
            if attempt:
                if self._stop.is_set():
                    break
                await anyio.sleep(next(delays))
            try:
                if reconcile:
                    await self._reconcile(fields.candidate_ref, row.key, holding=None)
                    reconcile = False
                await self._journal.append(
                    AttemptRecord(candidate_ref=fields.candidate_ref, at=self._clock.now())
                )
                invite = await self._sessions.create(
                    self._persona_id,
                    consent_mode=self._consent_mode,
                    candidate_ref=fields.candidate_ref,
                    tags=fields.tags,
                    metadata=fields.metadata,
                )
            except ZenHireError as error:
                last = error
                verdict = rules.judge(error)
                if verdict is rules.Verdict.FATAL:
                    self._halt(error)
                    break
                if verdict is rules.Verdict.REJECTED:
                    break
                if verdict is rules.Verdict.UNREADABLE:
                    # Retrying would make one more session per round: report, then fail.
                    reconcile = False
                    await self._settle(fields.candidate_ref, row.key, error)
                    break
                if verdict is rules.Verdict.AMBIGUOUS:
                    reconcile = ambiguous = True
                continue
            await self._journal.append(
                CreatedRecord(
                    candidate_ref=fields.candidate_ref,
                    session_id=invite.id,
                    candidate_link=invite.candidate_link,
                    expires_at=invite.expires_at,
                    at=self._clock.now(),
                )
            )
            self._created += 1
            self._finished("created")
            if ambiguous:
                self._suspects.append((fields.candidate_ref, row.key, invite.id))
            return
        assert last is not None
        if reconcile and not self._stop.is_set():
            # The last round was ambiguous: its session, if any, is reported in this run.
            await self._settle(fields.candidate_ref, row.key, None)
        await self._fail(fields.candidate_ref, rules.failure_code(last), str(last), row.index)

    async def _settle(self, ref: str, key: bytes, error: ZenHireError | None) -> None:
        """Report the sessions of a row that ends without a link: the one ``error`` names
        (an unreadable create answer that gave its id), else every one found by marker.
        Best effort: a failing list leaves the row's attempt for a re-run to reconcile."""
        named = error.session_id if isinstance(error, DecodeError) else None
        if named is not None:
            if named not in self._state.orphans:
                self._state.orphans.add(named)
                await self._journal.append(
                    OrphanRecord(candidate_ref=ref, session_id=named, at=self._clock.now())
                )
                self._orphans.append(named)
            return
        try:
            await self._reconcile(ref, key, holding=None)
        except ZenHireError as failure:
            if rules.judge(failure) is rules.Verdict.FATAL:
                self._halt(failure)

    async def _reconcile(self, ref: str, key: bytes, *, holding: str | None) -> None:
        """Journal as orphans the row's sessions other than ``holding`` not yet known."""
        found = self._sessions.iter(
            persona_id=self._persona_id,
            metadata=rules.marker(self._state.job_id, row_marker(key)),
            page_size=100,
        )
        async for session in found:
            if session.id == holding or session.id in self._state.orphans:
                continue
            self._state.orphans.add(session.id)
            await self._journal.append(
                OrphanRecord(candidate_ref=ref, session_id=session.id, at=self._clock.now())
            )
            self._orphans.append(session.id)

    async def _sweep(self) -> None:
        """Look once more at rows that met an ambiguous failure: a create the server carried
        out after we reconciled shows up now. Best effort: a failing list is skipped."""
        for ref, key, session_id in self._suspects:
            try:
                await self._reconcile(ref, key, holding=session_id)
            except ZenHireError as error:
                if rules.judge(error) is rules.Verdict.FATAL:
                    self._halt(error)
                    return

    async def _fail(self, ref: str | None, code: str, message: str, index: int) -> None:
        await self._journal.append(
            FailedRecord(
                candidate_ref=ref, code=code, message=message, index=index, at=self._clock.now()
            )
        )
        self._failed.append(BulkFailure(candidate_ref=ref, code=code, message=message, index=index))
        self._finished("failed")

    def _finished(self, outcome: BulkOutcome) -> None:
        if self._on_row is not None:
            self._on_row(self._state.job_id, outcome)

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
            self._stop.set()

    def _halt(self, error: ZenHireError) -> None:
        if self._fatal is None:
            self._fatal = error
        self._stop.set()

    # -- progress -------------------------------------------------------------------------

    def progress(self) -> BulkProgress:
        """The counts so far."""
        failed = len(self._failed)
        return BulkProgress(
            done=self._created + self._skipped + failed,
            created=self._created,
            skipped=self._skipped,
            failed=failed,
            orphans=len(self._orphans),
            in_flight=self._in_flight,
            total=self._total,
        )

    async def _notify(self) -> None:
        if self._on_progress is not None:
            result = self._on_progress(self.progress())
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
) -> BulkInviteReport:
    """Invite every candidate once, journaling each link; see the module docstring."""
    v.require_id("persona_id", persona_id)
    v.check_consent_mode(consent_mode)
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
        job = _BulkJob(
            sessions,
            clock,
            persona_id,
            consent_mode,
            writer,
            state,
            concurrency,
            on_progress,
            on_row,
            total,
        )
        return await job.run(candidates)
    finally:
        writer.close()
