"""What every benchmark returns, how rounds are timed, and how results are printed and saved.

The contract (documented in ``benchmarks/README.md``): a module ``benchmarks/bench_<name>.py``
exposes ``run(quick: bool) -> dict``. The dict has a ``title`` and a list of ``rows``, each
row a :class:`Row`; ``params`` and ``notes`` are optional. A module whose dict has no
``rows`` still runs: its top-level numbers are shown as rows of their own.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

RESULTS_DIR = Path(__file__).parent / "results"


class Row(TypedDict, total=False):
    """One line of the summary table. Only ``case``, ``metric`` and ``value`` are required."""

    case: str  # what was measured: "page of 100 rows", "concurrency 64"
    metric: str  # the quantity and its unit: "µs per decode", "req/s"
    value: float  # ours (the median when rounds were repeated)
    min: float  # fastest/slowest round of ours, when repeated
    max: float
    baseline: str  # what we compare against: "pydantic v2"
    baseline_value: float  # its median, same unit
    ratio: float  # median over rounds of the per-round ratio, oriented so > 1 is better for us
    ratio_min: float
    ratio_max: float
    goal: str  # human-readable: "≥ 4×"
    met: bool  # whether the goal is met; absent when the row has no goal


@dataclass(frozen=True, slots=True)
class Spread:
    """The median and range of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values`` (at least one)."""
        return cls(statistics.median(values), min(values), max(values))


def time_per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call of ``fn``, over ``number`` back-to-back calls."""
    started = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - started) / number


def calibrate(fn: Callable[[], object], target_seconds: float) -> int:
    """How many calls of ``fn`` take about ``target_seconds`` (at least one)."""
    per_call = time_per_call(fn, 3)
    return max(1, math.ceil(target_seconds / max(per_call, 1e-9)))


def interleaved_rounds(
    contenders: Mapping[str, Callable[[], object]], *, rounds: int, round_seconds: float
) -> dict[str, list[float]]:
    """Per-call seconds of each contender in each round, contenders alternating in a round.

    Alternating (rather than timing one contender's rounds, then the next) spreads a noisy
    neighbour's bursts over every contender, so per-round ratios stay meaningful.
    """
    numbers = {name: calibrate(fn, round_seconds) for name, fn in contenders.items()}
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            timings[name].append(time_per_call(fn, numbers[name]))
    return timings


def compare(
    ours: Sequence[float],
    theirs: Sequence[float],
    *,
    lower_is_better: bool = True,
) -> Spread:
    """Per-round ratios, oriented so that > 1 means we are better (faster, cheaper)."""
    pairs = zip(ours, theirs, strict=True)
    ratios = [t / o if lower_is_better else o / t for o, t in pairs]
    return Spread.of(ratios)


def comparison_row(
    case: str,
    metric: str,
    ours: Sequence[float],
    baseline: str,
    theirs: Sequence[float],
    *,
    goal: str = "",
    goal_ratio: float | None = None,
    lower_is_better: bool = True,
    scale: float = 1.0,
) -> Row:
    """A :class:`Row` comparing two series measured in the same rounds.

    ``scale`` converts the raw values to the row's unit (1e6 for seconds shown as µs);
    ``goal_ratio`` is the ratio (as oriented by :func:`compare`) the goal requires.
    """
    mine = Spread.of(ours)
    ratio = compare(ours, theirs, lower_is_better=lower_is_better)
    row = Row(
        case=case,
        metric=metric,
        value=mine.median * scale,
        min=mine.low * scale,
        max=mine.high * scale,
        baseline=baseline,
        baseline_value=statistics.median(theirs) * scale,
        ratio=ratio.median,
        ratio_min=ratio.low,
        ratio_max=ratio.high,
    )
    if goal:
        row["goal"] = goal
    if goal_ratio is not None:
        row["met"] = ratio.median >= goal_ratio
    return row


def normalise(name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """A result in the contract's shape; a dict without ``rows`` has its numbers made rows."""
    out = dict(result)
    out.setdefault("title", name)
    if "rows" not in out:
        out["rows"] = [
            Row(case="", metric=key, value=float(value))
            for key, value in result.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
    return out


def _num(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cells(row: Mapping[str, Any]) -> list[str]:
    value = _num(row["value"])
    if "min" in row and "max" in row:
        value += f" ({_num(row['min'])}–{_num(row['max'])})"
    ratio = ""
    if "ratio" in row:
        ratio = f"{row['ratio']:.2f}×"
        if "ratio_min" in row and "ratio_max" in row:
            ratio += f" ({row['ratio_min']:.2f}–{row['ratio_max']:.2f})"
    met = {True: "yes", False: "**NO**"}.get(row.get("met"), "")  # type: ignore[call-overload]
    baseline_value = _num(row["baseline_value"]) if "baseline_value" in row else ""
    return [
        row.get("case", ""),
        row["metric"],
        value,
        row.get("baseline", ""),
        baseline_value,
        ratio,
        row.get("goal", ""),
        met,
    ]


HEADER = ["case", "metric", "ours (min–max)", "baseline", "baseline", "ratio", "goal", "met"]


def markdown_table(results: Sequence[Mapping[str, Any]]) -> str:
    """All results as one Markdown table per benchmark, with its notes below it."""
    lines: list[str] = []
    for result in results:
        lines.append(f"### {result['title']}")
        lines.append("")
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|" + "---|" * len(HEADER))
        lines.extend("| " + " | ".join(_cells(row)) + " |" for row in result["rows"])
        notes = result.get("notes", ())
        if notes:
            lines.append("")
            lines.extend(f"- {note}" for note in notes)
        lines.append("")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
    }


def save(name: str, result: Mapping[str, Any], quick: bool) -> Path:
    """Write one benchmark's result to ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}{'-quick' if quick else ''}.json"
    document = {
        "benchmark": name,
        "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **result,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def standalone(name: str, doc: str | None, run: Callable[[bool], Mapping[str, Any]]) -> None:
    """The command line of one benchmark run alone: ``python benchmarks/bench_NAME.py [--quick]``.

    Prints the benchmark's table as the harness would.
    """
    import argparse

    parser = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small sizes used in CI")
    print(markdown_table([normalise(name, run(parser.parse_args().quick))]))
