"""``zenhire invite``: one candidate link per CSV row, journaled, resumable, with progress.

The CSV (its delimiter sniffed, see ``_candidates``) is streamed (read in batches off the
event loop, never whole) into ``sessions.bulk_invite``, which journals every link before a
row counts as done. A new journal records the CSV's identity (``_identity``); a journal of
another persona is refused, one of another input too unless ``--journal-reuse``. A new job
first checks that its persona exists, so a typo leaves no journal behind. The first Ctrl-C
stops reading the CSV: rows already handed over finish and are journaled, then the command
says how to resume (the same command again) and exits 130. A second Ctrl-C cancels at
once; rows in flight then have only their ``attempt`` record, which the next run
reconciles. Candidates that already have a session for the persona (from another job or
process) are not invited again and are listed at the end; ``--shard I/N`` makes the run one
of N workers over the same CSV. At the end, the links of this CSV's rows (this run and
earlier ones) are written to the links CSV, mode 0600, in the CSV's order.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import anyio

from .. import (
    BulkInviteError,
    BulkInviteReport,
    BulkProgress,
    ConsentMode,
    JobRecord,
    JournalInUseError,
    NotFoundError,
    PermissionDeniedError,
    ZenHireClient,
    read_journal,
)
from ._candidates import (
    CandidatesCsv,
    candidate_row,
    delimiter_arg,
    delimiter_name,
    iter_records,
    open_csv,
    read_layout,
)
from ._errors import EXIT_INCOMPLETE, CommandError, UsageError, describe
from ._events import add_events_option
from ._identity import identify, mismatch
from ._invite_report import (
    DEFAULT_CONCURRENCY,
    fatal_failure,
    interrupted,
    show_existing,
    show_failures,
    summary,
)
from ._links import links_command, read_links, write_links
from ._options import id_arg, positive_int, shard_arg
from ._output import CountProgress, Output
from ._pace import clock

__all__ = ["default_journal", "default_links", "register"]

_CONSENT_MODES = tuple(mode.value for mode in ConsentMode)
_BATCH = 512


def default_journal(csv_path: Path) -> Path:
    """``candidates.csv`` → ``candidates.journal.jsonl`` beside it."""
    return csv_path.with_name(f"{csv_path.stem}.journal.jsonl")


def default_links(csv_path: Path) -> Path:
    """``candidates.csv`` → ``candidates.links.csv`` beside it."""
    return csv_path.with_name(f"{csv_path.stem}.links.csv")


class _CsvRows:
    """The CSV's records as bulk-invite rows, read in batches by the loop's executor."""

    def __init__(self, layout: CandidatesCsv) -> None:
        self._layout = layout
        self._file: TextIO = open_csv(layout.path)
        self._records = iter_records(layout, self._file)

    def take(self) -> list[dict[str, object]]:
        batch: list[dict[str, object]] = []
        for record in self._records:
            batch.append(candidate_row(self._layout.as_mapping(record)))
            if len(batch) == _BATCH:
                break
        return batch

    def close(self) -> None:
        self._file.close()


class _Feed:
    """The async iterator of rows given to ``bulk_invite``; stops early when asked."""

    def __init__(self, layout: CandidatesCsv) -> None:
        self._layout = layout
        self.stop = anyio.Event()
        self.exhausted = False

    async def rows(self) -> AsyncIterator[dict[str, object]]:
        loop = asyncio.get_running_loop()
        source = await loop.run_in_executor(None, _CsvRows, self._layout)
        try:
            while not self.stop.is_set():
                batch = await loop.run_in_executor(None, source.take)
                if not batch:
                    self.exhausted = True
                    return
                for row in batch:
                    if self.stop.is_set():
                        return
                    yield row
        finally:
            source.close()


class _Meter:
    """Turns ``BulkProgress`` into the bar's detail: rate, ETA and the counts."""

    def __init__(self, bar: CountProgress, total: int) -> None:
        self._bar = bar
        self._total = total
        self._started = time.monotonic()

    def __call__(self, p: BulkProgress) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = (p.created + p.failed) / elapsed  # skipped rows cost nothing: not in the rate
        remaining = max(self._total - p.done, 0)
        eta = "-" if rate <= 0 or not remaining else clock(remaining / rate)
        detail = (
            f"{rate:.1f}/s  ETA {eta}  created {p.created}  failed {p.failed}  "
            f"orphans {p.orphans}"
            + (f"  skipped {p.skipped}" if p.skipped else "")
            + (f"  existing {p.existing}" if p.existing else "")
            + (f"  other shards {p.other_shard}" if p.other_shard else "")
        )
        self._bar.update(p.done, self._total, detail)


async def _on_signals(feed: _Feed, hard_stop: anyio.CancelScope, bar: CountProgress) -> None:
    """First Ctrl-C: stop reading, let rows in flight finish. Second: cancel at once."""
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            if not feed.stop.is_set():
                feed.stop.set()
                bar.note("Stopping: finishing the rows in flight (Ctrl-C again to stop now)…")
            else:
                hard_stop.cancel()
                return


def _first_record(journal: Path) -> JobRecord | None:
    """The journal's job record; ``None`` for a journal still to be made (absent or empty)."""
    if not journal.exists():
        return None
    for record in read_journal(journal):
        if isinstance(record, JobRecord):
            return record
        raise UsageError(f"{journal} is not a bulk-invite journal (no job record first)")
    return None


async def _check_job(job: JobRecord, args: argparse.Namespace, journal: Path, out: Output) -> None:
    """Refuse a journal of another persona, or (unless ``--journal-reuse``) another input."""
    if job.persona_id != args.persona:
        raise UsageError(
            f"{journal} is the journal of a job for persona {job.persona_id}, not "
            f"{args.persona}: for a new job, give a new --journal file (or --persona "
            f"{job.persona_id} to go on with that one)"
        )
    csv_path = Path(args.csv)
    if job.source is None:
        out.note(f"{journal} records no input (an older journal): not checked against {csv_path}")
        return
    loop = asyncio.get_running_loop()
    reason = await loop.run_in_executor(None, mismatch, job.source, csv_path)
    if reason is None:
        return
    if not args.journal_reuse:
        raise UsageError(
            f"{journal} is the journal of another input: {reason}. Its rows with a link would "
            f"be skipped here, and rows of {csv_path} added to its job. Give a new --journal "
            "file for a new job, or add --journal-reuse if this CSV is meant to go on with "
            "that job"
        )
    out.note(f"Reusing {journal} (--journal-reuse): {reason}")


async def _check_persona(zh: ZenHireClient, persona: str) -> None:
    """A new job for a persona that does not exist would leave a journal tied to it."""
    try:
        await zh.personas.get(persona)
    except NotFoundError as error:
        base = describe(error)
        hint = (
            f" — no persona {persona} here: check --persona (`zenhire personas list`) and "
            "--base-url; nothing was invited and no journal was made, so the command with "
            "the right --persona works as it is"
        )
        raise CommandError(replace(base, line=base.line + hint)) from None
    except PermissionDeniedError:
        pass  # a key that may invite without reading personas: the invite will tell


async def invite(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Invite every row of the CSV; write the links CSV; report what happened."""
    loop = asyncio.get_running_loop()
    csv_path = Path(args.csv)
    journal = Path(args.journal) if args.journal else default_journal(csv_path)
    links = Path(args.out) if args.out else default_links(csv_path)
    layout = await loop.run_in_executor(None, read_layout, csv_path, args.delimiter)
    if layout.sniffed and layout.delimiter != ",":
        out.note(
            f"Reading {csv_path} as {delimiter_name(layout.delimiter)}-separated (sniffed on "
            "the header; --delimiter to say otherwise)"
        )
    if layout.ignored:
        out.note(f"Ignoring the column(s) {', '.join(layout.ignored)}")
    job = await loop.run_in_executor(None, _first_record, journal)
    source: dict[str, str] | None = None
    if job is None:
        await _check_persona(zh, args.persona)
        source = await loop.run_in_executor(None, identify, csv_path, layout.delimiter)
    else:
        await _check_job(job, args, journal, out)
    feed = _Feed(layout)
    report: BulkInviteReport | None = None
    stopped: BulkInviteError | None = None
    with out.count_progress("invite") as bar, anyio.CancelScope() as hard_stop:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_on_signals, feed, hard_stop, bar)
            try:
                report = await zh.sessions.bulk_invite(
                    args.persona,
                    feed.rows(),
                    consent_mode=args.consent,
                    journal=journal,
                    concurrency=args.concurrency,
                    on_progress=_Meter(bar, layout.rows),
                    journal_source=source,
                    shard=args.shard,
                )
            except BulkInviteError as error:
                stopped = error
            except JournalInUseError as error:
                raise UsageError(str(error)) from None
            finally:
                tg.cancel_scope.cancel()
    if stopped is not None:  # printed once the bar is gone
        out.note(summary(stopped.report) + " before it stopped")
        await show_failures(stopped.report, layout, out)
        show_existing(stopped.report, out)
        held = await loop.run_in_executor(None, read_links, journal)
        failure = fatal_failure(stopped, journal, args.persona, len(held.links))
        out.failure(failure)
        return failure.exit_code
    if report is None or not feed.exhausted:
        return interrupted(report, journal, args, out)
    held = await loop.run_in_executor(None, read_links, journal)
    count = await write_links(links, journal, held.links, layout, after_invite=True)
    others = len(held.links) - count
    if out.json_mode:
        out.json(
            {
                "report": report,
                "journal": str(journal),
                "links": str(links),
                "links_written": count,
                "interrupted": False,
            }
        )
    else:
        out.note(f"Invited: {summary(report)} in {report.elapsed:.1f}s")
        await show_failures(report, layout, out)
        show_existing(report, out)
        out.note(f"Journal: {journal}")
        out.note(f"Links of {count} candidate(s) written to {links} (mode 0600)")
        if others > 0:
            out.note(
                f"({others} other link(s) of the journal, of rows not in {csv_path}, are not "
                f"in it: `{links_command(journal)}` writes every one)"
            )
    return EXIT_INCOMPLETE if report.failed else 0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``invite`` to the command line."""
    p = commands.add_parser(
        "invite",
        parents=[shared],
        help="invite every candidate of a CSV (one link each, journaled, resumable)",
        description=(
            "CSV columns: candidate_ref (required), tags (';'-separated), metadata.<key>. "
            "Every link is journaled before the row counts as done; run the same command "
            "again after an interruption or an error to go on."
        ),
    )
    p.add_argument("--persona", required=True, type=id_arg, metavar="ID", help="persona id")
    p.add_argument("--csv", required=True, metavar="PATH", help="the candidates CSV")
    p.add_argument(
        "--delimiter",
        type=delimiter_arg,
        metavar="D",
        help="column delimiter: , ; | or tab (default: sniffed on the header line)",
    )
    p.add_argument("--consent", required=True, choices=_CONSENT_MODES, help="consent mode")
    p.add_argument(
        "--journal", metavar="PATH", help="journal file (default: <csv name>.journal.jsonl)"
    )
    p.add_argument(
        "--journal-reuse",
        action="store_true",
        help="go on with a journal made for another CSV (or this one since edited)",
    )
    p.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"requests in flight (default {DEFAULT_CONCURRENCY})",
    )
    p.add_argument(
        "--out", metavar="PATH", help="links CSV to write (default: <csv name>.links.csv)"
    )
    p.add_argument(
        "--shard",
        type=shard_arg,
        metavar="I/N",
        help="invite only this worker's shard I of N of the rows (0 <= I < N; by a hash of "
        "candidate_ref), each worker with its own --journal",
    )
    add_events_option(p)
    p.set_defaults(api_handler=invite)
