"""Files the ``zenhire`` command writes: private (mode 0600) and complete or absent.

Transcripts and recordings are personal data, and candidate links are secrets, so every
file the command creates is readable by its owner only, and appears whole or not at all
(written to a temporary file in the same directory, fsync'd, then renamed into place).
Disk work runs in the event loop's executor, off the loop.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .._private_files import replacing

__all__ = ["ensure_private_dir", "fill_private_file", "write_private_file"]

T = TypeVar("T")


def _fill_atomically(target: Path, fill: Callable[[Path], T]) -> T:
    """Let ``fill`` write a private temporary file beside ``target``, then move it there."""
    with replacing(target) as (_, path):
        result = fill(path)
        # ``fill`` may have put another file at ``path`` (export_links_csv renames its own
        # into place): sync and fix the mode of what is there now, by name.
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(path, 0o600)
    return result


def _write_atomically(target: Path, data: bytes) -> None:
    _fill_atomically(target, lambda path: path.write_bytes(data))


async def write_private_file(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, mode 0600."""
    await asyncio.get_running_loop().run_in_executor(None, _write_atomically, target, data)


async def fill_private_file(target: Path, fill: Callable[[Path], T]) -> T:
    """Have ``fill(path)`` write a temporary file, then move it to ``target`` (mode 0600).

    For writers that want a path, such as :func:`zenhire_async.export_links_csv`. Returns
    what ``fill`` returns.
    """
    return await asyncio.get_running_loop().run_in_executor(None, _fill_atomically, target, fill)


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:  # a file is in the way: say what is wrong with it
        reason = os.strerror(errno.ENOTDIR)
        raise NotADirectoryError(errno.ENOTDIR, reason, str(directory)) from None


async def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (mode 0700 if new, parents included) unless it exists.

    ``NotADirectoryError`` when it, or a parent, is a file.
    """
    await asyncio.get_running_loop().run_in_executor(None, _make_dir, directory)
