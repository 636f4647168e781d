"""``zenhire watch``: follow many sessions until every one is terminal.

The sessions come from a bulk-invite journal (every row with a link) or from ids on the
command line; ``sessions.watch`` polls them in batches within the rate budget. A terminal
shows a bar of finished sessions with the rate they finish at and the counts by status (no
ETA: when a session ends is up to its candidate, or to its link's expiry); a pipe gets a
plain line now and then. The exit code tells a script how it went: 0 all completed, 3 some failed or
expired, 6 on ``--timeout`` (its own code: a script can tell a wait that ran out from an
API failure, 1).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from .. import (
    TERMINAL_STATUSES,
    WaitTimeout,
    WatchState,
    ZenHireClient,
)
from ._errors import EXIT_INCOMPLETE, EXIT_TIMEOUT, Failure, UsageError
from ._events import add_events_option
from ._jobs import read_job
from ._options import id_arg
from ._output import Output
from ._pace import Pace

__all__ = ["register"]

EXPIRED = "expired"
"""Shown for a session still ``initiated`` when its link expired unused."""
_ORDER = ("initiated", "active", "completed", "failed", EXPIRED)
NO_ETA = "no ETA: candidates set the pace"
"""What the bar shows instead of an ETA."""


def _counts(statuses: dict[str, str]) -> str:
    counts = Counter(statuses.values())
    known = [f"{name} {counts[name]}" for name in _ORDER if counts[name]]
    other = [f"{name} {n}" for name, n in sorted(counts.items()) if name not in _ORDER]
    return "  ".join(known + other)


async def watch(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Watch until all are terminal; print the final statuses."""
    if args.journal is not None:
        if args.ids:
            raise UsageError("give either --journal or session ids, not both")
        journaled = await read_job(Path(args.journal))
        created = journaled.created
        if not created:
            raise UsageError(f"{args.journal} holds no created session to watch")
        refs = journaled.refs()
        # The journal knows when each link expires: an unused one ends on time.
        what: list[str] | WatchState = WatchState.for_links(
            {session_id: r.expires_at for session_id, r in created.items()}
        )
    elif args.ids:
        refs = dict.fromkeys(args.ids, "")
        what = list(refs)
    else:
        raise UsageError("give --journal PATH or one or more session ids")
    statuses: dict[str, str] = {}
    total = len(refs)
    watcher = zh.sessions.watch(what, timeout=args.timeout)
    timed_out: WaitTimeout | None = None
    pace = Pace()
    with out.count_progress("watch") as bar:
        try:
            async for row in watcher:
                expired = row.id in watcher.expired
                statuses[row.id] = EXPIRED if expired else str(row.status)
                if row.candidate_ref and not refs.get(row.id):
                    refs[row.id] = row.candidate_ref
                done = sum(1 for s in statuses.values() if s in TERMINAL_STATUSES or s == EXPIRED)
                # No ETA: a session ends when its candidate opens the link and finishes, or
                # when an unused link expires; the pace so far does not predict either.
                detail = f"{pace.rate(done, per='min')}  {NO_ETA}  {_counts(statuses)}"
                bar.update(done, total, detail)
        except WaitTimeout as error:
            timed_out = error
    rows = [
        [session_id, refs[session_id] or "-", statuses.get(session_id, "-")] for session_id in refs
    ]
    if out.json_mode:
        out.json(
            [
                {"session_id": sid, "candidate_ref": refs[sid] or None, "status": statuses.get(sid)}
                for sid in refs
            ]
        )
    else:
        out.table(("id", "candidate_ref", "status"), rows)
        out.note(f"{total} session(s): {_counts(statuses)}")
    if timed_out is not None:
        message = f"{len(timed_out.pending)} session(s) still unfinished after {args.timeout:g}s"
        out.failure(Failure(EXIT_TIMEOUT, f"error: TIMEOUT: {message}", "TIMEOUT", message))
        return EXIT_TIMEOUT
    if all(status == "completed" for status in statuses.values()):
        return 0
    return EXIT_INCOMPLETE


def _timeout(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``watch`` to the command line."""
    p = commands.add_parser(
        "watch",
        parents=[shared],
        help="follow sessions until all are completed, failed or expired",
        description=(
            "Exit code 0 when every session completed, 3 when some failed or expired "
            "(link unused until it expired), 6 when --timeout passed first."
        ),
    )
    p.add_argument(
        "ids", nargs="*", type=id_arg, metavar="ID", help="session ids (or use --journal)"
    )
    p.add_argument(
        "--journal", metavar="PATH", help="watch every session of a `zenhire invite` journal"
    )
    p.add_argument(
        "--timeout",
        type=_timeout,
        metavar="SECONDS",
        help="give up after this long (default: never)",
    )
    add_events_option(p)
    p.set_defaults(api_handler=watch)
