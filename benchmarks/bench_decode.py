"""Benchmark 1 — decoding: list pages of 100 and 1,000 rows and a ``SessionDetail``.

Contenders decode the same bytes in alternation within each round: our decoder (the exact
path ``sessions.list``/``sessions.get`` take), pydantic v2 ``TypeAdapter.validate_json``
over equivalent models, stdlib ``json.loads`` + hand-written dataclasses, and ``orjson.loads``
to plain dicts (untyped: no validation, timestamps left as strings — the practical limit).
Before timing, every contender's result is checked equal to ours (see ``check_equivalence``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from benchmarks import _payloads, _peers
from benchmarks._harness import Row, comparison_row, interleaved_rounds, standalone

CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "page of 100 rows": ("page", lambda: _payloads.session_page(100)),
    "page of 1,000 rows": ("page", lambda: _payloads.session_page(1000)),
    "SessionDetail": ("detail", _payloads.session_detail),
}

PYDANTIC = "pydantic v2 validate_json"
STDLIB = "json.loads + dataclasses"
ORJSON = "orjson.loads (untyped)"


def contenders(kind: str) -> dict[str, Callable[[bytes], object]]:
    """Every decoder of ``kind`` (``page`` or ``detail``), ours first."""
    if kind == "detail":
        return {
            "ours": _peers.ours_detail,
            PYDANTIC: _peers.pydantic_detail,
            STDLIB: _peers.stdlib_detail,
            ORJSON: orjson.loads,
        }
    return {
        "ours": _peers.ours_page,
        PYDANTIC: _peers.pydantic_page,
        STDLIB: _peers.stdlib_page,
        ORJSON: orjson.loads,
    }


def check_equivalence(kind: str, body: bytes) -> None:
    """Raise ``AssertionError`` unless every contender decodes ``body`` to our values."""
    expected = _peers.ours_plain(kind, body)
    for name, decode in contenders(kind).items():
        result = decode(body)
        if name == ORJSON:
            got = _peers.plain_from_untyped(kind, result)  # type: ignore[arg-type]
        elif kind == "page" and name == "ours":
            got = _peers.to_plain(result.page)  # type: ignore[attr-defined]
        else:
            got = _peers.to_plain(result)
        if got != expected:
            raise AssertionError(f"{name} decodes the {kind} differently from zenhire_async")


def run(quick: bool) -> dict[str, Any]:
    """Time every case; rows give µs per decode and our speed-up over each peer."""
    rounds, round_seconds = (5, 0.05) if quick else (15, 0.2)
    rows: list[Row] = []
    for case, (kind, make) in CASES.items():
        body = make()
        check_equivalence(kind, body)
        timings = interleaved_rounds(
            {name: partial(decode, body) for name, decode in contenders(kind).items()},
            rounds=rounds,
            round_seconds=round_seconds,
        )
        goals = {
            PYDANTIC: ("≥ 4× faster", 4.0),
            STDLIB: ("", None),
            ORJSON: ("≥ 1× (no slower)", 1.0),
        }
        for peer, (goal, goal_ratio) in goals.items():
            rows.append(
                comparison_row(
                    f"{case} ({len(body):,} B)",
                    "µs per decode",
                    timings["ours"],
                    peer,
                    timings[peer],
                    goal=goal,
                    goal_ratio=goal_ratio,
                    scale=1e6,
                )
            )
    return {
        "title": "1. Decode (µs per body; ratio = peer time ÷ ours, > 1 means we are faster)",
        "params": {"rounds": rounds, "round_seconds": round_seconds},
        "rows": rows,
        "notes": [
            "Each contender's result is checked equal to ours before timing (same fields, "
            "aware datetimes, nulls); orjson's is compared after parsing its timestamp strings.",
        ],
    }


if __name__ == "__main__":
    standalone("decode", __doc__, run)
