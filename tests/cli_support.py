"""Running ``zenhire`` commands in process (``cli.run``) against an emulator, for the CLI tests."""

from __future__ import annotations

import pytest

from zenhire_async.cli import run
from zenhire_async.testing import Emulator

Captured = pytest.CaptureFixture[str]


def auth_args(emu: Emulator) -> list[str]:
    """The global options that point a command at ``emu``."""
    return ["--api-key", emu.api_key, "--base-url", emu.base_url]


async def zenhire(emu: Emulator, capsys: Captured, *argv: str) -> tuple[int, str, str]:
    """Run one command against ``emu``; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = await run([*auth_args(emu), *argv])
    out, err = capsys.readouterr()
    return code, out, err
