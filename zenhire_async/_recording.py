"""Downloading a recording: its chunks (from ``StreamedBody.iter_chunks``) atomically to a file.

A long interview is hundreds of MB of WAV, so nothing here holds more than one chunk. A
download goes to a private file beside the target (``_private_files.replacing``: mode 0600,
recordings are personal data), is fsync'd, and is renamed over the target only when every
byte promised by ``Content-Length`` arrived; on any failure or cancellation the temporary
file is removed and the target is left as it was. A recording is asked for uncompressed;
one sent compressed anyway is inflated by the request path, and its ``Content-Length`` (the
compressed size, checked on the wire) is then not compared with the bytes written
(``expected_size`` is ``StreamedBody.content_length``, ``None`` then).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from ._private_files import replacing
from .errors import APIConnectionError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "WRITE_BATCH",
    "OnProgress",
    "write_atomically",
]

DEFAULT_CHUNK_SIZE = 256 * 1024
WRITE_BATCH = 1024 * 1024

OnProgress = Callable[[int, int | None], object]
"""Called after each chunk with ``(bytes written so far, total bytes or None if unknown)``."""


def _write_and_sync(fh: BinaryIO, last: list[bytes]) -> None:
    fh.writelines(last)
    fh.flush()
    os.fsync(fh.fileno())


def _consume(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


async def write_atomically(
    chunks: AsyncIterator[bytes],
    target: Path,
    expected_size: int | None,
    on_progress: OnProgress | None = None,
) -> int:
    """Write ``chunks`` to ``target`` via a temp file and rename; return the bytes written."""
    # Disk writes go to the loop's default executor: off the event loop, and visible to
    # loops that track executor work (the testing package's virtual-time loop does). They
    # go in batches of about WRITE_BATCH bytes, one executor hop per batch rather than per
    # network chunk, and each batch is written while the next one arrives: at most two
    # batches are held.
    loop = asyncio.get_running_loop()
    written = 0
    pending: asyncio.Future[None] | None = None
    try:
        with replacing(target) as (fh, _):
            batch: list[bytes] = []
            batched = 0
            async for chunk in chunks:
                batch.append(chunk)
                batched += len(chunk)
                if on_progress is not None:
                    on_progress(written + batched, expected_size)
                if batched >= WRITE_BATCH:
                    if pending is not None:
                        await pending
                    pending = loop.run_in_executor(None, fh.writelines, batch)
                    written += batched
                    batch, batched = [], 0
            if pending is not None:
                await pending
            written += batched
            if expected_size is not None and written != expected_size:
                raise APIConnectionError(
                    f"the recording ended after {written} of {expected_size} bytes"
                )
            await loop.run_in_executor(None, _write_and_sync, fh, batch)
    except BaseException:
        if pending is not None and not pending.done():
            # Closing the file above waited for the write; only its outcome is left to drop.
            pending.add_done_callback(_consume)
        raise
    return written
