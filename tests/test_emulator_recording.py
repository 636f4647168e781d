"""Recordings are valid WAV files, streamed in constant memory."""

from __future__ import annotations

import io
import tracemalloc
import wave

import aiohttp
import pytest
from emulator_support import API

from zenhire_async.testing import Emulator
from zenhire_async.testing._wav import HEADER_SIZE, iter_wav, wav_header

pytestmark = pytest.mark.anyio


async def _fetch(emu: Emulator, http: aiohttp.ClientSession, sid: str) -> bytes:
    url = f"{emu.base_url}{API}/sessions/{sid}/recording"
    async with http.get(url, headers={"X-API-Key": emu.api_key}) as resp:
        assert resp.status == 200
        return await resp.read()


@pytest.mark.parametrize("size", [44, 46, 32_044, 200_044])
async def test_wav_is_valid(size: int) -> None:
    async with Emulator(recording_bytes=size) as emu, aiohttp.ClientSession() as http:
        sid = emu.create_session(emu.create_persona())
        emu.complete_session(sid)
        raw = await _fetch(emu, http, sid)
    assert len(raw) == size
    with wave.open(io.BytesIO(raw), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == 16_000
        assert wav.getnframes() == (size - HEADER_SIZE) // 2
        frames = wav.readframes(wav.getnframes())
    assert len(frames) == size - HEADER_SIZE
    if len(frames) > 64:
        assert frames != bytes(len(frames))  # a tone, not silence


def test_wav_is_deterministic_and_sized() -> None:
    assert b"".join(iter_wav(100_044)) == b"".join(iter_wav(100_044))
    assert sum(len(c) for c in iter_wav(1_000_044)) == 1_000_044
    with pytest.raises(ValueError, match="WAV size"):
        wav_header(45)
    with pytest.raises(ValueError, match="WAV size"):
        Emulator(recording_bytes=10)


async def test_fifty_megabytes_stream_in_constant_memory() -> None:
    size = 50 * 1024 * 1024 + 44
    async with Emulator(recording_bytes=size) as emu, aiohttp.ClientSession() as http:
        sid = emu.create_session(emu.create_persona())
        emu.complete_session(sid)
        url = f"{emu.base_url}{API}/sessions/{sid}/recording"
        tracemalloc.start()
        try:
            received = 0
            async with http.get(url, headers={"X-API-Key": emu.api_key}) as resp:
                assert int(resp.headers["Content-Length"]) == size
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    received += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received == size
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} bytes"
