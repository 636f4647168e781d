"""What ``zenhire invite`` reports when a job ends, finished, stopped or interrupted.

The summary of counts; the failed rows, shown by the CSV lines they came from (up to
:data:`SHOWN_FAILURES`); after a fatal error, what will work next (:func:`fatal_failure`);
after an interruption, the exact command that goes on with the job (never with the key).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
from dataclasses import replace
from pathlib import Path

from .. import (
    AuthenticationError,
    BulkInviteError,
    BulkInviteReport,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
)
from ._candidates import CandidatesCsv, record_lines
from ._errors import EXIT_INTERRUPTED, HANDLED_ERRORS, Failure, code_and_message, describe
from ._links import links_command
from ._output import Output

__all__ = [
    "DEFAULT_CONCURRENCY",
    "SHOWN_FAILURES",
    "fatal_failure",
    "interrupted",
    "show_existing",
    "show_failures",
    "summary",
]

DEFAULT_CONCURRENCY = 8
"""``--concurrency`` when not given; a resume command repeats only another value."""
SHOWN_FAILURES = 20
"""Failed rows listed at the end of a job; the rest are counted (all are in the journal)."""


def summary(report: BulkInviteReport) -> str:
    """One line of counts: created, skipped, failed, orphans; existing and other shards
    when there are any."""
    line = (
        f"{report.created} created, {report.skipped} skipped (already invited), "
        f"{len(report.failed)} failed, {len(report.orphans)} orphans"
    )
    if report.existing:
        line += f", {len(report.existing)} existing (a session from another job)"
    if report.other_shard:
        line += f", {report.other_shard} rows of other shards"
    return line


def show_existing(report: BulkInviteReport, out: Output) -> None:
    """List the first candidates not invited for having a session already, and count the
    rest."""
    if not report.existing:
        return
    out.note(f"Not invited, already with a session for the persona ({len(report.existing)}):")
    for ref, session_id in report.existing[:SHOWN_FAILURES]:
        where = f"session {session_id}" if session_id else "claimed by another job still running"
        out.note(f"  {ref}: {where}")
    if len(report.existing) > SHOWN_FAILURES:
        out.note(f"  … and {len(report.existing) - SHOWN_FAILURES} more")


async def show_failures(report: BulkInviteReport, layout: CandidatesCsv, out: Output) -> None:
    """List the first failed rows by their lines in the CSV, and count the rest."""
    shown = report.failed[:SHOWN_FAILURES]
    # ``index`` counts the records given to the bulk invite; the file's own line numbers
    # (blank lines, quoted line breaks) are found by reading the records again.
    indices = {f.index for f in shown if f.index is not None}
    found = await asyncio.get_running_loop().run_in_executor(None, record_lines, layout, indices)
    for failure in shown:
        record = found.get(failure.index) if failure.index is not None else None
        row = record.lines if record is not None else "a row"
        ref = f" ({failure.candidate_ref})" if failure.candidate_ref else ""
        out.note(f"  {row}{ref}: {code_and_message(failure.code, failure.message)}")
    if len(report.failed) > SHOWN_FAILURES:
        out.note(f"  … and {len(report.failed) - SHOWN_FAILURES} more (see the journal)")


def _advice(cause: BaseException | None, persona: str, journal: Path, links: int) -> str:
    """What will work after the job stopped on ``cause`` (``links``: links in the journal)."""
    if isinstance(cause, NotFoundError):
        if not links:
            return (
                f"there is no persona {persona}, and {journal} holds no link: delete "
                f"{journal}, then run the command with the right --persona"
            )
        return (
            f"there is no persona {persona} any more; the {links} link(s) so far stay in "
            f"{journal} (`{links_command(journal)}` writes them); to invite the "
            "rest for another persona, give it with a new --journal"
        )
    progress = f"partial progress is journaled in {journal}"
    if isinstance(cause, AuthenticationError):
        return f"{progress}; run the same command again with a valid key"
    if isinstance(cause, InsufficientCreditsError):
        return f"{progress}; once the account has credits, run the same command again"
    if isinstance(cause, PermissionDeniedError):
        return f"{progress}; run the same command again with a key that has the permission"
    return f"{progress}; fix the cause and run the same command again"


def fatal_failure(error: BulkInviteError, journal: Path, persona: str, links: int) -> Failure:
    """The failure to print for a job stopped by ``error``, with what will work next."""
    cause = error.__cause__
    base = describe(cause if isinstance(cause, HANDLED_ERRORS) else error)
    return replace(base, line=f"{base.line} — {_advice(cause, persona, journal, links)}")


def _resume_command(args: argparse.Namespace, journal: Path) -> str:
    """The command that goes on with the same job (never with the key in it)."""
    parts = ["zenhire", "invite", "--persona", args.persona, "--csv", args.csv]
    parts += ["--consent", args.consent, "--journal", str(journal)]
    if args.out is not None:
        parts += ["--out", args.out]
    if args.concurrency != DEFAULT_CONCURRENCY:
        parts += ["--concurrency", str(args.concurrency)]
    if args.delimiter is not None:
        parts += ["--delimiter", "tab" if args.delimiter == "\t" else args.delimiter]
    if args.journal_reuse:
        parts.append("--journal-reuse")
    if args.shard is not None:
        parts += ["--shard", f"{args.shard[0]}/{args.shard[1]}"]
    return shlex.join(parts)


def interrupted(
    report: BulkInviteReport | None, journal: Path, args: argparse.Namespace, out: Output
) -> int:
    """Report an interrupted job and how to go on with it; the exit code (130)."""
    resume = _resume_command(args, journal)
    if out.json_mode:
        out.json({"report": report, "journal": str(journal), "interrupted": True})
    if report is not None:
        out.note(f"Interrupted: {summary(report)} so far")
    else:
        out.note("Interrupted: rows in flight will be reconciled on the next run")
    links = links_command(journal, *(["--out", args.out] if args.out else []))
    out.note(
        f"Every link so far is in the journal {journal}; the links file was not written "
        f"(`{links}` writes it now)."
    )
    out.note(f"To go on, run the same command again:\n  {resume}")
    return EXIT_INTERRUPTED
