"""Recordings: streamed chunks, atomic downloads, bounded memory, no half files."""

from __future__ import annotations

import logging
import os
import ssl
import stat
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import trustme

from zenhire_async import (
    APIConnectionError,
    ArtifactNotReadyError,
    RedirectError,
    TooManyRedirectsError,
    ZenHireClient,
)
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
        with anyio.CancelScope() as scope:

            def cancel_midway(done: int, total: int | None) -> None:
                # Cancelled with part of the body on disk, whatever the machine's speed (a
                # timer would not fire on virtual time while the bytes keep arriving).
                if done:
                    scope.cancel()

            await zh.sessions.download_recording(
                session_id, tmp_path / "big.wav", on_progress=cancel_midway
            )
        assert scope.cancelled_caught
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


# -- compressed recordings and results from a storage origin (issue 12) ---------------------


@pytest.mark.parametrize("kind", ["gzip", "gzip_always"])
async def test_a_gzip_encoded_recording_is_saved_whole(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path, kind: Any
) -> None:
    # Found against a compressing proxy: the SDK advertised gzip, then compared the inflated
    # bytes with the compressed Content-Length ("the recording ended after N of M bytes"), and
    # rejected the recording on every attempt. It now asks for identity ("gzip" then
    # leaves the recording alone) and, when a server compresses anyway ("gzip_always"),
    # does not hold the inflated size to the wire's length.
    session_id = await _completed(zh, emu)
    emu.faults.add(kind, route="GET /sessions/{id}/recording")
    emu.reset_counts()
    seen: list[tuple[int, int | None]] = []
    target = tmp_path / "interview.wav"
    nbytes = await zh.sessions.download_recording(
        session_id, target, on_progress=lambda n, t: seen.append((n, t))
    )
    assert nbytes == target.stat().st_size == emu.recording_bytes
    assert emu.request_counts["GET /sessions/{id}/recording"] == 1
    with wave.open(str(target)) as wav:
        assert wav.getnframes() == (emu.recording_bytes - 44) // 2
    total = seen[-1][1]
    assert total == (emu.recording_bytes if kind == "gzip" else None)
    async with zh.sessions.stream_recording(session_id) as chunks:
        assert sum([len(c) async for c in chunks]) == emu.recording_bytes


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA: the storage origin's server context and a client context trusting it."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


@asynccontextmanager
async def _storage_client(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], **kwargs: Any
) -> AsyncIterator[tuple[Emulator, ZenHireClient]]:
    server, client = tls
    async with (
        Emulator(storage=server) as emu,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client)) as http,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, session=http, **kwargs) as zh,
    ):
        yield emu, zh


_ALLOWED_AT_STORAGE = {"Host", "Accept", "User-Agent", "Accept-Encoding"}


@pytest.mark.parametrize("form", ["storage_redirect", "storage_url"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_results_from_an_https_storage_origin_never_see_the_key(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    form: Any,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _storage_client(tls) as (emu, zh):
        session_id = await _completed(zh, emu)
        emu.faults.add(form, status=status)
        transcript = await zh.sessions.transcript(session_id)
        assert transcript.raw == emu.transcript(session_id)
        target = tmp_path / "interview.wav"
        assert await zh.sessions.download_recording(session_id, target) == emu.recording_bytes
        async with zh.sessions.stream_recording(session_id) as chunks:
            assert sum([len(c) async for c in chunks]) == emu.recording_bytes
        assert emu.faults.injected[form] == 3
    assert len(emu.storage_requests) == 3
    for headers in emu.storage_requests:
        assert set(headers) <= _ALLOWED_AT_STORAGE, headers
        assert emu.api_key not in repr(headers)
    assert [h.get("Accept-Encoding") for h in emu.storage_requests][1:] == ["identity"] * 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/o/" not in logged  # a short-lived URL is a credential: never logged


async def test_storage_over_plain_http_is_refused_before_contacting_it(tmp_path: Path) -> None:
    async with (
        Emulator(storage=True) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        session_id = await _completed(zh, emu)
        for form in ("storage_redirect", "storage_url"):
            emu.faults.clear()
            emu.faults.add(form)
            with pytest.raises(RedirectError, match="not https"):
                await zh.sessions.transcript(session_id)
            with pytest.raises(RedirectError, match="not https"):
                await zh.sessions.download_recording(session_id, tmp_path / "r.wav")
    assert emu.storage_requests == []
    assert os.listdir(tmp_path) == []


async def test_other_routes_are_never_redirected_to_storage(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    async with _storage_client(tls) as (emu, zh):
        session_id = await _completed(zh, emu)
        emu.faults.add("redirect", location=emu.storage_url, route="GET /sessions/{id}")
        with pytest.raises(RedirectError, match="another origin") as info:
            await zh.sessions.get(session_id)
        assert info.value.status == 307
    assert emu.storage_requests == []


async def test_storage_hops_are_capped_too(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    async with _storage_client(tls) as (emu, zh):
        session_id = await _completed(zh, emu)
        emu.faults.add("redirect", route="GET /sessions/{id}/transcript")  # same origin, forever
        with pytest.raises(TooManyRedirectsError):
            await zh.sessions.transcript(session_id)
        assert emu.request_counts["GET /sessions/{id}/transcript"] == 6


async def test_each_storage_hop_is_paced(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    async with _storage_client(tls, rate_limit_per_minute=60) as (emu, zh):
        session_id = emu.create_session(emu.create_persona())
        emu.start_session(session_id)
        emu.complete_session(session_id)
        emu.faults.add("storage_redirect", route="GET /sessions/{id}/transcript")
        started = anyio.current_time()
        for _ in range(3):
            await zh.sessions.transcript(session_id)
        # 6 requests (3 to the platform, 3 to storage) at 1/s after a burst of 1: ≥ 5 s.
        assert anyio.current_time() - started >= 4.9
    assert len(emu.storage_requests) == 3
