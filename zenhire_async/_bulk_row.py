"""One row of a bulk invite: the create-or-reconcile state machine, and the job's ledger.

:class:`RowInviter` takes a row the job admitted and gives it a link or a failure. Each round
journals an ``attempt``, then creates the session; a failure is judged by
:func:`._bulk_rules.judge`: *fatal* stops the job, *rejected* fails the row, *refused* tries
again, *ambiguous* first reconciles (lists the row's sessions by marker and journals each as
an orphan), *unreadable* settles the row's session as an orphan and fails the row, since a
retry would make one more. The pause between rounds comes from
:meth:`._retry.RetryPolicy.delays`. Rows that met an ambiguous failure and then got a link
are looked at once more by :meth:`RowInviter.sweep` when the job ends.

With a coordinator, the row is first claimed (``_coordination.RowClaims``): a row another
job holds is reported as *existing* and not created; after the create the claim names the
session, or is released when the row got none.

:class:`Ledger` is what every row's end is written to: the journal (a ``failed``, ``created``
or ``orphan`` record), the counts and lists the report returns, the row event, and the stop
flag a fatal error sets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio

from . import _bulk_rules as rules
from . import _validation as v
from ._bulk_journal import JournalWriter, ResumeState
from ._bulk_records import AttemptRecord, CreatedRecord, FailedRecord, OrphanRecord
from ._bulk_rowkeys import row_marker
from ._clock import LoopWallClock
from ._coordination import RowClaims
from ._retry import RetryPolicy
from .errors import DecodeError, ZenHireError
from .events import BulkOutcome
from .models import BulkFailure, BulkProgress, ConsentModeName, SessionInvite, SessionSummary

__all__ = ["MAX_ROUNDS", "BulkSessions", "Ledger", "OnRow", "Row", "RowInviter"]

MAX_ROUNDS = 5
"""Create attempts per row before it is recorded as failed (each after a reconcile)."""

OnRow = Callable[[str, BulkOutcome], None]
"""Called with the job id and the outcome of every row that finishes (the event hooks)."""


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


@dataclass(frozen=True, slots=True)
class Row:
    """An admitted input row: its position, row key, checked fields, and whether a
    previous run left an unanswered attempt for it (reconcile before creating)."""

    index: int
    key: bytes
    fields: rules.RowFields
    reconcile: bool


class Ledger:
    """The outcomes of a job's rows: journaled, counted for the report, and announced."""

    def __init__(
        self,
        journal: JournalWriter,
        state: ResumeState,
        clock: LoopWallClock,
        on_row: OnRow | None,
    ) -> None:
        self.journal = journal
        self.state = state
        self.clock = clock
        self._on_row = on_row
        self.stop = anyio.Event()
        """Set by a fatal error or a failed journal write: start no more rows."""
        self.fatal: ZenHireError | None = None
        self.created = 0
        self.skipped = 0
        self.failed: list[BulkFailure] = []
        self.orphans: list[str] = []
        self.existing: list[tuple[str, str | None]] = []
        self.other_shard = 0
        self.in_flight = 0

    def finished(self, outcome: BulkOutcome) -> None:
        """Announce that a row finished with ``outcome``."""
        if self._on_row is not None:
            self._on_row(self.state.job_id, outcome)

    async def fail(self, ref: str | None, code: str, message: str, index: int) -> None:
        """Journal and report a failed row."""
        await self.journal.append(
            FailedRecord(
                candidate_ref=ref, code=code, message=message, index=index, at=self.clock.now()
            )
        )
        self.failed.append(BulkFailure(candidate_ref=ref, code=code, message=message, index=index))
        self.finished("failed")

    def exists(self, ref: str, session_id: str | None) -> None:
        """Report a row not invited: its candidate has a session (or another job's claim)."""
        self.existing.append((ref, session_id))
        self.finished("existing")

    async def orphan(self, ref: str, session_id: str) -> None:
        """Journal and report ``session_id`` as an orphan of the row, unless it is known."""
        if session_id in self.state.orphans:
            return
        self.state.orphans.add(session_id)
        await self.journal.append(
            OrphanRecord(candidate_ref=ref, session_id=session_id, at=self.clock.now())
        )
        self.orphans.append(session_id)

    def halt(self, error: ZenHireError) -> None:
        """Stop the job for ``error`` (the first fatal error is the one reported)."""
        if self.fatal is None:
            self.fatal = error
        self.stop.set()

    def progress(self, total: int | None) -> BulkProgress:
        """The counts so far."""
        failed, existing = len(self.failed), len(self.existing)
        return BulkProgress(
            done=self.created + self.skipped + failed + existing + self.other_shard,
            created=self.created,
            skipped=self.skipped,
            failed=failed,
            orphans=len(self.orphans),
            in_flight=self.in_flight,
            total=total,
            existing=existing,
            other_shard=self.other_shard,
        )


class RowInviter:
    """Gives each admitted row of one job a journaled link, or a failure."""

    def __init__(
        self,
        sessions: BulkSessions,
        ledger: Ledger,
        persona_id: str,
        consent_mode: ConsentModeName,
        claims: RowClaims | None = None,
    ) -> None:
        self._sessions = sessions
        self._claims = claims
        self._ledger = ledger
        self._persona_id = persona_id
        self._consent_mode = consent_mode
        self._retry = RetryPolicy()
        # Rows that met an ambiguous failure and then got a link: (ref, key, session id).
        self._suspects: list[tuple[str, bytes, str]] = []

    @property
    def persona_id(self) -> str:
        """The persona every row is invited to."""
        return self._persona_id

    async def invite(self, row: Row) -> None:
        """Claim the row (with a coordinator), then create its session, reconciling first
        when told, up to ``MAX_ROUNDS``; the claim then names the session or is released."""
        ledger, claims = self._ledger, self._claims
        if claims is None:
            await self._create(row)
            return
        job_id = ledger.state.job_id
        claim = await claims.claim(row.key, job_id)
        if not claim.granted:  # another job running now has it, or has made its session
            ledger.exists(row.fields.candidate_ref, claim.session_id)
            return
        session_id = await self._create(row)
        await claims.settle(row.key, job_id, session_id)

    async def _create(self, row: Row) -> str | None:
        """The row's rounds of create; the id of the session whose link is journaled."""
        ledger, fields = self._ledger, row.fields
        delays = self._retry.delays()
        reconcile, ambiguous = row.reconcile, row.reconcile
        last: ZenHireError | None = None
        for attempt in range(MAX_ROUNDS):
            if attempt:
                if ledger.stop.is_set():
                    break
                await anyio.sleep(next(delays))
            try:
                if reconcile:
                    await self._reconcile(fields.candidate_ref, row.key, holding=None)
                    reconcile = False
                await ledger.journal.append(
                    AttemptRecord(candidate_ref=fields.candidate_ref, at=ledger.clock.now())
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
                    ledger.halt(error)
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
            await ledger.journal.append(
                CreatedRecord(
                    candidate_ref=fields.candidate_ref,
                    session_id=invite.id,
                    candidate_link=invite.candidate_link,
                    expires_at=invite.expires_at,
                    at=ledger.clock.now(),
                )
            )
            ledger.created += 1
            ledger.finished("created")
            if ambiguous:
                self._suspects.append((fields.candidate_ref, row.key, invite.id))
            return invite.id
        assert last is not None
        if reconcile and not ledger.stop.is_set():
            # The last round was ambiguous: its session, if any, is reported in this run.
            await self._settle(fields.candidate_ref, row.key, None)
        await ledger.fail(fields.candidate_ref, rules.failure_code(last), str(last), row.index)
        return None

    async def _settle(self, ref: str, key: bytes, error: ZenHireError | None) -> None:
        """Report the sessions of a row that ends without a link: the one ``error`` names
        (an unreadable create answer that gave its id), else every one found by marker.
        Best effort: a failing list leaves the row's attempt for a re-run to reconcile."""
        named = error.session_id if isinstance(error, DecodeError) else None
        if named is not None:
            await self._ledger.orphan(ref, named)
            return
        try:
            await self._reconcile(ref, key, holding=None)
        except ZenHireError as failure:
            if rules.judge(failure) is rules.Verdict.FATAL:
                self._ledger.halt(failure)

    async def _reconcile(self, ref: str, key: bytes, *, holding: str | None) -> None:
        """Journal as orphans the row's sessions other than ``holding`` not yet known."""
        found = self._sessions.iter(
            persona_id=self._persona_id,
            metadata=rules.marker(self._ledger.state.job_id, row_marker(key)),
            page_size=100,
        )
        async for session in found:
            if session.id != holding:
                await self._ledger.orphan(ref, session.id)

    async def sweep(self) -> None:
        """Look once more at rows that met an ambiguous failure: a create the server carried
        out after we reconciled shows up now. Best effort: a failing list is skipped."""
        for ref, key, session_id in self._suspects:
            try:
                await self._reconcile(ref, key, holding=session_id)
            except ZenHireError as error:
                if rules.judge(error) is rules.Verdict.FATAL:
                    self._ledger.halt(error)
                    return
