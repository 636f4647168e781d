"""Files the ``zenhire`` command writes: private (mode 0600) and complete or absent.

Transcripts and recordings are personal data, and candidate links are secrets, so every
file the command creates is readable by its owner only, and appears whole or not at all
(written to a temporary file in the same directory, fsync'd, then renamed into place).
Disk work runs in the event loop's executor, off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["ensure_private_dir", "write_private_file"]


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


async def write_private_file(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, mode 0600."""
    await asyncio.get_running_loop().run_in_executor(None, _write_atomically, target, data)


async def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (mode 0700 if new, parents included) unless it exists."""
    make = lambda: directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # noqa: E731
    await asyncio.get_running_loop().run_in_executor(None, make)
