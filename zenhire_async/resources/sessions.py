"""``client.sessions``: mint candidate links, read sessions, wait for them, fetch results."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from .. import _protocol as proto
from .._bulk_job import CandidateInput, bulk_invite
from .._bulk_job import OnProgress as OnBulkProgress
from .._clock import LoopWallClock
from .._coordination import RowClaims, WatchChannel
from .._events_dispatch import EventDispatcher, observed, observed_context
from .._http import StreamedBody, Transport
from .._ids import same_id
from .._poll_book import WatchState
from .._poll_budget import PollBudget
from .._poll_policy import OnStatus
from .._poll_service import Waiting
from .._poll_watch import SessionWatch
from .._recording import DEFAULT_CHUNK_SIZE, write_atomically
from .._recording import OnProgress as OnDownloadProgress
from .._validation import MetadataValue
from ..errors import DecodeError
from ..models import (
    BulkInviteReport,
    ConsentModeName,
    Page,
    SessionDetail,
    SessionInvite,
    SessionStatusName,
    SessionSummary,
    Transcript,
)
from ..pagination import iterate_pages

__all__ = ["Sessions"]


class Sessions:
    """Interview sessions: one per candidate, each with its own candidate link."""

    def __init__(
        self,
        transport: Transport,
        clock: LoopWallClock,
        budget: PollBudget,
        *,
        home: Sessions | None = None,
        claims: Callable[[str], RowClaims] | None = None,
        channel: WatchChannel | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._claims = claims  # persona id -> its row claims, with a coordinator
        self._batch: Sessions | None = None
        # A derived client's (``with_options``) waits share its home's state: link
        # expiries, the jitter source and the watcher of every await_completion.
        reader = _Reader(self)
        self._waiting: Waiting = (
            Waiting(reader, budget, clock, channel=channel)
            if home is None
            else home._waiting.derive(reader)
        )

    def _derive(self, transport: Transport) -> Sessions:
        """These sessions over another transport, sharing link expiries and the watcher."""
        return Sessions(
            transport, self._clock, self._waiting.budget, home=self, claims=self._claims
        )

    def _as_batch(self) -> Sessions:
        """These sessions with every request paced as ``"batch"``, whatever the client's
        priority: what bulk invites and the watcher's sweeps send through (the one place
        that rule lives). The same options otherwise; built once, on first use."""
        if self._transport.priority == "batch":
            return self
        if self._batch is None:
            self._batch = self._derive(self._transport.derive(priority="batch"))
        return self._batch

    # -- creating -------------------------------------------------------------------------

    @observed("sessions.create")
    async def create(
        self,
        persona_id: str,
        *,
        consent_mode: ConsentModeName,
        candidate_ref: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
    ) -> SessionInvite:
        """Start a session for one candidate and return its candidate link.

        The link is returned only here, once: store it. Every documented limit is checked
        first (``ValueError``). A failure after the request was sent is raised, not retried:
        the session may exist (``bulk_invite`` reconciles such cases for you).
        """
        spec = proto.create_session(
            persona_id,
            consent_mode=consent_mode,
            candidate_ref=candidate_ref,
            tags=tags,
            metadata=metadata,
        )
        response = await self._transport.send(spec)
        invite = proto.decode_invite(response.body, self._clock.now())
        self._waiting.remember_link(invite.id, invite.expires_at)
        return invite

    @observed("sessions.bulk_invite")
    async def bulk_invite(
        self,
        persona_id: str,
        candidates: Iterable[CandidateInput] | AsyncIterable[CandidateInput],
        *,
        consent_mode: ConsentModeName,
        journal: str | os.PathLike[str],
        concurrency: int = 8,
        on_progress: OnBulkProgress | None = None,
        journal_source: Mapping[str, str] | None = None,
        shard: tuple[int, int] | None = None,
        skip_existing: bool = True,
    ) -> BulkInviteReport:
        """Give every candidate exactly one link, recorded in ``journal``; safe to re-run.

        ``candidates`` is an iterable or async iterable of :class:`~zenhire_async.Candidate`
        or mappings with ``candidate_ref`` (required, the row's identity), ``tags``,
        ``metadata``; it is streamed, never loaded whole. ``journal`` is an append-only JSON
        lines file (mode 0600) that receives every link before the row counts as done; run
        again with the same file after a crash or a fatal error and rows with a link are
        skipped, the rest retried. Each session carries the metadata marker ``zh_job`` /
        ``zh_row`` (counted against the metadata limits) by which sessions created without
        their answer reaching us are found and reported as ``orphans``.

        Invalid rows and duplicate refs are reported in ``failed``, not fatal. A 401, 403,
        402 or 404 (no such persona) stops the job: rows in flight finish, and
        :class:`~zenhire_async.BulkInviteError` carries the partial report. ``on_progress``
        (sync or async) gets :class:`~zenhire_async.BulkProgress` at least once a second.
        ``journal_source`` (strings) is recorded in a new journal's job record
        (``JobRecord.source``) to tell its input on resume; it is not compared here.

        Many jobs and workers: ``shard=(index, count)`` invites only the rows whose
        ``int.from_bytes(sha256(candidate_ref.encode()).digest()[:8], "big") % count`` is
        ``index`` (the others are counted in ``report.other_shard``); each worker has its
        own journal. ``skip_existing=True`` (the default) first lists the persona's
        sessions once (about one request per 100): a candidate with a session that is
        neither failed nor expired, made by any other job or process, is not invited again
        and is listed in ``report.existing``. With ``coordinator=`` each row is also claimed
        before its create, so two jobs running at once never both invite one candidate.
        """
        self._transport.check_usable()  # before the journal is opened or written
        events = self._transport.events
        return await bulk_invite(
            self._as_batch(),
            self._clock,
            persona_id,
            candidates,
            consent_mode=consent_mode,
            journal=journal,
            concurrency=concurrency,
            on_progress=on_progress,
            journal_source=journal_source,
            on_row=None if events is None else events.bulk_row,
            shard=shard,
            skip_existing=skip_existing,
            claims_for=self._claims,
            link_expiry=self._waiting.link_expiry,
        )

    # -- reading --------------------------------------------------------------------------

    @observed("sessions.get")
    async def get(self, session_id: str) -> SessionDetail:
        """Fetch one session, with its persona and feedback.

        An answer naming another session is a :class:`~zenhire_async.DecodeError` (UUIDs
        compare case-insensitively).
        """
        response = await self._transport.send(proto.get_session(session_id))
        detail = proto.decode(proto.SESSION_DETAIL, response.body, "session")
        if not same_id(detail.id, session_id):
            raise DecodeError(
                f"asked for session {session_id!r}, the answer names {detail.id[:64]!r}"
            )
        return detail

    @observed("sessions.list")
    async def _page(
        self, filters: proto.SessionFilters, limit: int, offset: int, cursor: str | None
    ) -> proto.PageResult[SessionSummary]:
        spec = proto.list_sessions(filters, limit=limit, offset=offset, cursor=cursor)
        response = await self._transport.send(spec)
        return proto.decode_page(proto.SESSION_PAGE, response.body, "session list")

    async def list(
        self,
        *,
        status: SessionStatusName | None = None,
        persona_id: str | None = None,
        candidate_ref: str | None = None,
        project_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[SessionSummary]:
        """One page of sessions, newest first. A row must match every filter given."""
        filters = proto.SessionFilters.build(
            status=status,
            persona_id=persona_id,
            candidate_ref=candidate_ref,
            project_id=project_id,
            tags=tags,
            metadata=metadata,
            created_after=created_after,
            created_before=created_before,
        )
        return (await self._page(filters, limit, offset, cursor)).page

    def iter(
        self,
        *,
        status: SessionStatusName | None = None,
        persona_id: str | None = None,
        candidate_ref: str | None = None,
        project_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[SessionSummary]:
        """Every matching session across all pages, each exactly once.

        Filters are checked here, before the first request.
        """
        filters = proto.SessionFilters.build(
            status=status,
            persona_id=persona_id,
            candidate_ref=candidate_ref,
            project_id=project_id,
            tags=tags,
            metadata=metadata,
            created_after=created_after,
            created_before=created_before,
        )
        proto.list_sessions(filters, limit=page_size)  # validates page_size now

        async def fetch(offset: int, cursor: str | None) -> proto.PageResult[SessionSummary]:
            return await self._page(filters, page_size, offset, cursor)

        return iterate_pages(fetch, page_size=page_size)

    # -- waiting --------------------------------------------------------------------------

    @observed("sessions.await_completion")
    async def await_completion(
        self,
        session_id: str,
        *,
        timeout: float | None = None,
        on_status: OnStatus | None = None,
    ) -> SessionDetail:
        """Wait until the session is ``completed`` or ``failed`` and return it.

        A failed interview is a normal outcome, not an exception. Raises
        :class:`~zenhire_async.WaitTimeout` after ``timeout`` seconds and
        :class:`~zenhire_async.LinkExpiredError` when the session is still ``initiated`` after
        its link expired. ``on_status`` (sync or async) sees every status change, the first
        observation included. Concurrent waits on one client share one batched watcher, so
        a thousand of them cost what one :meth:`watch` of a thousand ids costs.
        """
        return await self._waiting.await_completion(
            session_id, timeout=timeout, on_status=on_status
        )

    def watch(
        self, session_ids: Iterable[str] | WatchState, *, timeout: float | None = None
    ) -> SessionWatch:
        """Iterate over status changes of many sessions, polling in batches.

        ``async for row in zh.sessions.watch(ids): ...`` yields a :class:`SessionSummary` on
        the first observation of each session and on every later status change, and ends
        when all are terminal or expired (``.expired`` names the latter). Polling uses list
        pages over the sessions' creation window when that is cheaper than one GET each,
        and never more than the client's ``polling_share`` of the request rate. Pass a
        saved ``WatchState`` (from ``.state()``) to resume in a new process.
        """
        return self._waiting.watch(session_ids, timeout=timeout)

    def _close(self) -> None:
        self._waiting.close()

    # -- results --------------------------------------------------------------------------

    @observed("sessions.transcript")
    async def transcript(self, session_id: str) -> Transcript:
        """The transcript of a completed session (``ArtifactNotReadyError`` before that)."""
        response = await self._transport.send(proto.session_artifact(session_id, "transcript"))
        raw = proto.decode(proto.JSON_ANY, response.body, "transcript")
        return proto.transcript_from_json(raw)

    @observed_context("sessions.stream_recording")
    @asynccontextmanager
    async def stream_recording(
        self, session_id: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The recording (``audio/wav``) as an async iterator of byte chunks.

        Use as ``async with zh.sessions.stream_recording(id) as chunks: async for c in
        chunks: ...``. The connection is held until the block exits.
        """
        spec = proto.session_artifact(session_id, "recording")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size!r}")
        async with self._transport.stream(spec) as body:
            yield body.iter_chunks(chunk_size)

    @observed("sessions.download_recording")
    async def download_recording(
        self,
        session_id: str,
        path: str | os.PathLike[str],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: OnDownloadProgress | None = None,
    ) -> int:
        """Stream the recording to ``path`` atomically and return the number of bytes.

        The file appears complete or not at all (a temporary file is renamed on success);
        it is created with mode 0600, recordings being personal data. A download that
        breaks off, or ends short of its ``Content-Length``, is never kept: it is retried
        from the start like any failed GET (up to ``max_retries``), then raised as
        :class:`~zenhire_async.APIConnectionError`. ``on_progress`` is called after each
        chunk with ``(bytes so far, total)`` — ``total`` from the response's
        ``Content-Length``, ``None`` when the server did not send one; after a retry the
        count starts again from zero.
        """
        target = Path(path)
        self._transport.check_usable()
        if await asyncio.to_thread(os.path.isdir, target):
            raise IsADirectoryError(f"{target} is a directory; give a file path")
        spec = proto.session_artifact(session_id, "recording")

        async def save(body: StreamedBody) -> int:
            return await write_atomically(
                body.iter_chunks(chunk_size), target, body.content_length, on_progress
            )

        return await self._transport.fetch_streamed(spec, save)


class _Reader:
    """The sessions as waiting reads them (a :class:`~zenhire_async._poll_sweep.SessionReader`)."""

    __slots__ = ("_sessions",)

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @property
    def events(self) -> EventDispatcher | None:
        """The client's event dispatcher (``None`` when no hook listens)."""
        return self._sessions._transport.events

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when the client is closed or belongs to another loop."""
        self._sessions._transport.check_usable()

    async def get(self, session_id: str) -> SessionDetail:
        """``sessions.get``, observed like a caller's, paced as batch."""
        return await self._sessions._as_batch().get(session_id)

    async def page(
        self, filters: proto.SessionFilters, limit: int, offset: int, cursor: str | None
    ) -> proto.PageResult[SessionSummary]:
        """One page of ``sessions.list``, observed like a caller's, paced as batch."""
        return await self._sessions._as_batch()._page(filters, limit, offset, cursor)
