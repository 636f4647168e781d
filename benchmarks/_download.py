"""One recording download in a fresh process, for benchmark 5; prints its figures as JSON.

``python -m benchmarks._download {ours,raw} BASE_URL PATH``. A fresh process per download
makes the peak RSS the download's own: the peak is reset (Linux ``clear_refs``) right before
the download starts, then read back from ``VmHWM``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

import aiohttp

from benchmarks._server import API_KEY, SESSION_ID
from zenhire_async import ZenHireClient

CHUNK = 256 * 1024  # the SDK's default chunk size, for both


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


async def ours(base_url: str, path: Path) -> int:
    """``sessions.download_recording``: temp file, fsync, rename, mode 0600."""
    async with ZenHireClient(api_key=API_KEY, base_url=base_url, rate_limit_per_minute=None) as zh:
        return await zh.sessions.download_recording(SESSION_ID, path, chunk_size=CHUNK)


async def raw(base_url: str, path: Path) -> int:
    """What one writes with aiohttp alone: stream chunks into the file, fsync at the end."""
    url = f"{base_url}/api/v1/interview/sessions/{SESSION_ID}/recording"
    written = 0
    # Blocking writes on the loop, as such code usually is (the point of this baseline).
    async with (
        aiohttp.ClientSession(headers={"X-API-Key": API_KEY}) as session,
        session.get(url) as resp,
    ):
        resp.raise_for_status()
        with open(path, "wb") as fh:  # noqa: ASYNC230
            async for chunk in resp.content.iter_chunked(CHUNK):
                fh.write(chunk)
                written += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    return written


def main(which: str, base_url: str, path: Path) -> dict[str, float]:
    """Run one download; its bytes, wall and CPU seconds, and RSS before and at peak (KiB)."""
    download = {"ours": ours, "raw": raw}[which]
    rss_before = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    size = asyncio.run(download(base_url, path))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _status_kib("VmHWM") if exact else None
    if peak is None:  # not Linux: the lifetime peak, a bound from above
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_before = min(rss_before, peak_before) if rss_before else peak_before
    return {
        "bytes": size,
        "seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_kib": rss_before,
        "rss_peak_kib": peak,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))))
