"""``--events FILE``: the client's events as JSON lines, to examine a batch run afterwards.

One object per line: ``{"event": "RequestSent", "time": "<UTC ISO 8601>", "at": <loop
seconds>, ...the event's fields}``. The file is opened for appending (a resumed ``invite``
adds to the same record), created with mode 0600, never through a symlink, and must be a
regular file. Lines are buffered and written by a sync hook (a line is a few hundred bytes
into a buffer, no disk wait on the loop); the file is flushed and closed when the command
ends. Events hold no API key and no link token.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import BinaryIO

import anyio
import msgspec

from ..events import Event
from ._errors import UsageError

__all__ = ["EventsFile", "add_events_option", "events_hook"]

_encoder = msgspec.json.Encoder()


def add_events_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--events FILE`` to a command."""
    parser.add_argument(
        "--events",
        metavar="FILE",
        help="append the client's events (calls, requests, retries, status changes) as "
        "JSON lines to FILE (mode 0600)",
    )


def _open_private(path: str) -> BinaryIO:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open --events {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"--events {path} is not a regular file")
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


class EventsFile:
    """A sync event hook writing each event as one JSON line."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return "<EventsFile>"

    def __call__(self, event: Event) -> None:
        """Write ``event`` as one JSON line."""
        record: dict[str, object] = {
            "event": type(event).__name__,
            "time": datetime.now(UTC).isoformat(),
        }
        record.update(dataclasses.asdict(event))
        self._stream.write(_encoder.encode(record) + b"\n")

    def close(self) -> None:
        """Flush and close the file."""
        self._stream.close()


@asynccontextmanager
async def events_hook(args: argparse.Namespace) -> AsyncIterator[EventsFile | None]:
    """The ``--events`` hook of a command (``None`` without the option), closed at the end."""
    path = getattr(args, "events", None)
    if not path:
        yield None
        return
    hook = EventsFile(await anyio.to_thread.run_sync(_open_private, path))
    try:
        yield hook
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(hook.close)
