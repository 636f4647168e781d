"""Streaming a recording: chunks from the response, and atomic downloads to a file.

A long interview is hundreds of MB of WAV, so nothing here holds more than one chunk. A
download goes to a hidden temporary file (mode 0600: recordings are personal data) in the
target's directory, is fsync'd, and is renamed over the target only when every byte promised
by ``Content-Length`` arrived; on any failure or cancellation the temporary file is removed
and the target is left as it was. A recording is asked for uncompressed; one sent compressed
anyway is inflated by aiohttp, and its ``Content-Length`` (the compressed size, checked by
aiohttp on the wire) is then not compared with the bytes written (:func:`decoded_size`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

import aiohttp

from ._redact import redact, shorten
from .errors import APIConnectionError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "WRITE_BATCH",
    "OnProgress",
    "decoded_size",
    "iter_chunks",
    "write_atomically",
]

DEFAULT_CHUNK_SIZE = 256 * 1024
WRITE_BATCH = 1024 * 1024

OnProgress = Callable[[int, int | None], object]
"""Called after each chunk with ``(bytes written so far, total bytes or None if unknown)``."""


def decoded_size(resp: aiohttp.ClientResponse) -> int | None:
    """The size of the body as read, from ``Content-Length``; ``None`` when unknown.

    With a ``Content-Encoding`` (a server that compressed anyway), ``Content-Length`` is the
    size on the wire, not the size of the inflated bytes the reader gets.
    """
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    return resp.content_length if encoding in ("", "identity") else None


async def iter_chunks(resp: aiohttp.ClientResponse, chunk_size: int) -> AsyncIterator[bytes]:
    """The response body in chunks of at most ``chunk_size`` bytes."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size!r}")
    failure: APIConnectionError | None = None
    try:
        async for chunk in resp.content.iter_chunked(chunk_size):
            yield chunk
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        # Described, not chained: aiohttp's exceptions may carry the request's headers.
        what = shorten(redact(str(exc)), 300)
        failure = APIConnectionError(
            f"the recording download broke off: {type(exc).__name__}: {what}"
        )
    if failure is not None:
        raise failure


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
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    written = 0
    pending: asyncio.Future[None] | None = None
    try:
        with os.fdopen(fd, "wb") as fh:
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
        os.replace(tmp, target)
    except BaseException:
        if pending is not None and not pending.done():
            # Closing the file above waited for the write; only its outcome is left to drop.
            pending.add_done_callback(_consume)
        # Synchronous on purpose: it must run even while the task is being cancelled.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return written
