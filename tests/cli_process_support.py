"""Running ``python -m zenhire_async`` in a child process, for the CLI tests that need one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio

from zenhire_async.testing import Emulator


def child_env(emu: Emulator | None = None, /, **extra: str) -> dict[str, str]:
    """This process's environment without ZENHIRE_* (then ``emu``'s key and URL, ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENHIRE_")}
    env.pop("PYTHONASYNCIODEBUG", None)  # the child is a user's process, not a test
    if emu is not None:
        env.update(ZENHIRE_API_KEY=emu.api_key, ZENHIRE_BASE_URL=emu.base_url)
    env.update(extra)
    return env


async def zenhire(
    *argv: str, emu: Emulator | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m zenhire_async ARGV`` with the emulator's key and URL in the environment."""
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [sys.executable, "-m", "zenhire_async", *argv], env=child_env(emu), cwd=cwd, check=False
        )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )
