"""Benchmark 5 — a recording streamed to disk: throughput and peak RSS growth.

The server (``benchmarks/_server.py``, its own process) streams a recording of 1 GiB
(128 MiB in quick mode). Each download runs in a fresh process (``benchmarks/_download.py``)
so that its peak RSS is its own, alternating ours (``sessions.download_recording``: temp
file, fsync, rename) with raw aiohttp (``iter_chunked`` into a file, fsync at the end), both
with 256 KiB chunks. The file is deleted after each download.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._harness import Row, comparison_row, standalone
from benchmarks._server import serve

MIB = 1024 * 1024
RSS_GOAL_MB = 20.0


def _download(which: str, base_url: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._download", which, base_url, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    path.unlink(missing_ok=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def run(quick: bool) -> dict[str, Any]:
    """Throughput (MB/s) of ours vs raw aiohttp, and each one's peak RSS growth (MB)."""
    size, rounds = (128 * MIB, 3) if quick else (1024 * MIB, 3)
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "raw": []}
    with serve(recording_bytes=size) as base_url, tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for which in runs:
                result = _download(which, base_url, Path(tmp) / f"{which}.wav")
                if result["bytes"] != size:
                    raise AssertionError(f"{which} wrote {result['bytes']} of {size} bytes")
                runs[which].append(result)

    def throughput(which: str) -> list[float]:
        return [r["bytes"] / r["seconds"] / 1e6 for r in runs[which]]

    def growth_mb(which: str) -> list[float]:
        return [(r["rss_peak_kib"] - r["rss_before_kib"]) / 1024 for r in runs[which]]

    case = f"{size // MIB:,} MiB to disk"
    ours_growth, raw_growth = growth_mb("ours"), growth_mb("raw")
    rows: list[Row] = [
        comparison_row(
            case,
            "MB/s",
            throughput("ours"),
            "raw aiohttp",
            throughput("raw"),
            lower_is_better=False,
        ),
        Row(
            case=case,
            metric="peak RSS growth, MB",
            value=statistics.median(ours_growth),
            min=min(ours_growth),
            max=max(ours_growth),
            baseline="raw aiohttp",
            baseline_value=statistics.median(raw_growth),
            goal=f"< {RSS_GOAL_MB:g} MB",
            met=max(ours_growth) < RSS_GOAL_MB,
        ),
    ]
    cpu = [r["cpu_seconds"] / (r["bytes"] / 1e9) for r in runs["ours"]]
    raw_cpu = [r["cpu_seconds"] / (r["bytes"] / 1e9) for r in runs["raw"]]
    rows.append(comparison_row(case, "client CPU s per GB", cpu, "raw aiohttp", raw_cpu))
    return {
        "title": "5. Recording download (ratio = ours ÷ raw for MB/s, raw ÷ ours for CPU)",
        "params": {"bytes": size, "rounds": rounds, "chunk_size": 256 * 1024},
        "rows": rows,
        "notes": [
            "Both fsync the file before finishing (same durability); ours also writes through "
            "the loop's executor and renames a 0600 temp file into place.",
            "Peak RSS growth is the download process's peak (reset just before the download) "
            "minus its RSS before; the goal is checked on the worst round.",
        ],
    }


if __name__ == "__main__":
    standalone("recording", __doc__, run)
