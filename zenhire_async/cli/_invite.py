"""``zenhire invite``: one candidate link per CSV row, journaled, resumable, with progress.

The CSV is streamed (read in batches off the event loop, never whole) into
``sessions.bulk_invite``, which journals every link before a row counts as done. The first
Ctrl-C stops reading the CSV: rows already handed over finish and are journaled, then the
command says how to resume (the same command again) and exits 130. A second Ctrl-C cancels
at once; rows in flight then have only their ``attempt`` record, which the next run
reconciles. At the end, the links of every created row (this run and earlier ones) are
written to the links CSV, mode 0600.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shlex
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio

from .. import (
    BulkInviteError,
    BulkInviteReport,
    BulkProgress,
    JournalInUseError,
    ZenHireClient,
    export_links_csv,
)
from ._errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    HANDLED_ERRORS,
    Failure,
    UsageError,
    describe,
)
from ._events import add_events_option
from ._files import fill_private_file
from ._options import positive_int
from ._output import CountProgress, Output

__all__ = ["candidate_row", "register"]

REF_COLUMN = "candidate_ref"
TAGS_COLUMN = "tags"
METADATA_PREFIX = "metadata."
_BATCH = 512
_SHOWN_FAILURES = 20


def default_journal(csv_path: Path) -> Path:
    """``candidates.csv`` → ``candidates.journal.jsonl`` beside it."""
    return csv_path.with_name(f"{csv_path.stem}.journal.jsonl")


def default_links(csv_path: Path) -> Path:
    """``candidates.csv`` → ``candidates.links.csv`` beside it."""
    return csv_path.with_name(f"{csv_path.stem}.links.csv")


def candidate_row(row: dict[str | None, str | None]) -> dict[str, object]:
    """One CSV record (``csv.DictReader``) as a bulk-invite row.

    ``tags`` is split on ``;``; each ``metadata.<key>`` column becomes a metadata string
    (empty cells are left out); other columns are ignored. Cells past the header make the
    row invalid (reported by the bulk invite, like any other invalid row).
    """
    item: dict[str, object] = {REF_COLUMN: (row.get(REF_COLUMN) or "").strip()}
    tags = [tag.strip() for tag in (row.get(TAGS_COLUMN) or "").split(";") if tag.strip()]
    if tags:
        item["tags"] = tags
    metadata = {
        name[len(METADATA_PREFIX) :]: value
        for name, value in row.items()
        if name is not None and name.startswith(METADATA_PREFIX) and value
    }
    if metadata:
        item["metadata"] = metadata
    if row.get(None):
        item["cells past the header"] = row[None]
    return item


@dataclass(frozen=True, slots=True)
class _Header:
    rows: int
    ignored: list[str]


def _scan(path: Path) -> _Header:
    """Check the header and count the records (streamed; for the progress total)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise UsageError(f"{path} is empty: it needs a header with a {REF_COLUMN} column")
        if REF_COLUMN not in header:
            raise UsageError(
                f"{path} has no {REF_COLUMN} column (columns: {', '.join(header) or 'none'}); "
                f"expected {REF_COLUMN}, optionally {TAGS_COLUMN} and {METADATA_PREFIX}<key>"
            )
        rows = sum(1 for record in reader if record)
    known = {REF_COLUMN, TAGS_COLUMN}
    ignored = [n for n in header if n not in known and not n.startswith(METADATA_PREFIX)]
    return _Header(rows, ignored)


class _CsvRows:
    """The CSV's records, read in batches by the loop's executor."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open(newline="", encoding="utf-8-sig")
        self._reader = csv.DictReader(self._file)

    def take(self) -> list[dict[str | None, str | None]]:
        batch: list[dict[str | None, str | None]] = []
        for record in self._reader:
            batch.append(dict(record))
            if len(batch) == _BATCH:
                break
        return batch

    def close(self) -> None:
        self._file.close()


class _Feed:
    """The async iterator of rows given to ``bulk_invite``; stops early when asked."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.stop = anyio.Event()
        self.exhausted = False

    async def rows(self) -> AsyncIterator[dict[str, object]]:
        loop = asyncio.get_running_loop()
        source = await loop.run_in_executor(None, _CsvRows, self._path)
        try:
            while not self.stop.is_set():
                batch = await loop.run_in_executor(None, source.take)
                if not batch:
                    self.exhausted = True
                    return
                for record in batch:
                    if self.stop.is_set():
                        return
                    yield candidate_row(record)
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
        eta = "-" if rate <= 0 or not remaining else _clock(remaining / rate)
        detail = (
            f"{rate:.1f}/s  ETA {eta}  created {p.created}  failed {p.failed}  "
            f"orphans {p.orphans}" + (f"  skipped {p.skipped}" if p.skipped else "")
        )
        self._bar.update(p.done, self._total, detail)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _resume_command(args: argparse.Namespace, journal: Path) -> str:
    """The command that goes on with the same job (never with the key in it)."""
    parts = ["zenhire", "invite", "--persona", args.persona, "--csv", args.csv]
    parts += ["--consent", args.consent, "--journal", str(journal)]
    if args.out is not None:
        parts += ["--out", args.out]
    if args.concurrency != 8:
        parts += ["--concurrency", str(args.concurrency)]
    return shlex.join(parts)


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


def _summary(report: BulkInviteReport) -> str:
    return (
        f"{report.created} created, {report.skipped} skipped (already invited), "
        f"{len(report.failed)} failed, {len(report.orphans)} orphans"
    )


def _show_failures(report: BulkInviteReport, out: Output) -> None:
    for failure in report.failed[:_SHOWN_FAILURES]:
        # index counts data records from 0; + 2 for the header and 1-based line numbers
        row = f"line {failure.index + 2}" if failure.index is not None else "a row"
        ref = f" ({failure.candidate_ref})" if failure.candidate_ref else ""
        out.note(f"  {row}{ref}: {failure.code}: {failure.message}")
    if len(report.failed) > _SHOWN_FAILURES:
        out.note(f"  … and {len(report.failed) - _SHOWN_FAILURES} more (see the journal)")


def _fatal(error: BulkInviteError, journal: Path) -> Failure:
    cause = error.__cause__
    base = describe(cause if isinstance(cause, HANDLED_ERRORS) else error)
    note = (
        f" — partial progress is journaled in {journal}; fix the cause and run the same "
        "command again"
    )
    return Failure(
        base.exit_code,
        base.line + note,
        base.code,
        base.message,
        base.status,
        base.request_id,
    )


async def invite(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Invite every row of the CSV; write the links CSV; report what happened."""
    loop = asyncio.get_running_loop()
    csv_path = Path(args.csv)
    journal = Path(args.journal) if args.journal else default_journal(csv_path)
    links = Path(args.out) if args.out else default_links(csv_path)
    header = await loop.run_in_executor(None, _scan, csv_path)
    if header.ignored:
        out.note(f"Ignoring the column(s) {', '.join(header.ignored)}")
    feed = _Feed(csv_path)
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
                    on_progress=_Meter(bar, header.rows),
                )
            except BulkInviteError as error:
                stopped = error
            except JournalInUseError as error:
                raise UsageError(str(error)) from None
            finally:
                tg.cancel_scope.cancel()
    if stopped is not None:  # printed once the bar is gone
        out.note(_summary(stopped.report) + " before it stopped")
        _show_failures(stopped.report, out)
        failure = _fatal(stopped, journal)
        out.failure(failure)
        return failure.exit_code
    if report is None or not feed.exhausted:
        return _interrupted(report, journal, args, out)
    count = await fill_private_file(links, lambda path: export_links_csv(journal, path))
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
        out.note(f"Invited: {_summary(report)} in {report.elapsed:.1f}s")
        _show_failures(report, out)
        out.note(f"Journal: {journal}")
        out.note(f"Links of {count} candidate(s) written to {links} (mode 0600)")
    return EXIT_INCOMPLETE if report.failed else 0


def _interrupted(
    report: BulkInviteReport | None, journal: Path, args: argparse.Namespace, out: Output
) -> int:
    resume = _resume_command(args, journal)
    if out.json_mode:
        out.json({"report": report, "journal": str(journal), "interrupted": True})
    if report is not None:
        out.note(f"Interrupted: {_summary(report)} so far")
    else:
        out.note("Interrupted: rows in flight will be reconciled on the next run")
    out.note(f"Every link so far is in the journal {journal}; the links file was not written.")
    out.note(f"To go on, run the same command again:\n  {resume}")
    return EXIT_INTERRUPTED


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
    p.add_argument("--persona", required=True, metavar="ID", help="persona id")
    p.add_argument("--csv", required=True, metavar="PATH", help="the candidates CSV")
    p.add_argument(
        "--consent", required=True, choices=("explicit", "integrator"), help="consent mode"
    )
    p.add_argument(
        "--journal", metavar="PATH", help="journal file (default: <csv name>.journal.jsonl)"
    )
    p.add_argument(
        "--concurrency", type=positive_int, default=8, help="requests in flight (default 8)"
    )
    p.add_argument(
        "--out", metavar="PATH", help="links CSV to write (default: <csv name>.links.csv)"
    )
    add_events_option(p)
    p.set_defaults(api_handler=invite)
