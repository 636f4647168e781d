"""``zenhire results``: save completed sessions' transcripts (JSON) and recordings (WAV).

``results ID --out DIR`` saves one session; ``results --all-completed --journal J --out DIR``
saves every completed session of a bulk-invite journal, a few at a time, skipping sessions
whose two files are already there (files are only ever written whole, so present means
complete). Both go through :func:`save_results`.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec

from .. import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    DecodeError,
    PermissionDeniedError,
    ZenHireClient,
)
from ._errors import EXIT_INCOMPLETE, UsageError, describe
from ._events import add_events_option
from ._files import ensure_private_dir, write_private_file
from ._jobs import read_job
from ._options import id_arg, positive_int
from ._output import DownloadBars, Output
from ._pace import Pace

__all__ = ["SavedResults", "register", "save_results"]


@dataclass(frozen=True, slots=True)
class SavedResults:
    """Where one session's results are, and whether they were already there."""

    session_id: str
    transcript: Path
    recording: Path
    recording_bytes: int
    skipped: bool = False


def _present(transcript: Path, recording: Path) -> int | None:
    """The recording's size when both files are there (written whole), else ``None``."""
    if transcript.is_file() and recording.is_file():
        return recording.stat().st_size
    return None


async def save_results(
    zh: ZenHireClient,
    session_id: str,
    out_dir: Path,
    bars: DownloadBars,
    *,
    skip_present: bool = False,
) -> SavedResults:
    """Write ``<id>.transcript.json`` and ``<id>.wav`` (mode 0600) into ``out_dir``.

    The transcript is fetched first: a session without results fails before any file or
    directory is made. With ``skip_present``, a session whose two files exist is left as
    it is. ``bars`` gives the recording download its progress bar.
    """
    transcript_path = out_dir / f"{session_id}.transcript.json"
    recording_path = out_dir / f"{session_id}.wav"
    if skip_present:
        loop = asyncio.get_running_loop()
        size = await loop.run_in_executor(None, _present, transcript_path, recording_path)
        if size is not None:
            return SavedResults(session_id, transcript_path, recording_path, size, skipped=True)
    transcript = await zh.sessions.transcript(session_id)
    await ensure_private_dir(out_dir)
    body = msgspec.json.format(msgspec.json.encode(transcript.raw), indent=2) + b"\n"
    await write_private_file(transcript_path, body)
    with bars(f"recording {session_id[:8]}") as progress:
        nbytes = await zh.sessions.download_recording(
            session_id, recording_path, on_progress=progress
        )
    return SavedResults(session_id, transcript_path, recording_path, nbytes)


async def _one(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    saved = await save_results(zh, args.id, Path(args.out), out.download_progress)
    if out.json_mode:
        out.json(
            {
                "session_id": args.id,
                "transcript": str(saved.transcript),
                "recording": str(saved.recording),
                "recording_bytes": saved.recording_bytes,
            }
        )
    else:
        out.line(str(saved.transcript))
        out.line(str(saved.recording))
        out.note(
            f"Saved the transcript and a {saved.recording_bytes:,}-byte recording to {args.out}"
        )
    return 0


_SKIPPABLE = (APIConnectionError, APIError, DecodeError)
_FATAL = (AuthenticationError, PermissionDeniedError)


async def _batch(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    journaled = await read_job(Path(args.journal))
    job, refs = journaled.job, journaled.refs()
    completed = [
        row.id
        async for row in zh.sessions.iter(
            status="completed", persona_id=job.persona_id, metadata=job.marker
        )
        if row.id in refs
    ]
    out_dir = Path(args.out)
    saved: list[SavedResults] = []
    failed: list[tuple[str, str]] = []
    todo = iter(completed)

    pace = Pace()
    with out.count_progress("results") as bar:

        def show() -> None:
            skipped = sum(1 for s in saved if s.skipped)
            worked = len(saved) - skipped + len(failed)  # files already there cost nothing
            remaining = len(completed) - len(saved) - len(failed)
            detail = (
                f"{pace.rate(worked)}  ETA {pace.eta(worked, remaining)}  "
                f"saved {len(saved) - skipped}  present {skipped}  failed {len(failed)}"
            )
            bar.update(len(saved) + len(failed), len(completed), detail)

        async def worker() -> None:
            for session_id in todo:
                try:
                    result = await save_results(
                        zh, session_id, out_dir, bar.download, skip_present=True
                    )
                except _FATAL:
                    raise
                except _SKIPPABLE as error:
                    failed.append((session_id, describe(error).line.removeprefix("error: ")))
                else:
                    saved.append(result)
                show()

        show()
        async with anyio.create_task_group() as tg:
            for _ in range(min(args.concurrency, max(len(completed), 1))):
                tg.start_soon(worker)

    skipped = sum(1 for s in saved if s.skipped)
    if out.json_mode:
        out.json(
            {
                "completed": len(completed),
                "saved": [
                    {
                        "session_id": s.session_id,
                        "candidate_ref": refs[s.session_id],
                        "transcript": str(s.transcript),
                        "recording": str(s.recording),
                        "recording_bytes": s.recording_bytes,
                        "already_present": s.skipped,
                    }
                    for s in saved
                ],
                "failed": [{"session_id": sid, "error": line} for sid, line in failed],
            }
        )
    else:
        for s in saved:
            out.line(str(s.recording))
        for session_id, line in failed:
            out.note(f"  {session_id} ({refs[session_id]}): {line}")
        out.note(
            f"{len(completed)} of {len(refs)} session(s) completed: "
            f"{len(saved) - skipped} saved, {skipped} already present, {len(failed)} failed "
            f"→ {out_dir}"
        )
    return EXIT_INCOMPLETE if failed else 0


async def results(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """``results ID`` or ``results --all-completed --journal J``."""
    if args.all_completed:
        if args.id is not None:
            raise UsageError("give a session id or --all-completed, not both")
        if args.journal is None:
            raise UsageError("--all-completed needs --journal PATH (of `zenhire invite`)")
        return await _batch(zh, args, out)
    if args.id is None:
        raise UsageError("give a session id, or --all-completed --journal PATH")
    return await _one(zh, args, out)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``results`` to the command line."""
    p = commands.add_parser(
        "results",
        parents=[shared],
        help="save completed sessions' transcripts (JSON) and recordings (WAV)",
    )
    p.add_argument("id", nargs="?", type=id_arg, help="session id")
    p.add_argument(
        "--all-completed",
        action="store_true",
        help="every completed session of the journal given with --journal",
    )
    p.add_argument("--journal", metavar="PATH", help="a `zenhire invite` journal")
    p.add_argument(
        "--concurrency",
        type=positive_int,
        default=4,
        help="downloads at a time with --all-completed (default 4)",
    )
    p.add_argument(
        "--out", default=".", metavar="DIR", help="directory to write into (default: here)"
    )
    add_events_option(p)
    p.set_defaults(api_handler=results)
