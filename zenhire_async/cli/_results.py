"""``zenhire results ID --out DIR``: save a completed session's transcript and recording."""

from __future__ import annotations

import argparse
from pathlib import Path

import msgspec

from .. import ZenHireClient
from ._files import ensure_private_dir, write_private_file
from ._output import Output

__all__ = ["register", "save_results"]


async def save_results(
    zh: ZenHireClient, session_id: str, out_dir: Path, out: Output
) -> tuple[Path, Path, int]:
    """Write ``<id>.transcript.json`` and ``<id>.wav`` (mode 0600) into ``out_dir``.

    The transcript is fetched first: a session without results fails before any file or
    directory is made. Returns both paths and the recording's size.
    """
    transcript = await zh.sessions.transcript(session_id)
    await ensure_private_dir(out_dir)
    transcript_path = out_dir / f"{session_id}.transcript.json"
    body = msgspec.json.format(msgspec.json.encode(transcript.raw), indent=2) + b"\n"
    await write_private_file(transcript_path, body)
    recording_path = out_dir / f"{session_id}.wav"
    with out.download_progress(f"recording {session_id[:8]}") as progress:
        nbytes = await zh.sessions.download_recording(
            session_id, recording_path, on_progress=progress
        )
    return transcript_path, recording_path, nbytes


async def results(zh: ZenHireClient, args: argparse.Namespace, out: Output) -> int:
    """Save one session's results and say where they are."""
    transcript, recording, nbytes = await save_results(zh, args.id, Path(args.out), out)
    if out.json_mode:
        out.json(
            {
                "session_id": args.id,
                "transcript": str(transcript),
                "recording": str(recording),
                "recording_bytes": nbytes,
            }
        )
    else:
        out.line(str(transcript))
        out.line(str(recording))
        out.note(f"Saved the transcript and a {nbytes:,}-byte recording to {args.out}")
    return 0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``results`` to the command line."""
    p = commands.add_parser(
        "results",
        parents=[shared],
        help="save a completed session's transcript (JSON) and recording (WAV)",
    )
    p.add_argument("id", help="session id")
    p.add_argument(
        "--out", default=".", metavar="DIR", help="directory to write into (default: here)"
    )
    p.set_defaults(api_handler=results)
