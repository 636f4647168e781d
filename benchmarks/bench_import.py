"""Benchmark 6 — import time of ``zenhire_async`` (``python -X importtime``).

CLIs and serverless handlers pay it on every start. Each import runs in a fresh interpreter,
contenders alternating within each round, after one warm-up run each so that bytecode caches
exist (``PYTHONDONTWRITEBYTECODE`` is cleared for these runs, as on a user's machine).
Baselines: ``aiohttp`` alone (our floor: we import it) and ``httpx`` + ``pydantic`` (what a
hand-written client imports).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from benchmarks._harness import Row, comparison_row, standalone

CONTENDERS = {
    "ours": "import zenhire_async",
    "aiohttp": "import aiohttp",
    "httpx + pydantic": "import httpx, pydantic; pydantic.BaseModel",
}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(code: str) -> list[tuple[int, int, int, str]]:
    """``(self µs, cumulative µs, depth, module)`` of each import ``code`` made."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    lines = []
    for match in _LINE.finditer(out.stderr):
        self_us, cumulative, indent, module = match.groups()
        lines.append((int(self_us), int(cumulative), len(indent) // 2, module))
    return lines


def total_seconds(lines: list[tuple[int, int, int, str]]) -> float:
    """The time of the top-level imports (depth 0), which include everything below them."""
    return sum(cumulative for _, cumulative, depth, _ in lines if depth == 0) / 1e6


def run(quick: bool) -> dict[str, Any]:
    """Milliseconds to import each contender; the heaviest modules of ours in a note."""
    rounds = 5 if quick else 15
    for code in CONTENDERS.values():
        importtime(code)  # warm-up: write bytecode caches
    timings: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    last: list[tuple[int, int, int, str]] = []
    for _ in range(rounds):
        for name, code in CONTENDERS.items():
            lines = importtime(code)
            timings[name].append(total_seconds(lines))
            if name == "ours":
                last = lines
    rows: list[Row] = [
        comparison_row("import", "ms", timings["ours"], peer, timings[peer], scale=1e3)
        for peer in ("aiohttp", "httpx + pydantic")
    ]
    heaviest = sorted(last, reverse=True)[:6]
    return {
        "title": "6. Import time (ratio = peer ÷ ours; > 1 means we import faster)",
        "params": {"rounds": rounds},
        "rows": rows,
        "notes": [
            "Heaviest modules (self time, last round): "
            + ", ".join(f"{module} {self_us / 1000:.1f} ms" for self_us, _, _, module in heaviest),
        ],
    }


if __name__ == "__main__":
    standalone("import", __doc__, run)
