"""The stateful emulator in a child process, so that the measuring process's CPU is the client's.

Run as ``python -m benchmarks._emulator_proc [--sessions N]``: it serves an
:class:`~zenhire_async.testing.Emulator` on an ephemeral port of 127.0.0.1 (real clock),
creates a persona (and ``N`` sessions of it, newest last), prints one JSON line
``{"base_url", "api_key", "persona_id"}`` and serves until its stdin closes.
:func:`emulator_process` does that from a benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread

from zenhire_async.testing import Emulator


async def _main(sessions: int) -> None:
    async with Emulator() as emu:
        persona = emu.create_persona("Engineer", "en")
        for _ in range(sessions):
            emu.create_session(persona, consent_mode="explicit")
        line = {"base_url": emu.base_url, "api_key": emu.api_key, "persona_id": persona}
        print(json.dumps(line), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


@contextlib.contextmanager
def emulator_process(sessions: int = 0) -> Iterator[dict[str, Any]]:
    """Run the emulator in a child; yield its ``base_url``, ``api_key`` and ``persona_id``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._emulator_proc", "--sessions", str(sessions)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip():
            raise RuntimeError("the benchmark emulator did not start")
        yield json.loads(line)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the benchmarks' emulator process")
    parser.add_argument("--sessions", type=int, default=0)
    anyio.run(_main, parser.parse_args().sessions)
