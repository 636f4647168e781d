"""Recordings: a valid RIFF/WAVE header plus deterministic PCM samples, streamed.

The file is 16-bit PCM, mono, 16 kHz. Samples are a 500 Hz tone that repeats exactly every
64 KiB, so one precomputed block is written again and again: a recording of any size is
streamed in constant memory and never built whole.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

from aiohttp import web

__all__ = ["CHUNK_SIZE", "HEADER_SIZE", "iter_wav", "stream_wav", "wav_header"]

SAMPLE_RATE = 16_000
HEADER_SIZE = 44
CHUNK_SIZE = 64 * 1024
_PERIOD = 32  # samples per period of a 500 Hz tone at 16 kHz; divides CHUNK_SIZE // 2


def _block() -> bytes:
    samples = (
        int(8_000 * math.sin(2 * math.pi * (i % _PERIOD) / _PERIOD)) for i in range(CHUNK_SIZE // 2)
    )
    return struct.pack(f"<{CHUNK_SIZE // 2}h", *samples)


_BLOCK = _block()


def wav_header(total_size: int) -> bytes:
    """The 44-byte header of a PCM 16-bit mono 16 kHz WAV file of ``total_size`` bytes."""
    if total_size < HEADER_SIZE or (total_size - HEADER_SIZE) % 2:
        raise ValueError("a WAV size must be >= 44 and leave an even number of data bytes")
    data_size = total_size - HEADER_SIZE
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        total_size - 8,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * 2,  # byte rate
        2,  # block align
        16,  # bits per sample
        b"data",
        data_size,
    )


def iter_wav(total_size: int) -> Iterator[bytes]:
    """Yield the file in chunks of at most :data:`CHUNK_SIZE` bytes (header first)."""
    yield wav_header(total_size)
    remaining = total_size - HEADER_SIZE
    view = memoryview(_BLOCK)
    while remaining > 0:
        n = min(remaining, CHUNK_SIZE)
        yield bytes(view[:n]) if n < CHUNK_SIZE else _BLOCK
        remaining -= n


async def stream_wav(
    request: web.Request, total_size: int, *, stop_after: int | None = None
) -> web.StreamResponse:
    """Answer ``request`` with the WAV streamed chunk by chunk (Content-Length set).

    With ``stop_after``, the connection is closed once that many bytes were sent: the
    client sees a body shorter than its Content-Length (the ``truncated`` fault).
    """
    resp = web.StreamResponse(status=200, headers={"Content-Type": "audio/wav"})
    resp.content_length = total_size
    await resp.prepare(request)
    sent = 0
    for chunk in iter_wav(total_size):
        if stop_after is not None and sent + len(chunk) > stop_after:
            await resp.write(chunk[: stop_after - sent])
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write(chunk)
        sent += len(chunk)
    await resp.write_eof()
    return resp
