"""``python -m benchmarks [--quick] [--only NAME] [--readme]``: run every benchmark.

Benchmarks are discovered: any module ``benchmarks/bench_<name>.py`` with a
``run(quick: bool) -> dict`` function takes part (see ``benchmarks/README.md`` for the
dict's shape). Each result is printed, saved to ``benchmarks/results/<name>.json``, and
the whole table to ``benchmarks/results/summary.md``; ``--readme`` also writes it into
``benchmarks/README.md``. A benchmark that fails is reported and the others still run;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks._harness import RESULTS_DIR, machine, markdown_table, normalise, save

# The numbering; benchmarks not listed here run after these, alphabetically.
ORDER = ["decode", "overhead", "watch", "await", "bulk", "recording", "import", "events"]
README = Path(__file__).parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def discover() -> list[str]:
    """Names (``bench_<name>``) of the benchmark modules, in the issue's order."""
    names = [
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    ]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _machine_line(quick: bool, seconds: float) -> str:
    m = machine()
    mode = "quick" if quick else "full"
    return (
        f"_{mode} run, {time.strftime('%Y-%m-%d', time.gmtime())}: {m['cpu']}, "
        f"{m['cores']} cores, {m['implementation']} {m['python']}, {m['platform']}; "
        f"{seconds:.0f} s in all._"
    )


def _write_readme(table: str) -> None:
    text = README.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    README.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; print and save the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)} (have: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    failed = False
    for name in names:
        print(f"running {name}…", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            result = normalise(name, module.run(args.quick))
        except Exception:
            failed = True
            traceback.print_exc()
            result = normalise(name, {"title": f"{name}: FAILED (see stderr)", "rows": []})
        result["seconds"] = round(time.perf_counter() - t0, 1)
        save(name, result, args.quick)
        results.append(result)
        print(f"  {name} took {result['seconds']} s", file=sys.stderr, flush=True)
    table = (
        _machine_line(args.quick, time.perf_counter() - started) + "\n\n" + markdown_table(results)
    )
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"summary{'-quick' if args.quick else ''}.md").write_text(
        table, encoding="utf-8"
    )
    if args.readme:
        _write_readme(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
