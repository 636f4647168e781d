"""Recordings: streamed chunks, atomic downloads, bounded memory, no half files."""

from __future__ import annotations

import os
import stat
import wave
from pathlib import Path

import anyio
import pytest

from zenhire_async import APIConnectionError, ArtifactNotReadyError, ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def _completed(zh: ZenHireClient, emu: Emulator) -> str:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    emu.start_session(invite.id)
    emu.complete_session(invite.id, duration_sec=90)
    return invite.id


async def test_stream_in_chunks(zh: ZenHireClient, emu: Emulator) -> None:
    session_id = await _completed(zh, emu)
    sizes: list[int] = []
    async with zh.sessions.stream_recording(session_id, chunk_size=4096) as chunks:
        async for chunk in chunks:
            sizes.append(len(chunk))
    assert sum(sizes) == emu.recording_bytes
    assert max(sizes) <= 4096 and len(sizes) > 1


async def test_download_is_a_valid_wav_with_mode_0600(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    session_id = await _completed(zh, emu)
    target = tmp_path / "interview.wav"
    nbytes = await zh.sessions.download_recording(session_id, target)
    assert nbytes == target.stat().st_size == emu.recording_bytes
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with wave.open(str(target)) as wav:
        assert wav.getnframes() > 0
    assert os.listdir(tmp_path) == ["interview.wav"]


async def test_not_ready_leaves_no_file(zh: ZenHireClient, tmp_path: Path) -> None:
    persona = await zh.personas.create("Engineer", "en")
    invite = await zh.sessions.create(persona.id, consent_mode="explicit")
    with pytest.raises(ArtifactNotReadyError):
        await zh.sessions.download_recording(invite.id, tmp_path / "x.wav")
    assert os.listdir(tmp_path) == []


async def test_truncated_download_leaves_the_old_file_untouched(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    session_id = await _completed(zh, emu)
    target = tmp_path / "interview.wav"
    target.write_bytes(b"previous")
    emu.faults.add("truncated", rate=1.0, route="GET /sessions/{id}/recording")
    with pytest.raises(APIConnectionError):
        await zh.sessions.download_recording(session_id, target)
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["interview.wav"]


async def test_a_download_cut_short_is_retried_not_saved_half(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    # Found by the chaos suite: a truncated recording (half the bytes of its
    # Content-Length, then the connection closed) escaped download_recording as
    # APIConnectionError instead of costing a retry like any other failed GET.
    session_id = await _completed(zh, emu)
    emu.faults.add("truncated", count=2, route="GET /sessions/{id}/recording")
    emu.reset_counts()
    target = tmp_path / "interview.wav"
    seen: list[int] = []
    nbytes = await zh.sessions.download_recording(
        session_id, target, chunk_size=4096, on_progress=lambda n, _: seen.append(n)
    )
    assert emu.faults.injected["truncated"] == 2
    assert emu.request_counts["GET /sessions/{id}/recording"] == 3
    assert nbytes == target.stat().st_size == emu.recording_bytes
    with wave.open(str(target)) as wav:
        assert wav.getnframes() == (emu.recording_bytes - 44) // 2
    assert os.listdir(tmp_path) == ["interview.wav"]
    assert seen[-1] == emu.recording_bytes and min(seen) < emu.recording_bytes // 2


async def test_a_download_cut_short_every_time_gives_up_after_the_retries(
    emu: Emulator, tmp_path: Path
) -> None:
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=2) as zh:
        session_id = await _completed(zh, emu)
        emu.faults.add("truncated", route="GET /sessions/{id}/recording")
        emu.reset_counts()
        with pytest.raises(APIConnectionError, match="broke off"):
            await zh.sessions.download_recording(session_id, tmp_path / "r.wav")
    assert emu.request_counts["GET /sessions/{id}/recording"] == 3
    assert os.listdir(tmp_path) == []


async def test_cancelled_download_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    async with (
        Emulator(recording_bytes=40_000_000) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        session_id = await _completed(zh, emu)
        with anyio.move_on_after(0.05):
            await zh.sessions.download_recording(session_id, tmp_path / "big.wav")
    assert os.listdir(tmp_path) == []


async def test_download_into_a_directory_is_refused(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    session_id = await _completed(zh, emu)
    with pytest.raises(IsADirectoryError):
        await zh.sessions.download_recording(session_id, tmp_path)


async def test_download_reports_progress_up_to_the_total(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    session_id = await _completed(zh, emu)
    seen: list[tuple[int, int | None]] = []
    nbytes = await zh.sessions.download_recording(
        session_id,
        tmp_path / "r.wav",
        chunk_size=4096,
        on_progress=lambda n, t: seen.append((n, t)),
    )
    assert len(seen) > 1
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert seen[-1] == (nbytes, emu.recording_bytes)
