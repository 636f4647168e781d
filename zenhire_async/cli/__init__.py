"""The ``zenhire`` command line, built on the SDK's public API only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from .._version import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zenhire", description="Command line for the ZenHire Interview API."
    )
    parser.add_argument("--version", action="version", version=f"zenhire-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the whole interview flow against the embedded emulator"
    )
    demo.add_argument("--candidates", type=int, default=5, help="how many to invite (default 5)")
    demo.add_argument("--out", default="demo-output", help="where to save results")
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated candidates")

    emulator = commands.add_parser("emulator", help="serve the API emulator for manual use")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8080)
    emulator.add_argument(
        "--simulate", action="store_true", help="candidates open and finish links by themselves"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from ..testing import virtual_time_loop_factory
            from ._demo import run_demo

            return anyio.run(
                run_demo,
                args.candidates,
                args.out,
                args.seed,
                backend_options={"loop_factory": virtual_time_loop_factory},
            )
        from ._emulator import serve

        return anyio.run(serve, args.host, args.port, args.simulate)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
