"""Links files for the mailer, and ``zenhire links``: the links of a journal, at any time.

A links file is ``candidate_ref,candidate_link,expires_at`` (the columns of
:func:`zenhire_async.export_links_csv`), mode 0600, written whole or not at all (a temporary
file beside it, renamed into place). ``invite`` writes the links of *its* CSV's rows, in the
CSV's order, whatever else the journal holds. ``zenhire links --journal J`` writes them
after an interrupted or failed run: every link of the journal, in the order of the CSV the
journal records when that file is still the same input, else in journal order; ``--csv F``
restricts them to (and orders them by) the rows of ``F``. A journal is never modified here.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import AttemptRecord, CreatedRecord, FailedRecord, JobRecord, UnsafePathError, read_journal
from .._bulk_records import check_export_target
from ._candidates import CandidatesCsv, delimiter_arg, iter_records, open_csv, read_layout
from ._errors import EXIT_ERROR, CommandError, UsageError
from ._files import fill_private_file
from ._identity import mismatch
from ._output import Output

__all__ = [
    "JournalLinks",
    "default_links_of_journal",
    "links_command",
    "read_links",
    "register",
    "write_links",
]

_COLUMNS = ("candidate_ref", "candidate_link", "expires_at")


@dataclass(frozen=True, slots=True)
class JournalLinks:
    """What a journal holds for a links file."""

    job: JobRecord | None
    links: dict[str, CreatedRecord]
    """By candidate_ref, in journal order."""
    in_flight: int
    """Rows with an attempt and no link on record (the next ``invite`` run reconciles them)."""


def read_links(journal: Path) -> JournalLinks:
    """Read ``journal`` (blocking; ``ValueError`` when it is not a bulk-invite journal)."""
    job: JobRecord | None = None
    links: dict[str, CreatedRecord] = {}
    unanswered: set[str] = set()  # an attempt with no outcome after it yet
    for record in read_journal(journal):
        if isinstance(record, JobRecord):
            job = job or record
        elif isinstance(record, AttemptRecord):
            unanswered.add(record.candidate_ref)
        elif isinstance(record, CreatedRecord):
            unanswered.discard(record.candidate_ref)
            links.setdefault(record.candidate_ref, record)
        elif isinstance(record, FailedRecord) and record.candidate_ref is not None:
            unanswered.discard(record.candidate_ref)
    return JournalLinks(job, links, len(unanswered - links.keys()))


def links_command(journal: Path, *extra: str) -> str:
    """``zenhire links --journal J …`` as a shell command line (paths quoted)."""
    return shlex.join(["zenhire", "links", "--journal", str(journal), *extra])


def default_links_of_journal(journal: Path) -> Path:
    """``c.journal.jsonl`` → ``c.links.csv`` beside it (as ``invite`` names it by default)."""
    name = journal.name
    for suffix in (".journal.jsonl", ".jsonl"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return journal.with_name(name[: -len(suffix)] + ".links.csv")
    return journal.with_name(name + ".links.csv")


def _refs(layout: CandidatesCsv) -> Iterator[str]:
    with open_csv(layout.path) as fh:
        for record in iter_records(layout, fh):
            yield layout.ref_of(record)


def _fill(path: Path, links: dict[str, CreatedRecord], refs: Iterable[str] | None) -> int:
    """Write the file: the links of ``refs`` in their order, or all (journal order)."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_COLUMNS)
        chosen: Iterable[CreatedRecord]
        if refs is None:
            chosen = links.values()
        else:
            remaining = dict(links)
            chosen = (r for r in (remaining.pop(ref, None) for ref in refs) if r is not None)
        for record in chosen:
            writer.writerow(
                [record.candidate_ref, record.candidate_link, record.expires_at.isoformat()]
            )
            count += 1
    return count


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


async def write_links(
    target: Path,
    journal: Path,
    links: dict[str, CreatedRecord],
    order: CandidatesCsv | None,
    *,
    after_invite: bool,
    protect: Path | None = None,
) -> int:
    """Write the links file (only ``order``'s rows, in its order, when given); the count.

    Refuses (``UsageError``) a target that is the journal or the CSV (``order``'s, or
    ``protect``). A failure to write is
    reported with the target's name (never the temporary file's) and, ``after_invite``, how
    to get the links from the journal, which still holds every one.
    """
    csv_path = order.path if order is not None else protect
    refs = _refs(order) if order is not None else None

    def fill(path: Path) -> int:  # in the executor, like every file operation here
        for name, other in (("journal", journal), ("CSV", csv_path)):
            if other is not None and _same_file(target, other):
                raise UsageError(
                    f"the links file {target} would overwrite the {name}: choose another --out"
                )
        try:  # the SDK's one rule for link files: no symlink, never onto any journal
            check_export_target(journal, target)
        except UnsafePathError as error:
            raise UsageError(f"{error} (the links file; choose another --out)") from None
        return _fill(path, links, refs)

    try:
        return await fill_private_file(target, fill)
    except OSError as error:
        reason = error.strerror or str(error)
        message = f"cannot write the links file {target}: {reason}"
        if after_invite:
            message += (
                f"; every link is in the journal {journal}: write them elsewhere with "
                f"`{links_command(journal, '--out', 'FILE')}`"
            )
        raise CommandError.of(EXIT_ERROR, "FILE", message) from None


def _recorded_csv(job: JobRecord | None) -> tuple[CandidatesCsv | None, str]:
    """The journal's CSV, if still the same input, and how the links are ordered."""
    source = job.source if job is not None else None
    if not source or "path" not in source:
        return None, "in journal order (the journal records no CSV)"
    path = Path(source["path"])
    if not path.is_file():
        return None, f"in journal order ({path} is gone)"
    reason = mismatch(source, path)
    if reason is not None:
        return None, f"in journal order ({reason})"
    delimiter = source.get("delimiter")
    layout = read_layout(path, delimiter if delimiter else None)
    return layout, f"in the order of {path}"


async def links(args: argparse.Namespace, out: Output) -> int:
    """``zenhire links --journal J [--out F] [--csv C]``."""
    loop = asyncio.get_running_loop()
    journal = Path(args.journal)
    held = await loop.run_in_executor(None, read_links, journal)
    if held.job is None:
        raise UsageError(f"{journal} is not a bulk-invite journal (it has no job record)")
    target = Path(args.out) if args.out else default_links_of_journal(journal)
    if args.csv is not None:
        layout = await loop.run_in_executor(None, read_layout, Path(args.csv), args.delimiter)
        how = f"the rows of {args.csv} only, in its order"
        count = await write_links(target, journal, held.links, layout, after_invite=False)
    else:
        recorded, how = await loop.run_in_executor(None, _recorded_csv, held.job)
        chosen = held.links
        if recorded is not None:  # its rows first, in its order; then any other of the journal
            chosen = await loop.run_in_executor(None, _csv_first, held.links, recorded)
        protect = recorded.path if recorded is not None else None
        count = await write_links(
            target, journal, chosen, None, protect=protect, after_invite=False
        )
    if out.json_mode:
        out.json(
            {
                "journal": str(journal),
                "links": str(target),
                "links_written": count,
                "in_flight": held.in_flight,
            }
        )
        return 0
    out.note(f"Links of {count} candidate(s) written to {target} (mode 0600), {how}")
    if held.in_flight:
        out.note(
            f"{held.in_flight} row(s) were in flight when the run stopped and have no link on "
            "record yet: run the same `zenhire invite` again to reconcile them"
        )
    return 0


def _csv_first(links: dict[str, CreatedRecord], layout: CandidatesCsv) -> dict[str, CreatedRecord]:
    remaining = dict(links)
    ordered = {ref: r for ref in _refs(layout) if (r := remaining.pop(ref, None)) is not None}
    ordered.update(remaining)
    return ordered


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``links`` to the command line."""
    del shared  # sends nothing: no key, no URL
    p = commands.add_parser(
        "links",
        help="write the links CSV of an invite journal (after an interruption, or again)",
        description=(
            "Writes candidate_ref,candidate_link,expires_at of every row with a link (mode "
            "0600, whole or not at all), in the order of the CSV the journal records when it "
            "is unchanged. Sends nothing."
        ),
    )
    p.add_argument("--journal", required=True, metavar="PATH", help="a `zenhire invite` journal")
    p.add_argument(
        "--out",
        metavar="PATH",
        help="links CSV to write (default: beside the journal, <name>.links.csv)",
    )
    p.add_argument(
        "--csv",
        metavar="PATH",
        help="only the rows of this CSV, in its order (default: the journal's CSV, all rows)",
    )
    p.add_argument(
        "--delimiter",
        type=delimiter_arg,
        metavar="D",
        help="of --csv: , ; | or tab (default: sniffed)",
    )
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    p.set_defaults(local_handler=links)
