"""The ``zenhire`` command line, built on the SDK's public API.

Each command group lives in its own module and registers its parser with a handler:
``api_handler(client, args, output)`` for commands that talk to the API (the client is
opened and closed here, once), ``local_handler(args, output)`` for ``demo`` and
``emulator``. This module parses, runs the handler, and turns every error a user can meet
into one line and an exit code (see ``_errors``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from .._version import __version__
from . import _demo, _emulator, _invite, _links, _personas, _results, _sessions, _watch
from ._errors import EXIT_INTERRUPTED, HANDLED_ERRORS, describe
from ._events import events_hook
from ._options import debug_logging, global_options, make_client
from ._output import Output

__all__ = ["build_parser", "main", "run"]

_EPILOG = """\
configuration: ZENHIRE_API_KEY and ZENHIRE_BASE_URL stand in for --api-key and --base-url.
exit codes: 0 ok, 1 API or file error, 2 bad usage or input (nothing sent), 3 batch
incomplete (watch: some sessions failed or expired; invite: some rows got no link;
results: some not saved), 4 key refused or permission missing, 5 API unreachable,
6 watch --timeout passed, 130 interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``zenhire`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="zenhire",
        description="Command line for the ZenHire Interview API.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_options(for_subcommand=False)],
    )
    parser.add_argument("--version", action="version", version=f"zenhire-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = global_options(for_subcommand=True)
    _personas.register(commands, shared)
    _sessions.register(commands, shared)
    _invite.register(commands, shared)
    _links.register(commands, shared)
    _watch.register(commands, shared)
    _results.register(commands, shared)
    _demo.register(commands)
    _emulator.register(commands)
    return parser


def _handled(error: BaseException) -> BaseException | None:
    """The user-facing error inside ``error`` (unwrapping a task group's single error)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error if isinstance(error, HANDLED_ERRORS) else None


async def _dispatch(args: argparse.Namespace, output: Output) -> int:
    base_url: str | None = args.base_url
    with debug_logging(args.verbose, output.stderr):
        try:
            if getattr(args, "api_handler", None) is None:
                return int(await args.local_handler(args, output))
            async with events_hook(args) as on_event:
                client = make_client(args, on_event=on_event)
                base_url = client.base_url
                async with client:
                    return int(await args.api_handler(client, args, output))
        except Exception as error:
            handled = _handled(error)
            if handled is None:
                raise
            failure = describe(handled, base_url=base_url)
            output.failure(failure)
            return failure.exit_code


async def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line inside an already running event loop; return the exit code.

    ``main`` is this plus the event loop; tests and embedding applications call it directly.
    Usage errors exit through ``SystemExit`` (code 2), as with any argparse program.
    """
    args = build_parser().parse_args(argv)
    return await _dispatch(args, Output(json_mode=args.json))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    options = {}
    if getattr(args, "virtual_time", False):
        from ..testing import virtual_time_loop_factory

        options["loop_factory"] = virtual_time_loop_factory
    try:
        return anyio.run(_dispatch, args, Output(json_mode=args.json), backend_options=options)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
