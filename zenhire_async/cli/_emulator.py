"""``zenhire emulator``: serve the stateful API emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import errno
import signal
from contextlib import AsyncExitStack

import anyio

from ..testing import Emulator, Simulation
from ._errors import EXIT_ERROR, CommandError
from ._output import Output

__all__ = ["register", "serve"]


async def serve(host: str, port: int, simulate: bool) -> int:
    """Serve the emulator, print how to point a client at it, stop cleanly on a signal."""
    simulation = Simulation(open_delay=(5, 30), duration=(20, 120)) if simulate else None
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with AsyncExitStack() as stack:
            try:
                emu = await stack.enter_async_context(
                    Emulator(host=host, port=port, simulation=simulation)
                )
            except OSError as error:
                raise _cannot_listen(host, port, error) from None
            print(f"ZenHire emulator listening on {emu.base_url}")
            print(f"  export ZENHIRE_BASE_URL={emu.base_url}")
            print(f"  export ZENHIRE_API_KEY={emu.api_key}")
            print(
                "Candidates act by themselves." if simulate else "Sessions move only when driven."
            )
            print("Press Ctrl-C to stop.", flush=True)
            async for signum in signals:
                print(f"Stopping ({signal.Signals(signum).name}).", flush=True)
                break
    return 0


def _cannot_listen(host: str, port: int, error: OSError) -> CommandError:
    """The report of a failed bind: what was asked for, why, and what to do instead."""
    if error.errno == errno.EADDRINUSE:
        return CommandError.of(
            EXIT_ERROR,
            "ADDRESS_IN_USE",
            f"cannot listen on {host}:{port}: the port is in use; pick another --port "
            "(--port 0 picks a free one)",
        )
    reason = error.strerror or str(error)
    return CommandError.of(
        EXIT_ERROR, "CANNOT_LISTEN", f"cannot listen on {host}:{port}: {reason} (see --host)"
    )


async def emulator(args: argparse.Namespace, out: Output) -> int:
    """``zenhire emulator``."""
    return await serve(args.host, args.port, args.simulate)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``emulator`` to the command line."""
    p = commands.add_parser("emulator", help="serve the API emulator for manual use")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    p.add_argument(
        "--simulate", action="store_true", help="candidates open and finish links by themselves"
    )
    p.set_defaults(local_handler=emulator)
